#include <cub/device/device_merge_sort.cuh>
#include <cub/device/device_scan.cuh>

struct Less {
    __host__ __device__ bool operator()(double a, double b) const { return a < b; }
};

__global__ void probe_kernel(const double* x, unsigned long long* out) {
    const unsigned b = __ballot_sync(0xffffffffu, __dadd_rn(x[threadIdx.x], __dmul_rn(2.0, x[0])) > 1.0);
    out[threadIdx.x] = __popc(b) + __shfl_down_sync(0xffffffffu, 1ULL, 1);
}

int probe_cub(double* d, unsigned long long* u, std::size_t n) {
    std::size_t bytes = 0;
    cub::DeviceScan::ExclusiveSum(nullptr, bytes, u, u, n);
    cub::DeviceMergeSort::SortKeys(nullptr, bytes, d, n, Less());
    probe_kernel<<<1, 32>>>(d, u);
    return static_cast<int>(bytes);
}
