// The CPU engine over the cost tables of SPEC.md: evaluate given configurations, sweep all of them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

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
};

// Kept rows of one work item (one t, one L, a run of partitionings in canonical order). Partitionings
// with kept rows are stored once; each row points at its partitioning and stores its own placement.
struct ItemRows {
    int t = 0;
    int L = 0;
    std::vector<std::int32_t> partitions;  // [n_partitionings][L]
    std::vector<double> accuracy;          // [n_partitionings]
    std::vector<double> latency;           // [rows]
    std::vector<std::uint32_t> which;      // [rows] index into the partitionings above
    std::vector<std::uint8_t> placement;   // [rows][L]
};

struct SweepResult {
    int Lmax = 0;
    std::uint64_t total = 0;  // configurations enumerated
    std::uint64_t rows = 0;   // rows kept
    std::vector<ItemRows> items;  // canonical order
};

// Every configuration of SPEC in canonical order, keeping rows with latency <= max_latency and
// accuracy >= min_accuracy. Throws std::invalid_argument when more than max_rows rows would be kept.
// Call with the GIL held: it releases it.
SweepResult sweep(const Tables& tables, const SweepOptions& options);

// Output columns of a sweep, rows × Lmax for the last two; filled with the GIL released.
struct SweepColumns {
    double* latency;
    double* accuracy;
    std::int32_t* threshold_index;
    std::int32_t* num_partitions;
    std::int32_t* partitions;
    std::int32_t* placement;
};
void write_columns(const SweepResult& result, const SweepColumns& out, int threads);

}  // namespace eepart
