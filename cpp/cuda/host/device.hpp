// What the host side of the GPU engine needs of a device: memory, copies, and a few parallel
// primitives (scans, sorts). Plain C++, so that the orchestration (cuda_*.cpp) builds with the host
// compiler; device_cuda.cu implements it with the CUDA runtime and CUB, device_emu.cpp on the host for
// the emulated build. Errors throw std::runtime_error with the CUDA message (RuntimeError in Python).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "pareto_types.hpp"

namespace eepart {
namespace gpu {

int device_count() noexcept;        // 0 when there is no driver or no device
std::string device_name() noexcept; // "" likewise
std::size_t free_memory();

void* raw_alloc(std::size_t bytes);
void raw_free(void* p) noexcept;
void upload(void* dst, const void* src, std::size_t bytes);
void download(void* dst, const void* src, std::size_t bytes);
void zero(void* dst, std::size_t bytes);
void copy_on_device(void* dst, const void* src, std::size_t bytes);
void synchronize();                 // waits for the device; reports a failed kernel
void check_launch(const char* kernel);
bool idle();                        // has the device finished what was sent? Reports a failed kernel
int multiprocessors();              // of the current device (2 on the emulator)
// A flag in host memory that kernels can read while they run (mapped, zero-copy): the host raises it to
// stop a long kernel (Ctrl-C). One per process; set_stop_flag writes it, stop_flag gives the device's view.
const volatile int* stop_flag();
void set_stop_flag(int value);

// out[i] = in[0] + ... + in[i-1]
void exclusive_sum(const u64* in, u64* out, std::size_t n);
// out[i] = max(in[0..i])
void inclusive_max(const double* in, double* out, std::size_t n);
// out[i] = max(in[j..i]) where j starts the run of equal keys holding i
void inclusive_max_by_key(const u64* keys, const double* in, double* out, std::size_t n);
void sort_labels(Cand* c, std::size_t n);     // LabelOrder
void sort_terminals(Cand* c, std::size_t n);  // TerminalOrder

// Device memory of n elements of T, owned (moves only).
template <class T>
class Buffer {
public:
    Buffer() = default;
    explicit Buffer(std::size_t n) { reset(n); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    Buffer(Buffer&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }
    Buffer& operator=(Buffer&& o) noexcept {
        std::swap(p_, o.p_);
        std::swap(n_, o.n_);
        return *this;
    }
    ~Buffer() { raw_free(p_); }

    // Room for n elements; the old contents are lost when it grows.
    void reset(std::size_t n) {
        if (n <= n_ && p_) return;
        raw_free(p_);
        p_ = nullptr;
        n_ = 0;
        p_ = static_cast<T*>(raw_alloc((n ? n : 1) * sizeof(T)));
        n_ = n;
    }
    // Room for n elements, the first `keep` kept.
    void grow(std::size_t n, std::size_t keep) {
        if (n <= n_ && p_) return;
        Buffer<T> next(n);
        if (keep) copy_on_device(next.p_, p_, keep * sizeof(T));
        *this = std::move(next);
    }
    void put(const T* host, std::size_t n) {
        reset(n);
        if (n) upload(p_, host, n * sizeof(T));
    }
    void get(T* host, std::size_t n, std::size_t from = 0) const {
        if (n) download(host, p_ + from, n * sizeof(T));
    }
    T* data() const { return p_; }
    std::size_t size() const { return n_; }
    std::size_t bytes() const { return n_ * sizeof(T); }

private:
    T* p_ = nullptr;
    std::size_t n_ = 0;
};

}  // namespace gpu
}  // namespace eepart
