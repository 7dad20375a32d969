// The one skeleton of the exact searches: a dynamic programme over partial plans (labels), built layer by
// layer (number of partitions L = 1, 2, ...) one threshold per worker, every complete plan met on the way
// offered to the frontier the threads share. The latency statistic is a policy: the mean's (search.cpp)
// and the quantile's (quantile_search.cpp) differ in what a label carries, which labels dominate which,
// and how the frontier bounds a label's completions; the skeleton holds the rest once.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "memory_budget.hpp"
#include "parallel.hpp"
#include "search.hpp"
#include "staircase.hpp"
#include "workers.hpp"

namespace eepart {

// What the workers of a search share: the tables, the options, the frontier found so far, the memory
// budget, the counters. A policy's own shared tables extend it.
struct SearchShared {
    const Tables& T;
    const SearchOptions& opt;
    const int lmax;  // most partitions of a plan

    SharedFrontier found;
    MemoryBudget budget;
    SearchCounters counters;

    // `search`: what the max_memory error calls the search (a string literal).
    SearchShared(const Tables& t, const SearchOptions& o, const char* search)
        : T(t), opt(o), lmax(t.max_partitions()),
          budget(o.max_memory, [&t, cap = o.max_memory, search] { return over_cap_message(search, t, cap); }) {}
};

// What a partition (p, q] on tier b, after one ending at block p on tier a, adds to a label's mean latency
// and accuracy, as the model sums them (lat += S_p forward; lat += in compute with in = S_p = 1 - c_p; then
// E result), for a plan that ends there (E = S_p) and for one that goes on (E = c_q - c_p). The first
// partition arrives by the input instead of a forward. The quantile search carries the mean too: it
// breaks its ties.
struct Move {
    double arrive, compute, result_end, result_cont;
    double acc_end, acc_cont;

    // A label's mean latency through the partition's compute; without a label, the first partition's.
    double through(double lat) const { return (lat + arrive) + compute; }
    double through() const { return arrive + compute; }
};

// One worker of a search, reused from threshold to threshold: its buffers keep their capacity. `Policy`
// derives from it (CRTP) and supplies
//   begin_threshold()      its per-threshold tables, once c_ and S_ hold the threshold's
//   first_layer()          the labels of the single partitions, offering the terminals
//   next_layer(L)          layer L + 1 from layer L, the new layer becoming the current one
//   has_labels()           whether the current layer has any
//   bytes()                the memory of its own buffers (account() adds the arena and the staircase)
// `Label` has .parent, .q and .tier (chain_point); `Shared` derives from SearchShared.
template <class Policy, class Label, class Shared>
class ThresholdSearch {
   public:
    explicit ThresholdSearch(Shared& sh) : sh_(sh), T_(sh.T), N_(sh.T.N), M_(sh.T.M), mem_(sh.budget) {}

    void run(int t, const std::atomic<bool>& cancel) {
        t_ = t;
        cancel_ = &cancel;
        labels_ = candidates_ = pruned_ = terminals_ = 0;
        local_.reset();
        local_.sync(sh_.found);
        c_.resize(N_ + 1);
        S_.resize(N_ + 1);
        for (int i = 0; i <= N_; ++i) {
            c_[i] = T_.cum(t_, i);
            S_[i] = 1.0 - c_[i];
        }
        arena_.clear();
        policy().begin_threshold();
        // Short plans, cheap to find, fill the frontier first and prune the longer ones: each layer's finds
        // go to the other threads before the next layer.
        policy().first_layer();
        local_.sync(sh_.found);
        for (int L = 1; L < sh_.lmax && policy().has_labels() && !cancelled(); ++L) {
            policy().next_layer(L);
            local_.sync(sh_.found);
        }
        local_.sync(sh_.found, true);
        sh_.counters.add(labels_, candidates_, pruned_, terminals_);
    }

    // The frontier's seeds and the answer from the frontier found, where a policy has no others: every
    // single-partition plan meeting the bounds, and the staircase cut to the tolerance.
    static void seed(const Tables& T, const SearchOptions& opt, Shared& sh) {
        seed_single_partitions(T, opt, sh.found.frontier, Policy::kSeedsCarryMean);
    }
    static std::vector<SearchPoint> answer(Shared& sh) { return apply_tolerance(sh.found.frontier.pts); }

