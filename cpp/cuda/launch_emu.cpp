// launch.cu built by the host compiler: the kernels run on the SIMT emulator (emu.hpp). Only in the
// emulated build of build_emulated.sh, never in the package.
#ifndef EEPART_EMULATE
#define EEPART_EMULATE 1
#endif
#include "launch.cu"
