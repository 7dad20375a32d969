// device.hpp on the host, for the emulated build: "device memory" is host memory, the primitives are
// the standard algorithms. It lets the GPU engine's host logic and kernels run on machines without a GPU.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "device.hpp"

namespace eepart {
namespace gpu {

int device_count() noexcept { return 1; }
std::string device_name() noexcept { return "host emulator (no GPU)"; }
std::size_t free_memory() { return std::size_t(1) << 34; }

void* raw_alloc(std::size_t bytes) {
    void* p = std::malloc(bytes ? bytes : 1);
    if (!p) throw std::runtime_error("emulator: cannot allocate " + std::to_string(bytes) + " bytes");
    std::memset(p, 0xA5, bytes);  // garbage, as cudaMalloc gives: kernels must not read what they never wrote
    return p;
}
void raw_free(void* p) noexcept { std::free(p); }
void upload(void* dst, const void* src, std::size_t bytes) { std::memcpy(dst, src, bytes); }
void download(void* dst, const void* src, std::size_t bytes) { std::memcpy(dst, src, bytes); }
void zero(void* dst, std::size_t bytes) { std::memset(dst, 0, bytes); }
void copy_on_device(void* dst, const void* src, std::size_t bytes) { std::memmove(dst, src, bytes); }
void synchronize() {}
void check_launch(const char*) {}
bool idle() { return true; }  // kernels run to their end when launched
int multiprocessors() { return 2; }

namespace {
volatile int stop_value = 0;
}
const volatile int* stop_flag() { return &stop_value; }
void set_stop_flag(int value) { stop_value = value; }

void exclusive_sum(const u64* in, u64* out, std::size_t n) {
    u64 s = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const u64 v = in[i];
        out[i] = s;
        s += v;
    }
}

void inclusive_max(const double* in, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = i ? std::max(out[i - 1], in[i]) : in[i];
}

void inclusive_max_by_key(const u64* keys, const double* in, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        out[i] = (i && keys[i] == keys[i - 1]) ? std::max(out[i - 1], in[i]) : in[i];
}

void sort_labels(Cand* c, std::size_t n) { std::sort(c, c + n, LabelOrder()); }
void sort_terminals(Cand* c, std::size_t n) { std::sort(c, c + n, TerminalOrder()); }

}  // namespace gpu
}  // namespace eepart
