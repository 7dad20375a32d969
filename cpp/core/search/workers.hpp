// What the exact searches (the mean's, search.cpp, and the quantile's, quantile_search.cpp) share around
// their per-threshold workers: the frontier all threads find into, the counters, the pool that runs one
// worker per threshold, the seeds, and how a chain of labels becomes a configuration.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "bounds.hpp"
#include "memory_budget.hpp"
#include "parallel.hpp"
#include "search.hpp"
#include "staircase.hpp"

namespace eepart {

// All threads' finds.
struct SharedFrontier {
    std::mutex mu;
    Staircase frontier;
    std::uint64_t version = 0;  // bumped on every merge
};

// A worker's copy of the frontier: it prunes against `stair` and inserts there without a lock.
struct LocalFrontier {
    Staircase stair;
    bool dirty = false;  // stair has points the shared frontier lacks
    std::uint64_t seen = ~std::uint64_t(0);

    // Is a plan (lat, acc) weakly dominated by stair's point i = stair.last_at_or_before(lat), other than
    // by an exact tie (which Staircase::insert settles by tie_less)?
    bool beaten(int i, double lat, double acc) const {
        return i >= 0 && stair.acc[i] >= acc && !(stair.lat[i] == lat && stair.acc[i] == acc);
    }

    void reset() {
        dirty = false;
        seen = ~std::uint64_t(0);
    }

    // Shares this worker's finds with the other threads and takes theirs. While no other thread has
    // found anything, ours can wait for the end of the threshold (`last`): stair already holds all.
    void sync(SharedFrontier& shared, bool last = false) {
        std::lock_guard<std::mutex> lock(shared.mu);
        const bool theirs = seen != shared.version;
        if (!theirs && !last) return;
        if (dirty) {
            shared.frontier.merge_from(stair);
            ++shared.version;
            dirty = false;
        }
        if (theirs) stair.assign(shared.frontier);  // else the frontier is now stair itself
        seen = shared.version;
    }
};

// What a search that ran out of max_memory says (`search`: "search", "quantile search").
inline std::string over_cap_message(const char* search, const Tables& T, std::size_t max_memory) {
    std::ostringstream s;
    s << "pareto: the " << search << " needs more than max_memory = " << max_memory
      << " bytes for its partial plans (N = " << T.N << ", M = " << T.M << ", K = " << T.K
      << "); raise max_memory, or narrow the search with min_accuracy / max_latency";
    return s.str();
}

// The searches' counters, summed over the workers' thresholds (SearchStats).
struct SearchCounters {
    std::atomic<std::uint64_t> labels{0}, candidates{0}, pruned{0}, terminals{0};

    void add(std::uint64_t l, std::uint64_t c, std::uint64_t p, std::uint64_t t) {
        labels += l;
        candidates += c;
        pruned += p;
        terminals += t;
    }
    void report(SearchStats* stats, const MemoryBudget& budget) const {
        if (!stats) return;
        stats->labels = labels;
        stats->candidates = candidates;
        stats->pruned = pruned;
        stats->terminals = terminals;
        stats->peak_bytes = budget.peak();
    }
};

// The configuration of a complete plan: its last partition (.., q] on tier b after the chain of labels
// from `parent` (arena indices, -1 ends; each label with .parent, .q, .tier).
template <class Arena>
SearchPoint chain_point(const Arena& arena, int t, double lat, double acc, std::int32_t parent, int q, int b) {
    SearchPoint p;
    p.latency = lat;
    p.accuracy = acc;
    p.threshold_index = t;
    int rev_q[kMaxTiers], rev_a[kMaxTiers];
    int L = 0;
    rev_q[L] = q;
    rev_a[L++] = b;
    for (std::int32_t i = parent; i >= 0; i = arena[i].parent) {
        rev_q[L] = arena[i].q;
        rev_a[L++] = arena[i].tier;
    }
    p.num_partitions = L;
    for (int k = 0; k < L; ++k) {
        p.partitions[k] = static_cast<std::int16_t>(rev_q[L - 1 - k]);
        p.placement[k] = static_cast<std::int8_t>(rev_a[L - 1 - k]);
    }
    return p;
}

// The frontier starts with every single-partition plan that meets the bounds: N M plans, cheap, and
// often most of the frontier's reach, so that the threads prune from their first label on. `with_mean`:
// the points carry their mean latency (the quantile search's tie rule; one exit: it is the latency).
inline void seed_single_partitions(const Tables& T, const SearchOptions& opt, Staircase& s, bool with_mean) {
    for (int q = 1; q <= T.N; ++q)
        for (int b = 0; b < T.M; ++b) {
            SearchPoint p = single_partition(T, q, b);
            if (with_mean) p.mean = p.latency;
            if (p.latency <= opt.max_latency && p.accuracy >= opt.min_accuracy)
                s.insert(p, s.last_at_or_before(p.latency));
        }
}

// Runs Worker(shared).run(t, cancel) for every threshold t < K, on `threads` threads through parallel_for
// (which enforces `control`), or, given `here`, on this thread without polls, stopping when *here is set
// (too small to pay for a thread, or one scenario of a batch whose pool polls). Workers are reused from
// threshold to threshold, so their buffers keep their capacity.
template <class Worker, class Shared>
void run_thresholds(Shared& shared, int K, int threads, const std::atomic<bool>* here, const Control& control) {
    std::vector<std::unique_ptr<Worker>> idle;
    std::mutex idle_mu;
    auto body = [&](std::size_t t, const std::atomic<bool>& cancel) {
        std::unique_ptr<Worker> w;
        {
            std::lock_guard<std::mutex> lock(idle_mu);
            if (!idle.empty()) {
                w = std::move(idle.back());
                idle.pop_back();
            }
        }
        if (!w) w = std::make_unique<Worker>(shared);
        w->run(static_cast<int>(t), cancel);
        std::lock_guard<std::mutex> lock(idle_mu);
        idle.push_back(std::move(w));
    };
    if (here != nullptr) {
        for (int t = 0; t < K && !here->load(std::memory_order_relaxed); ++t) body(t, *here);
    } else {
        parallel_for(static_cast<std::size_t>(K), threads, body, control);
    }
}

}  // namespace eepart
