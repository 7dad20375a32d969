// Many exact searches in one call: scenarios (a table and bounds each) spread over one pool of threads,
// each scenario's search on a single thread, so that a batch of small searches starts its threads, and
// polls for Ctrl-C and the clock, once instead of once per search.
#pragma once
#include <cstddef>
#include <limits>
#include <vector>

#include "search.hpp"

namespace eepart {

// What a batch keeps of each scenario's frontier: all of it, P_lat's plan (its first point: the fastest
// plan meeting the bounds) or P_acc's (its last: the most accurate); or min_energy's plan (SearchGoal::MinEnergy,
// its tables carrying energy tables).
enum class BatchAnswer { Frontier, MinLatency, MaxAccuracy, MinEnergy };

struct BatchScenario {
    const Tables* tables;  // shared by any number of scenarios; must outlive the call
    double min_accuracy, max_latency;
    // Plans of at most this energy (J) only; anything but inf needs tables that carry energy tables.
    double max_energy = std::numeric_limits<double>::infinity();
};

// The answers, the rows of one scenario contiguous: scenario s's are points[offsets[s], offsets[s + 1]),
// none for a scenario no plan meets.
struct BatchResult {
    std::vector<std::size_t> offsets;  // S + 1
    std::vector<SearchPoint> points;
};

// Each scenario's answer is exactly what pareto_search gives on its tables and bounds (the search does not
// depend on its thread count). The options: threads, the workers the scenarios are spread over (0: one per
// hardware thread); max_memory, each scenario's search's cap, as a single search has it (so at most
// `threads` times it at once); time_limit, the whole batch's (TimeLimitExceeded); quantile, every
// scenario's; their bounds are ignored (each scenario has its own, max_energy included). Scenarios with the
// same tables object and the same bounds are searched once. Points carry their energy where the tables carry
// energy tables. Call without the GIL: `poll` is asked every 100 ms (Interrupted).
// A scenario's error (max_memory, a NaN bound) is std::invalid_argument naming it ("scenario 7: ...").
BatchResult batch_search(const std::vector<BatchScenario>& scenarios, BatchAnswer answer,
                         const SearchOptions& options, const Poll& poll);

}  // namespace eepart
