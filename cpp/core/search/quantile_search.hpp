// Exact Pareto search for the q-quantile of the latency (docs/model.md "Tail latency").
#pragma once
#include <vector>

#include "search.hpp"

namespace eepart {

// pareto_search's contract with latency = the options' quantile of each configuration's latency
// (SearchOptions::quantile in (0, 1]); pareto_search calls it when a quantile is set.
std::vector<SearchPoint> quantile_pareto_search(const Tables& tables, const SearchOptions& options, const Poll& poll,
                                                SearchStats* stats = nullptr,
                                                const std::atomic<bool>* here = nullptr);

}  // namespace eepart
