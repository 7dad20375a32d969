// EEP_HD: compiled for both host and device by nvcc, a plain function elsewhere (the host compiler, the
// kernels' host emulator). One definition, here in the core, so that the CUDA code reuses the core's rules
// and records instead of keeping copies of them.
#pragma once

#if defined(__CUDACC__)
#define EEP_HD __host__ __device__
#else
#define EEP_HD
#endif
