// Exact Pareto search over every configuration without enumerating them.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "parallel.hpp"
#include "staircase.hpp"
#include "tables.hpp"

namespace eepart {

// What a search finds (docs/model.md "Energy"): the frontier of (latency, accuracy), that of (latency,
// accuracy, energy), or min_energy's one plan (the least energy, then latency, then the most accuracy, then
// the first in canonical order). The last two need tables that carry energy tables.
enum class SearchGoal { Frontier, Frontier3, MinEnergy };

struct SearchOptions {
    double min_accuracy = -std::numeric_limits<double>::infinity();
    double max_latency = std::numeric_limits<double>::infinity();
    int threads = 0;                                 // 0..kMaxThreads; 0: one per hardware thread
    std::size_t max_memory = std::size_t(1) << 31;   // bytes of the search's buffers, all threads together
    double time_limit = std::numeric_limits<double>::infinity();  // seconds
    double quantile = 0;  // 0: the latency is the mean; q in (0, 1]: its q-quantile (core/quantile.hpp)
    // Plans of at most this energy (J) only; anything but inf needs tables that carry energy.
    double max_energy = std::numeric_limits<double>::infinity();
    SearchGoal goal = SearchGoal::Frontier;

    // Whether the search carries energy (a goal or a bound on it).
    bool asks_energy() const { return goal != SearchGoal::Frontier || max_energy != std::numeric_limits<double>::infinity(); }

    void check() const;  // std::invalid_argument naming the option
};

struct SearchStats {
    std::uint64_t labels = 0;       // partial plans kept after dominance within their state
    std::uint64_t candidates = 0;   // partial plans generated
    std::uint64_t pruned = 0;       // kept labels dropped by the bound against the frontier found so far (with
                                    // energy also partial plans dropped so before their state's dominance)
    std::uint64_t terminals = 0;    // complete plans evaluated
    std::size_t peak_bytes = 0;
};

// The frontier of the configurations with accuracy >= min_accuracy, latency <= max_latency and energy <=
// max_energy, latency rising, equal points (kRtol relative) once, exactly as frontier.py's frontier_indices
// would return it over the full sweep; for SearchGoal::Frontier3 frontier3_indices' points, in its order;
// for MinEnergy one point or none. Points carry their energy where the tables carry energy tables. Energy
// goals and bounds take the mean latency only (std::invalid_argument with a quantile). Latency and accuracy are summed in the canonical order, so they are bit for bit
// what `evaluate` gives for the returned configurations.
// Call without the GIL; `poll` (every 100 ms, may be empty) stops it with Interrupted. Throws
// std::invalid_argument when the search would need more than max_memory bytes (memory_budget.hpp), and
// TimeLimitExceeded past time_limit. `here` (a batch's worker, batch.hpp): the search runs on the calling
// thread only, whatever options.threads says, without polls or a clock, and gives up when *here is set.
std::vector<SearchPoint> pareto_search(const Tables& tables, const SearchOptions& options,
                                       const Poll& poll, SearchStats* stats = nullptr,
                                       const std::atomic<bool>* here = nullptr);

}  // namespace eepart
