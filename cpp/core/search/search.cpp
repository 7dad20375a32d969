// Exact Pareto search: a bi-objective dynamic programme over partial plans, with dominance within a
// state and branch and bound against the frontier found so far.
//
// For one threshold, the model's latency and accuracy are sums of terms that each depend on one partition and
// its neighbours. A partial plan that ends a partition at block q on tier a, with the set U of tiers used
// so far, and that will continue, is a *label* (lat, acc): every term it already owes, added in the model's
// canonical order (input; per partition compute, result with E_k = c_q - c_p, forward). Every completion
// adds the same terms in the same order whatever came before, and IEEE addition is monotone, so a label
// weakly dominated by another of the same state (q, a, U) can be dropped: exactly, not to a tolerance.
// Terminal plans are evaluated with the last partition's E_L = 1 - c_p when they are formed, so every
// latency and accuracy returned is bit for bit the model's canonical sum.
//
// A label at (q, a, U) also dominates one at (q, a, U') with U inside U' (the second's completions are
// all open to the first); the states with one tier fewer are checked.
//
// Labels are built layer by layer (number of partitions L = 1, 2, ...): short plans, cheap to find, fill
// the frontier first and prune the longer ones; every single-partition plan seeds it before the search.
// A label is pruned when every completion it could have is weakly dominated by a point already found.
// Its completions are bounded by relaxed backward programmes (tiers need only differ from the previous
// one): a latency lower bound, an accuracy upper bound, and lower bounds on lat - lambda * acc for a few
// lambdas (the slopes of the seeds' convex hull), which cut away the corner of the box where high
// accuracy at low latency would be. The same test per next tier (the bound split by the tier the next
// partition goes to) skips, for a label that survives, the tiers that cannot help it.
// This file is the mean's policy of the exact searches' skeleton (exact_search.hpp: the layers, the
// threads sharing the frontier, the memory count).
//
// Work and memory: a layer's candidates are (labels of the layer before) x (later ends) x (free tiers);
// the labels kept are what dominance and the bounds leave, which on realistic profiles is a small
// fraction, but in the worst case (identical tiers, free links) grows like N M 2^M. The memory of
// labels and candidates is counted against max_memory, and passing it is an error, not an exhaustion.
#include "search.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "bounds.hpp"
#include "exact_search.hpp"
#include "labels.hpp"
#include "quantile.hpp"
#include "quantile_search.hpp"

namespace eepart {
namespace {

struct MeanShared : SearchShared {
    std::vector<double> lam;  // the lambdas of the scalarised bounds

    MeanShared(const Tables& t, const SearchOptions& o) : SearchShared(t, o, "search") {
        // Each lambda adds a lane to a relaxed programme of N^2 M per threshold; large instances take fewer.
        if (lmax > 1) {
            const double per_lambda = static_cast<double>(t.N) * t.N * t.M * t.K;
            int most = 0;
            while (most < kMaxLambdas && (most + 2) * per_lambda < 4e9) ++most;
            lam = choose_lambdas(t, most);
        }
    }
};

// The mean latency's policy: a label is (lat, acc), the mean's terms so far; dominance within a state is
// on those two; the bounds are the relaxed programmes of bounds.hpp.
class MeanSearch : public ThresholdSearch<MeanSearch, Label, MeanShared> {
    using Base = ThresholdSearch<MeanSearch, Label, MeanShared>;
    friend Base;

   public:
    using Shared = MeanShared;
    static constexpr bool kSeedsCarryMean = false;
    // Milliseconds at most: a thread and a Ctrl-C poll would not pay.
    static bool on_this_thread(const Tables& T) { return static_cast<double>(T.K) * T.N * T.N * T.M * T.M < 2e5; }

    explicit MeanSearch(Shared& sh) : Base(sh) {}

   private:
    RelaxedBounds bounds_;
    std::vector<std::uint16_t> skip_;     // per label of cur_: next tiers whose completions are dominated
    std::vector<Group> cur_, next_;  // a layer's states, sorted by (used, p)
    std::vector<Cand> cands_, merged_;  // one state's candidates, one run per source group
    std::vector<std::size_t> runs_;     // where each run starts in cands_, and the end
    struct Run {
        std::size_t begin, end, cut;  // groups of cur_ [begin, end) share `used`; [begin, cut) have p < q
        std::size_t labels;           // labels in [begin, cut)
    };
    std::vector<Run> layer_runs_;       // cur_ by `used`, rising

    void begin_threshold() { bounds_.compute(T_, t_, c_, S_, sh_.lam); }
    bool has_labels() const { return !cur_.empty(); }

