// The CPU engine over the cost tables of SPEC.md: evaluate given configurations, sweep all of them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <atomic>
#include <functional>
#include <memory>

#include "tables.hpp"

namespace eepart {

// Configurations as the Python layer passes them: row i is (t[i], L[i], P[i][0..L-1], A[i][0..L-1]),
// P and A padded to `width` columns (the padding is never read).
struct ConfigView {
    std::size_t n = 0;
    std::size_t width = 0;
    const std::int64_t* threshold_index = nullptr;  // [n]
    const std::int64_t* num_partitions = nullptr;   // [n]
    const std::int64_t* partitions = nullptr;       // [n][width], block counts 1..N
    const std::int64_t* placement = nullptr;        // [n][width], tiers 0..M-1
};

// Throws std::invalid_argument naming the field, the row and the value of the first bad entry.
void validate_configs(const Tables& tables, const ConfigView& configs);

// latency[i], accuracy[i] of every (already validated) row. Call with the GIL held: it releases it.
void evaluate(const Tables& tables, const ConfigView& configs, double* latency, double* accuracy,
              int threads);

// K · Σ_{L=1}^{min(M,N)} C(N, L) · M!/(M−L)!, or UINT64_MAX when it does not fit in 64 bits.
std::uint64_t count_configurations(int N, int M, int K);

struct SweepOptions {
    double max_latency;
    double min_accuracy;
    std::uint64_t max_rows;
    int threads = 0;
    // Placements of one L are tabulated (and their latency prefixes reused across P_L) when there are
    // at most this many; beyond, each P walks its placements depth first. Tests lower it.
    std::uint64_t table_limit = 1u << 16;
    // Configurations per work item (at least; more when the sweep is huge). Tests lower it to split
    // runs of partitionings between items.
    std::uint64_t item_configs = 1u << 18;
};

// Output columns of a sweep; the last two are rows × Lmax, -1 pads.
struct SweepColumns {
    double* latency;
    double* accuracy;
    std::int32_t* threshold_index;
    std::int32_t* num_partitions;
    std::int32_t* partitions;
    std::int32_t* placement;
};

// Every configuration of SPEC in canonical order, keeping rows with latency <= max_latency and
// accuracy >= min_accuracy. Two passes: count() finds how many rows each work item keeps (nothing is
// stored, so the row cap is checked before any memory is taken), write() computes the kept rows again
// and writes each straight to its final place. Call both with the GIL held: they release it.
class Sweep {
   public:
    Sweep(const Tables& tables, const SweepOptions& options);  // throws when the sweep cannot be enumerated
    ~Sweep();
    Sweep(const Sweep&) = delete;
    Sweep& operator=(const Sweep&) = delete;

    int max_partitions() const;
    std::uint64_t configurations() const;
    // Rows kept; throws std::invalid_argument when more than options.max_rows would be kept.
    std::uint64_t count();
    // After count(): fills the columns, which hold count() rows.
    void write(const SweepColumns& out);

    struct Plan;  // defined in sweep.cpp

   private:
    void for_items(std::size_t n, const std::function<void(std::size_t, const std::atomic<bool>&)>& body);
    std::unique_ptr<Plan> plan_;
};

}  // namespace eepart
