// CUDA kernels: filled in by the GPU work