   protected:
    Shared& sh_;
    const Tables& T_;
    int t_ = 0;
    const int N_, M_;
    std::vector<double> c_, S_;  // c_i and 1 - c_i at this threshold
    LocalFrontier local_;
    std::vector<Label> arena_;  // every label of this threshold; a layer is a contiguous range
    std::uint64_t labels_ = 0, candidates_ = 0, pruned_ = 0, terminals_ = 0;

    bool cancelled() const { return cancel_->load(std::memory_order_relaxed); }

    Move move(int p, int a, int b, int q, double accq) const { return move(T_, p, a, b, q, accq); }
    Move first_move(int q, int b, double accq) const { return first_move(T_, q, b, accq); }
    // The same on other tables of the latency's form (the energy view: its arrive, compute and result are
    // the energy's terms, summed as the latency's).
    Move move(const Tables& tb, int p, int a, int b, int q, double accq) const {
        const double Sp = S_[p], E = c_[q] - c_[p];
        return {Sp * tb.forward(p, a, b), Sp * tb.compute(b, p, q), Sp * tb.result(b), E * tb.result(b), accq * Sp,
                accq * E};
    }
    Move first_move(const Tables& tb, int q, int b, double accq) const {
        const double S0 = S_[0], E = c_[q] - c_[0];
        return {tb.input(b), S0 * tb.compute(b, 0, q), S0 * tb.result(b), E * tb.result(b), accq * S0, accq * E};
    }

    // A complete plan (lat, acc), its last partition (.., q] on tier b after the label `parent`; `mean` its
    // mean latency where lat is a quantile (the staircase's tie rule), else 0; `energy` its energy where the
    // search carries it. `hint` is last_at_or_before of a latency no larger than this one (or -2: unknown)
    // and comes back updated for this latency.
    void terminal(double lat, double acc, double mean, std::int32_t parent, int q, int b, int& hint,
                  double energy = 0) {
        ++terminals_;
        if (!(lat <= sh_.opt.max_latency && acc >= sh_.opt.min_accuracy)) return;
        const int i = hint == -2 ? local_.stair.last_at_or_before(lat) : local_.stair.seek(hint, lat);
        hint = i;
        if (local_.beaten(i, lat, acc)) return;
        SearchPoint p = chain_point(arena_, t_, lat, acc, parent, q, b);
        p.mean = mean;
        p.energy = energy;
        hint = local_.stair.insert(p, i);
        local_.dirty = true;
    }

    // Reports this worker's memory to the budget (which throws past the cap).
    void account() {
        mem_.set(arena_.capacity() * sizeof(Label) + local_.stair.pts.capacity() * (sizeof(SearchPoint) + 16) +
                 policy().bytes());
    }

    template <class V>
    void make_room(V& v, std::size_t need) {
        if (v.capacity() >= need) return;  // the common case: no growth, nothing to report
        mem_.make_room(v, need);
        account();
    }

   private:
    const std::atomic<bool>* cancel_ = nullptr;
    MemoryAccount mem_;

    Policy& policy() { return static_cast<Policy&>(*this); }
    const Policy& policy() const { return static_cast<const Policy&>(*this); }
};

// A search, one Worker per threshold after the single-partition seeds. The Worker (a ThresholdSearch
// policy) also supplies Shared, whose constructor prepares what its workers share; kSeedsCarryMean, whether
// the frontier's points carry their mean latency (tie_less); on_this_thread(T), whether the search is too
// small to pay for a thread and a Ctrl-C poll (then time_limit is not enforced either). `here` (a batch's
// worker): every threshold on this thread, stopping when *here is set; the batch's pool polls and keeps the
// time (the answer is then dropped).
template <class Worker>
std::vector<SearchPoint> exact_pareto_search(const Tables& T, const SearchOptions& opt, const Poll& poll,
                                             SearchStats* stats, const std::atomic<bool>* here = nullptr) {
    Control control;
    control.interrupted = poll;
    control.time_limit = opt.time_limit;
    control.what = "pareto";

    typename Worker::Shared sh(T, opt);
    Worker::seed(T, opt, sh);
    const std::atomic<bool> never{false};
    if (here == nullptr && Worker::on_this_thread(T)) here = &never;
    run_thresholds<Worker>(sh, T.K, here ? 1 : std::min(resolve_threads(opt.threads), T.K), here, control);
    sh.counters.report(stats, sh.budget);
    return Worker::answer(sh);
}

}  // namespace eepart
