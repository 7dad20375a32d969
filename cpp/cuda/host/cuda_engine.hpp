// The GPU engine's three jobs, as the `_cuda` module calls them: evaluate, sweep, pareto. Plain C++ over
// device.hpp and launch.hpp; the kernels are in kernels.cuh and pareto_kernels.cuh.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <new>
#include <string>
#include <utility>
#include <limits>
#include <vector>

#include "launch.hpp"
#include "device.hpp"
#include "configs.hpp"
#include "engine.hpp"
#include "parallel.hpp"
#include "tables.hpp"

namespace eepart {
namespace gpu {

// Called between chunks of device work, with no lock held; throws Interrupted to stop (Ctrl-C). The
// core's Interrupted, so that one without_gil (bindings/tables.hpp) serves _core and _cuda.
using Poll = std::function<void()>;
using Interrupted = eepart::Interrupted;

// The six tables copied to the device (compute_cost transposed, see kernels.cuh), and the four energy
// tables when tb has them (the same layout).
class TablesOnDevice {
public:
    explicit TablesOnDevice(const Tables& tb);
    const DeviceTables& view() const { return view_; }
    // The energy tables in the cost tables' places, cum and acc shared (Tables::energy_view's device
    // form); null when tb has no energy tables.
    const DeviceTables* energy_view() const { return has_energy_ ? &energy_view_ : nullptr; }

private:
    Buffer<double> input_, compT_, fwd_, res_, cum_, acc_;
    Buffer<double> e_input_, e_compT_, e_fwd_, e_res_;
    bool has_energy_ = false;
    DeviceTables view_{}, energy_view_{};
};

// Given configurations (the caller's memory): each chunk is copied and checked (ConfigRows) before it
// goes to the device, so a bad index never reaches it. std::invalid_argument names the first bad entry.
// quantile: 0, the mean latency; q in (0, 1], its q-quantile (core/quantile.hpp). energy (not null, the
// tables having energy tables): each row's energy, the CPU engine's bits (core/evaluate.cpp).
void evaluate(const Tables& tb, const ConfigView& c, double* latency, double* accuracy, const Poll& poll,
              double quantile = 0, double* energy = nullptr);

// Host memory for result columns: not zeroed (the device overwrites all of it), grown with realloc
// (which remaps large blocks instead of copying them), and handed over to numpy without a copy.
template <class T>
class HostArray {
public:
    HostArray() = default;
    HostArray(const HostArray&) = delete;
    HostArray& operator=(const HostArray&) = delete;
    HostArray(HostArray&& o) noexcept : p_(o.p_), n_(o.n_), cap_(o.cap_) { o.p_ = nullptr, o.n_ = o.cap_ = 0; }
    HostArray& operator=(HostArray&& o) noexcept {
        std::swap(p_, o.p_), std::swap(n_, o.n_), std::swap(cap_, o.cap_);
        return *this;
    }
    ~HostArray() { std::free(p_); }

    void resize(std::size_t n) {
        if (n > cap_) {
            const std::size_t c = n > cap_ + cap_ / 2 ? n : cap_ + cap_ / 2;
            void* q = std::realloc(p_, c * sizeof(T));
            if (!q) throw std::bad_alloc();
            p_ = static_cast<T*>(q);
            cap_ = c;
        }
        n_ = n;
    }
    // The memory, trimmed to size, now the caller's to std::free.
    T* release() {
        T* p = static_cast<T*>(std::realloc(p_, (n_ ? n_ : 1) * sizeof(T)));
        if (!p) p = p_;
        p_ = nullptr, n_ = cap_ = 0;
        return p;
    }
    T* data() { return p_; }
    std::size_t size() const { return n_; }
    T& operator[](std::size_t i) { return p_[i]; }

private:
    T* p_ = nullptr;
    std::size_t n_ = 0, cap_ = 0;
};

// Rows in canonical order, columns as the sweep returns them (partitions, placement: rows x Lmax, -1 pads);
// the energy column only with_energy.
struct Rows {
    int Lmax = 0;
    bool with_energy = false;
    std::uint64_t rows = 0;
    HostArray<double> latency, accuracy, energy;
    HostArray<std::int32_t> threshold_index, num_partitions, partitions, placement;
    void resize(std::uint64_t n);
};

struct SweepOptions {
    double max_latency = std::numeric_limits<double>::infinity();
    double min_accuracy = -std::numeric_limits<double>::infinity();
    std::uint64_t max_rows = std::uint64_t(1) << 62;
    std::uint64_t chunk_items = 0;  // warp items per chunk (0: default); tests make it small
    std::uint64_t window_rows = 0;  // rows written per device window (0: default); likewise
    std::uint64_t table_limit = 0;  // placements of one L tabulated at most (0: 65536); beyond, unranked
    double quantile = 0;            // 0: the latency is the mean; q in (0, 1]: its q-quantile
    double max_energy = std::numeric_limits<double>::infinity();  // needs energy tables unless inf
};
// With energy tables (tb.has_energy()), the rows have the energy column, kept at most max_energy, with
// the CPU engine's bits (core/sweep.cpp).
Rows sweep(const Tables& tb, const SweepOptions& opt, const Poll& poll);

// Which search runs: the one-launch search (each threshold's whole search in one thread block), the
// layered one (every threshold at once, layer by layer, the host sizing each step), or the first with
// the second where a threshold outgrows its block's room.
enum class ParetoEngine { Auto, Fused, Layered };

struct ParetoOptions {
    double min_accuracy = -std::numeric_limits<double>::infinity();
    double max_latency = std::numeric_limits<double>::infinity();
    std::size_t max_memory = kDefaultDeviceMemory;  // bytes of device memory the search may hold
    std::uint64_t chunk_slots = 0;                   // layered: candidates per chunk (0: from max_memory)
    ParetoEngine engine = ParetoEngine::Auto;
    std::uint32_t fused_room = 0;                    // fused: labels per layer a block holds (0: default)
};
struct ParetoStats {
    std::uint64_t labels = 0, candidates = 0, terminals = 0, chunks = 0;
    std::size_t peak_bytes = 0;
    std::string engine;  // "fused", "layered", or "fused, out of room; layered"
    std::uint64_t staircase_points = 0;  // fused: the thresholds' staircases, all together, before the merge
    // Wall seconds of each step, the device synchronised at its end (only when stats are asked for):
    // layered: tables on the device, bounds, then one entry per layer of partitions, then the final cut;
    // fused: tables on the device, the search, the rows back and cut.
    std::vector<double> step_seconds;
    // fused: device clock cycles of each phase, summed over the blocks (0 on the emulator)
    std::vector<std::pair<std::string, std::uint64_t>> phase_cycles;
};
Rows pareto(const Tables& tb, const ParetoOptions& opt, const Poll& poll, ParetoStats* stats = nullptr);
// The one-launch search: false, with *out untouched, when some threshold outgrew its room (or the room
// would not fit in max_memory).
bool pareto_fused(const Tables& tb, const ParetoOptions& opt, const Poll& poll, ParetoStats* stats, Rows* out);

}  // namespace gpu
}  // namespace eepart
