// launch.cu built by the host compiler: the kernels run on the SIMT emulator (emu.hpp). Only in the
// emulated module _cuda_emu (CMake option EEPART_FAST_EMULATOR), never in the package by default.
#ifndef EEPART_EMULATE
#define EEPART_EMULATE 1
#endif
#include "launch.cu"
