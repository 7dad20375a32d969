// device.hpp on a GPU: the CUDA runtime for memory and copies, CUB for scans and sorts. Everything runs
// on the legacy default stream, so plain cudaMemcpy orders itself after the kernels before it.
#include <cuda_runtime.h>

#include <cub/device/device_merge_sort.cuh>
#include <cub/device/device_scan.cuh>
#include <stdexcept>
#include <string>

#include "device.hpp"

namespace eepart {
namespace gpu {
namespace {

void check(cudaError_t err, const char* what) {
    if (err == cudaSuccess) return;
    cudaGetLastError();  // clear a sticky-free error so that the next call starts clean
    throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(err));
}

// Allocations come from the device's stream-ordered pool, which keeps up to kKeep bytes between calls:
// a sweep or a search makes dozens of allocations, and plain cudaMalloc / cudaFree (which synchronises)
// would cost more than the work on small instances. Devices without pools use cudaMalloc.
constexpr unsigned long long kKeep = 1ULL << 30;
int pools = -1;  // unknown, 0 or 1

bool use_pools() {
    if (pools < 0) {
        int dev = 0, ok = 0;
        pools = 0;
        if (cudaGetDevice(&dev) == cudaSuccess &&
            cudaDeviceGetAttribute(&ok, cudaDevAttrMemoryPoolsSupported, dev) == cudaSuccess && ok) {
            cudaMemPool_t pool;
            if (cudaDeviceGetDefaultMemPool(&pool, dev) == cudaSuccess) {
                unsigned long long keep = kKeep;
                cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
                pools = 1;
            }
        }
        cudaGetLastError();
    }
    return pools == 1;
}

// CUB's scratch space, kept between calls of one host thread.
struct Scratch {
    void* p = nullptr;
    std::size_t n = 0;
    ~Scratch() { raw_free(p); }
    void* get(std::size_t bytes) {
        if (bytes > n) {
            raw_free(p);
            p = nullptr;
            n = 0;
            p = raw_alloc(bytes);
            n = bytes;
        }
        return p;
    }
};
thread_local Scratch scratch;

struct MaxOp {
    __host__ __device__ double operator()(double a, double b) const { return a > b ? a : b; }
};
struct SameKey {
    __host__ __device__ bool operator()(u64 a, u64 b) const { return a == b; }
};

}  // namespace

int device_count() noexcept {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}

std::string device_name() noexcept {
    if (device_count() == 0) return "";
    int dev = 0;
    cudaDeviceProp prop;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&prop, dev) != cudaSuccess) {
        cudaGetLastError();
        return "";
    }
    return prop.name;
}

std::size_t free_memory() {
    std::size_t free_b = 0, total = 0;
    check(cudaMemGetInfo(&free_b, &total), "cudaMemGetInfo");
    return free_b;
}

void* raw_alloc(std::size_t bytes) {
    void* p = nullptr;
    const cudaError_t err = use_pools() ? cudaMallocAsync(&p, bytes, 0) : cudaMalloc(&p, bytes);
    if (err != cudaSuccess) {
        cudaGetLastError();
        throw std::runtime_error("CUDA: cannot allocate " + std::to_string(bytes) + " bytes of device memory (" +
                                 cudaGetErrorString(err) + ")");
    }
    return p;
}

void raw_free(void* p) noexcept {
    if (!p) return;
    if (pools == 1) cudaFreeAsync(p, 0);
    else cudaFree(p);
}

void upload(void* dst, const void* src, std::size_t bytes) {
    check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to device");
}
void download(void* dst, const void* src, std::size_t bytes) {
    check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy to host");
}
void zero(void* dst, std::size_t bytes) { check(cudaMemsetAsync(dst, 0, bytes, 0), "cudaMemset"); }
void copy_on_device(void* dst, const void* src, std::size_t bytes) {
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0), "cudaMemcpy on device");
}
void synchronize() { check(cudaStreamSynchronize(0), "a kernel"); }
void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

bool idle() {
    const cudaError_t err = cudaStreamQuery(0);
    if (err == cudaErrorNotReady) return false;
    check(err, "a kernel");
    return true;
}

int multiprocessors() {
    int dev = 0, n = 0;
    check(cudaGetDevice(&dev), "cudaGetDevice");
    check(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev), "cudaDeviceGetAttribute");
    return n > 0 ? n : 1;
}

namespace {
volatile int* stop_host = nullptr;
int* stop_device = nullptr;

void make_stop_flag() {
    if (stop_host) return;
    void* h = nullptr;
    check(cudaHostAlloc(&h, sizeof(int), cudaHostAllocMapped), "cudaHostAlloc of the stop flag");
    void* d = nullptr;
    check(cudaHostGetDevicePointer(&d, h, 0), "cudaHostGetDevicePointer of the stop flag");
    stop_host = static_cast<volatile int*>(h);
    stop_device = static_cast<int*>(d);
    *stop_host = 0;
}
}  // namespace

const volatile int* stop_flag() {
    make_stop_flag();
    return stop_device;
}
void set_stop_flag(int value) {
    make_stop_flag();
    *stop_host = value;
}

void exclusive_sum(const u64* in, u64* out, std::size_t n) {
    if (n == 0) return;
    std::size_t bytes = 0;
    check(cub::DeviceScan::ExclusiveSum(nullptr, bytes, in, out, n), "ExclusiveSum");
    check(cub::DeviceScan::ExclusiveSum(scratch.get(bytes), bytes, in, out, n), "ExclusiveSum");
}

void inclusive_max(const double* in, double* out, std::size_t n) {
    if (n == 0) return;
    std::size_t bytes = 0;
    check(cub::DeviceScan::InclusiveScan(nullptr, bytes, in, out, MaxOp(), n), "InclusiveScan");
    check(cub::DeviceScan::InclusiveScan(scratch.get(bytes), bytes, in, out, MaxOp(), n), "InclusiveScan");
}

void inclusive_max_by_key(const u64* keys, const double* in, double* out, std::size_t n) {
    if (n == 0) return;
    std::size_t bytes = 0;
    check(cub::DeviceScan::InclusiveScanByKey(nullptr, bytes, keys, in, out, MaxOp(), n, SameKey()),
          "InclusiveScanByKey");
    check(cub::DeviceScan::InclusiveScanByKey(scratch.get(bytes), bytes, keys, in, out, MaxOp(), n, SameKey()),
          "InclusiveScanByKey");
}

template <class Order>
void sort_cands(Cand* c, std::size_t n, const char* what) {
    if (n < 2) return;
    std::size_t bytes = 0;
    check(cub::DeviceMergeSort::SortKeys(nullptr, bytes, c, n, Order()), what);
    check(cub::DeviceMergeSort::SortKeys(scratch.get(bytes), bytes, c, n, Order()), what);
}

void sort_labels(Cand* c, std::size_t n) { sort_cands<LabelOrder>(c, n, "merge sort of labels"); }
void sort_terminals(Cand* c, std::size_t n) { sort_cands<TerminalOrder>(c, n, "merge sort of plans"); }

}  // namespace gpu
}  // namespace eepart
