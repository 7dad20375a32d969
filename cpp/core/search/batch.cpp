// batch_search: one parallel_for over the distinct scenarios, each searched by pareto_search on its
// worker's thread (the `here` mode), its answer cut to what was asked for.
#include "batch.hpp"

#include <algorithm>
#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

namespace eepart {
namespace {

void keep_answer(std::vector<SearchPoint>& pts, BatchAnswer answer) {
    if (pts.empty() || answer == BatchAnswer::Frontier || answer == BatchAnswer::MinEnergy) return;
    const SearchPoint p = answer == BatchAnswer::MinLatency ? pts.front() : pts.back();
    pts.assign(1, p);
}

}  // namespace

BatchResult batch_search(const std::vector<BatchScenario>& scenarios, BatchAnswer answer,
                         const SearchOptions& options, const Poll& poll) {
    options.check();
    const std::size_t S = scenarios.size();
    // Scenario s's answer is found[source[s]]: the first scenario with its tables and bounds. The bounds
    // are keyed by value (NaN is refused by the search's own check before anything runs).
    std::vector<std::size_t> source(S), work;
    {
        std::map<std::tuple<const Tables*, double, double, double>, std::size_t> first;
        for (std::size_t s = 0; s < S; ++s) {
            const BatchScenario& c = scenarios[s];
            if (c.tables == nullptr) throw std::invalid_argument("scenario " + std::to_string(s) + ": no tables");
            auto it = first.emplace(std::make_tuple(c.tables, c.min_accuracy, c.max_latency, c.max_energy), s).first;
            source[s] = it->second;
            if (it->second == s) work.push_back(s);
        }
    }
    std::vector<std::vector<SearchPoint>> found(S);
    SearchOptions one = options;
    one.threads = 1;
    if (answer == BatchAnswer::MinEnergy) one.goal = SearchGoal::MinEnergy;  // one point: kept as found
    Control control;
    control.interrupted = poll;
    control.time_limit = options.time_limit;
    control.what = "batch search";
    parallel_for(
        work.size(), options.threads,
        [&](std::size_t w, const std::atomic<bool>& cancel) {
            const std::size_t s = work[w];
            const BatchScenario& c = scenarios[s];
            SearchOptions o = one;
            o.min_accuracy = c.min_accuracy;
            o.max_latency = c.max_latency;
            o.max_energy = c.max_energy;
            try {
                found[s] = pareto_search(*c.tables, o, Poll{}, nullptr, &cancel);
            } catch (const std::invalid_argument& e) {
                throw std::invalid_argument("scenario " + std::to_string(s) + ": " + e.what());
            }
            keep_answer(found[s], answer);
        },
        control);

    BatchResult r;
    r.offsets.resize(S + 1, 0);
    for (std::size_t s = 0; s < S; ++s) r.offsets[s + 1] = r.offsets[s] + found[source[s]].size();
    r.points.resize(r.offsets[S]);
    for (std::size_t s = 0; s < S; ++s) {
        const std::vector<SearchPoint>& f = found[source[s]];
        std::copy(f.begin(), f.end(), r.points.begin() + static_cast<std::ptrdiff_t>(r.offsets[s]));
    }
    return r;
}

}  // namespace eepart