    // With the threshold's c and S, as this search always counted them (the quantile's never did).
    std::size_t bytes() const {
        return (cands_.capacity() + merged_.capacity()) * sizeof(Cand) +
               (cur_.capacity() + next_.capacity()) * sizeof(Group) + skip_.capacity() * sizeof(std::uint16_t) +
               runs_.capacity() * sizeof(std::size_t) + layer_runs_.capacity() * sizeof(Run) + bounds_.bytes() +
               (c_.capacity() + S_.capacity()) * sizeof(double);
    }

    bool label_dominated(const Label& l) const {
        return bounds_.label_dominated(local_.stair, l.lat, l.acc, l.q, l.tier, sh_.opt.min_accuracy,
                                       sh_.opt.max_latency);
    }

    // The next tiers b whose completions (next partition on b) are all dominated already.
    std::uint16_t dominated_next_tiers(const Label& l, std::uint32_t used) const {
        std::uint16_t mask = 0;
        const double S = S_[l.q];
        for (int b = 0; b < M_; ++b) {
            if (used >> b & 1u) continue;
            if (bounds_.next_tier_dominated(local_.stair, l.lat, l.acc, l.q, b, S * T_.forward(l.q, l.tier, b),
                                            sh_.opt.min_accuracy, sh_.opt.max_latency))
                mask |= std::uint16_t(1u << b);
        }
        return mask;
    }

    // The latency is the mean itself: the points carry no other (SearchPoint::mean 0).
    void terminal(double lat, double acc, std::int32_t parent, int q, int b, int& hint) {
        Base::terminal(lat, acc, 0.0, parent, q, b, hint);
    }

    static void sort_groups(std::vector<Group>& groups) {
        std::stable_sort(groups.begin(), groups.end(),
                         [](const Group& x, const Group& y) { return x.used != y.used ? x.used < y.used : x.p < y.p; });
    }

    void first_layer() {
        cur_.clear();
        const bool cont = sh_.lmax > 1;
        make_room(arena_, cont ? static_cast<std::size_t>(N_) * M_ : 0);
        make_room(cur_, cont ? static_cast<std::size_t>(N_) * M_ : 0);
        for (int q = 1; q <= N_; ++q) {
            const double accq = T_.acc(t_, q);
            for (int b = 0; b < M_; ++b) {
                const Move m = first_move(q, b, accq);
                const double x = m.through();
                int hint = -2;
                terminal(x + m.result_end, 0.0 + m.acc_end, -1, q, b, hint);
                if (cont && q < N_) {
                    cur_.push_back({q, b, 1u << b, static_cast<std::int32_t>(arena_.size()),
                                    static_cast<std::int32_t>(arena_.size() + 1)});
                    arena_.push_back({x + m.result_cont, 0.0 + m.acc_cont, -1, static_cast<std::int16_t>(q),
                                      static_cast<std::int8_t>(b)});
                }
            }
        }
        labels_ += arena_.size();
        candidates_ += arena_.size();
        prune(cur_);
        sort_groups(cur_);
    }

    void next_layer(int L) {
        expand(L);
        prune(next_);
        sort_groups(next_);
        cur_.swap(next_);
    }

    // Layer L+1 from layer L, into next_. A state (q, b, U') of the new layer draws on the states
    // (p < q, a, U' - b) of the old one only: one run of cur_ (same `used`), cut at p < q.
    void expand(int L) {
        next_.clear();
        const bool cont_possible = L + 1 < sh_.lmax;
        std::vector<Run>& runs = layer_runs_;
        runs.clear();
        for (std::size_t g = 0; g < cur_.size();) {
            std::size_t e = g;
            while (e < cur_.size() && cur_[e].used == cur_[g].used) ++e;
            runs.push_back({g, e, g, 0});
            g = e;
        }
        // Labels of cur_ are the arena's tail; which of their next tiers can be skipped, once per layer.
        std::int32_t base = static_cast<std::int32_t>(arena_.size());
        for (const Group& g : cur_) base = std::min(base, g.begin);
        skip_.assign(arena_.size() - static_cast<std::size_t>(base), 0);
        for (const Group& g : cur_)
            for (std::int32_t i = g.begin; i < g.end; ++i) skip_[i - base] = dominated_next_tiers(arena_[i], g.used);
        for (int q = 2; q <= N_; ++q) {
            if (cancelled()) return;
            const bool cont = cont_possible && q < N_;
            const double accq = T_.acc(t_, q);
            for (Run& r : runs) {
                if (cancelled()) return;
                while (r.cut < r.end && cur_[r.cut].p < q) {
                    r.labels += static_cast<std::size_t>(cur_[r.cut].end - cur_[r.cut].begin);
                    ++r.cut;
                }
                if (r.cut == r.begin) continue;
                const std::uint32_t used = cur_[r.begin].used;
                if (cont) {
                    make_room(cands_, r.labels);
                    make_room(merged_, r.labels);
                }
                for (int b = 0; b < M_; ++b) {
                    if (used >> b & 1u) continue;
                    cands_.clear();
                    runs_.clear();
                    for (std::size_t gi = r.begin; gi < r.cut; ++gi) {
                        const Group& g = cur_[gi];
                        const Move m = move(g.p, g.a, b, q, accq);
                        // A state's labels rise in latency and accuracy, and so do their terminals.
                        int hint = -2;
                        runs_.push_back(cands_.size());
                        for (std::int32_t i = g.begin; i < g.end; ++i) {
                            if (skip_[i - base] >> b & 1u) continue;
                            const Label& l = arena_[i];
                            const double x = m.through(l.lat);
                            terminal(x + m.result_end, l.acc + m.acc_end, i, q, b, hint);
                            if (cont) cands_.push_back({x + m.result_cont, l.acc + m.acc_cont, i});
                        }
                    }
                    if (cont) keep_state(q, b, used | 1u << b);
                }
            }
        }
        account();
    }

