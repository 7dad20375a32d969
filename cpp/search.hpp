// Exact Pareto search over every configuration of SPEC.md without enumerating them (issue 3).
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "tables.hpp"

namespace eepart {

struct SearchOptions {
    double min_accuracy = -std::numeric_limits<double>::infinity();
    double max_latency = std::numeric_limits<double>::infinity();
    int threads = 0;                                 // 0: one per hardware thread
    std::size_t max_memory = std::size_t(1) << 31;   // bytes of labels and candidates, all threads together
};

// One frontier point and a configuration reaching it (P as block counts, A as tiers).
struct SearchPoint {
    double latency = 0, accuracy = 0;
    int threshold_index = 0, num_partitions = 0;
    std::int16_t partitions[kMaxTiers] = {};
    std::int8_t placement[kMaxTiers] = {};
};

struct SearchStats {
    std::uint64_t labels = 0;       // partial plans kept after dominance within their state
    std::uint64_t candidates = 0;   // partial plans generated
    std::uint64_t pruned = 0;       // kept labels dropped by the bound against the frontier found so far
    std::uint64_t terminals = 0;    // complete plans evaluated
    std::size_t peak_bytes = 0;
};

// SPEC's frontier of the configurations with accuracy >= min_accuracy and latency <= max_latency,
// latency rising, equal points (1e-12 relative) once, exactly as frontier.py's frontier_indices would
// return it over the full sweep. Latency and accuracy are summed in SPEC's canonical order, so they are
// bit for bit what `evaluate` gives for the returned configurations.
// Call with the GIL held: the threads release it and Ctrl-C is honoured. Throws std::invalid_argument
// when the search would need more than max_memory bytes.
std::vector<SearchPoint> pareto_search(const Tables& tables, const SearchOptions& options,
                                       SearchStats* stats = nullptr);

}  // namespace eepart