    // The candidates of state (q, b, used) that no label of the state, nor of a state with fewer tiers,
    // dominates become its labels.
    void keep_state(int q, int b, std::uint32_t used) {
        if (cands_.empty()) return;
        candidates_ += cands_.size();
        keep_nondominated(cands_, runs_, merged_);
        drop_dominated_by_subsets(q, b, used);
        const std::size_t w = cands_.size();
        if (w == 0) return;
        make_room(arena_, arena_.size() + w);
        make_room(next_, next_.size() + 1);
        labels_ += w;
        const auto begin = static_cast<std::int32_t>(arena_.size());
        for (std::size_t i = 0; i < w; ++i)
            arena_.push_back({cands_[i].lat, cands_[i].acc, cands_[i].parent, static_cast<std::int16_t>(q),
                              static_cast<std::int8_t>(b)});
        next_.push_back({q, b, used, begin, static_cast<std::int32_t>(arena_.size())});
    }

    // The group of cur_ at state (p, a, used), or null.
    const Group* find_group(std::uint32_t used, int p, int a) const {
        auto run = std::lower_bound(layer_runs_.begin(), layer_runs_.end(), used,
                                    [this](const Run& r, std::uint32_t u) { return cur_[r.begin].used < u; });
        if (run == layer_runs_.end() || cur_[run->begin].used != used) return nullptr;
        auto g = std::lower_bound(cur_.begin() + run->begin, cur_.begin() + run->end, p,
                                  [](const Group& x, int v) { return x.p < v; });
        for (; g != cur_.begin() + run->end && g->p == p; ++g)
            if (g->a == a) return &*g;
        return nullptr;
    }

    // A label at (q, b, U) weakly dominates one at (q, b, U') with U inside U' as well: every completion
    // of the second is open to the first. Checked against the states of the layer before, U' less one tier.
    void drop_dominated_by_subsets(int q, int b, std::uint32_t used) {
        for (std::uint32_t rest = used & ~(1u << b); rest != 0 && !cands_.empty(); rest &= rest - 1) {
            const Group* g = find_group(used & ~(rest & (~rest + 1u)), q, b);
            if (g != nullptr) drop_dominated_by(cands_, arena_.data() + g->begin, arena_.data() + g->end);
        }
    }

    // Drops the labels of a layer whose completions the frontier already dominates. The groups must be
    // in the order their labels were made: the layer is the arena's tail, compacted in place.
    void prune(std::vector<Group>& groups) {
        if (groups.empty()) return;
        std::int32_t w = groups.front().begin;
        std::size_t gw = 0;
        for (std::size_t gi = 0; gi < groups.size(); ++gi) {
            const Group g = groups[gi];
            const std::int32_t begin = w;
            if (cancelled()) {  // the answer is dropped: stop here
                groups.clear();
                return;
            }
            for (std::int32_t i = g.begin; i < g.end; ++i) {
                if (label_dominated(arena_[i])) {
                    ++pruned_;
                } else {
                    arena_[w++] = arena_[i];
                }
            }
            if (w > begin) groups[gw++] = {g.p, g.a, g.used, begin, w};
        }
        groups.resize(gw);
        arena_.resize(w);
    }
};

}  // namespace

void SearchOptions::check() const {
    if (std::isnan(min_accuracy)) throw std::invalid_argument("min_accuracy = nan: must be a number");
    if (std::isnan(max_latency)) throw std::invalid_argument("max_latency = nan: must be a number");
    check_threads(threads);
    if (max_memory == 0) throw std::invalid_argument("max_memory = 0: must be a positive number of bytes");
    check_time_limit(time_limit);
    check_quantile(quantile);
}

std::vector<SearchPoint> pareto_search(const Tables& T, const SearchOptions& opt, const Poll& poll,
                                       SearchStats* stats, const std::atomic<bool>* here) {
    opt.check();
    if (opt.quantile > 0) return quantile_pareto_search(T, opt, poll, stats, here);
    return exact_pareto_search<MeanSearch>(T, opt, poll, stats, here);
}

}  // namespace eepart
