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
// With energy (docs/model.md "Energy": a bound max_energy, the 3-objective frontier) a label
// also carries its energy's terms so far, summed as the latency's on the energy view of the tables, and
// dominance within a state is on all three (labels.hpp). A label is pruned when its energy plus a lower
// bound on what its completions add (the same relaxed programme on the energy view) passes max_energy; for
// the 2-D frontier as above against the staircase; for the 3-D frontier when a point found
// (front3.hpp) is at or beyond the corner (latency lower bound, accuracy upper bound, energy lower bound)
// of its completions.
//
// Work and memory: a layer's candidates are (labels of the layer before) x (later ends) x (free tiers);
// the labels kept are what dominance and the bounds leave, which on realistic profiles is a small
// fraction, but in the worst case (identical tiers, free links) grows like N M 2^M. The memory of
// labels and candidates is counted against max_memory, and passing it is an error, not an exhaustion.
#include "search.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <limits>
#include <string>

#include <type_traits>
#include <utility>

#include "bounds.hpp"
#include "engine.hpp"
#include "exact_search.hpp"
#include "front3.hpp"
#include "labels.hpp"
#include "quantile.hpp"
#include "quantile_search.hpp"

namespace eepart {
namespace {

struct MeanShared : SearchShared {
    std::vector<double> lam;  // the lambdas of the scalarised bounds
    const Tables E;           // the energy view (the tables themselves where they carry no energy)
    SharedFront3 found3;      // the 3-D frontier found so far
    // Where the energy is only bounded (the 2-D frontier with max_energy): the energy view with its
    // compute, forward and result negated, whose relaxed programme's lower bound is minus an upper bound
    // on the energy a completion adds (the same code, the max for the min).
    const bool bounded;
    std::vector<double> neg_compute, neg_forward, neg_result;
    Tables Eneg;

    MeanShared(const Tables& t, const SearchOptions& o)
        : SearchShared(t, o, "search"), E(t.has_energy() ? t.energy_view() : t),
          bounded(t.has_energy() && o.goal != SearchGoal::Frontier3 && std::isfinite(o.max_energy)), Eneg(E) {
        if (bounded) {
            auto negated = [](const double* v, std::size_t n, std::vector<double>& out) {
                out.resize(n);
                for (std::size_t i = 0; i < n; ++i) out[i] = -v[i];
                return out.data();
            };
            const std::size_t N1 = static_cast<std::size_t>(t.N) + 1, M = static_cast<std::size_t>(t.M);
            Eneg.compute_cost = negated(E.compute_cost, M * N1 * N1, neg_compute);
            Eneg.forward_cost = negated(E.forward_cost, static_cast<std::size_t>(t.N) * M * M, neg_forward);
            Eneg.result_cost = negated(E.result_cost, M, neg_result);
        }
        // Each lambda adds a lane to a relaxed programme of N^2 M per threshold; large instances take fewer.
        // The scalarised bounds are the 2-D frontier's: the 3-D one tests corners.
        if (lmax > 1 && o.goal != SearchGoal::Frontier3) {
            const double per_lambda = static_cast<double>(t.N) * t.N * t.M * t.K;
            int most = 0;
            while (most < kMaxLambdas && (most + 2) * per_lambda < 4e9) ++most;
            lam = choose_lambdas(t, most);
        }
    }
};

// The mean latency's policy: a label is (lat, acc), the mean's terms so far, or with kEnergy (lat, acc,
// en); dominance within a state is on those; the bounds are the relaxed programmes of bounds.hpp.
template <bool kEnergy>
class MeanSearch : public ThresholdSearch<MeanSearch<kEnergy>, std::conditional_t<kEnergy, Label3, Label>, MeanShared> {
    using L = std::conditional_t<kEnergy, Label3, Label>;
    using C = std::conditional_t<kEnergy, Cand3, Cand>;
    using Base = ThresholdSearch<MeanSearch<kEnergy>, L, MeanShared>;
    friend Base;
    using Base::arena_, Base::c_, Base::candidates_, Base::labels_, Base::local_, Base::M_, Base::N_,
        Base::pruned_, Base::S_, Base::sh_, Base::t_, Base::T_, Base::terminals_;
    using Base::account, Base::cancelled, Base::first_move, Base::make_room, Base::move;

   public:
    using Shared = MeanShared;
    static constexpr bool kSeedsCarryMean = false;
    // Milliseconds at most: a thread and a Ctrl-C poll would not pay.
    static bool on_this_thread(const Tables& T) { return static_cast<double>(T.K) * T.N * T.N * T.M * T.M < 2e5; }

    explicit MeanSearch(Shared& sh)
        : Base(sh), three_(sh.opt.goal == SearchGoal::Frontier3), first_only_(sh.opt.goal == SearchGoal::MinEnergy),
          eslack_(bound_slack(sh.E.latency_bound, 0.0)) {}

    // With energy: the single-partition plans meeting every bound seed the frontier (with their energy),
    // and the answer is the goal's.
    static void seed(const Tables& T, const SearchOptions& opt, Shared& sh) {
        if constexpr (!kEnergy) {
            Base::seed(T, opt, sh);
        } else {
            for (int q = 1; q <= T.N; ++q)
                for (int b = 0; b < T.M; ++b) {
                    SearchPoint p = single_partition(T, q, b);
                    p.energy = single_partition(sh.E, q, b).latency;  // the same sums on the energy view
                    if (!(p.latency <= opt.max_latency && p.accuracy >= opt.min_accuracy && p.energy <= opt.max_energy))
                        continue;
                    if (opt.goal != SearchGoal::Frontier3)
                        sh.found.frontier.insert(p, sh.found.frontier.last_at_or_before(p.latency));
                    else
                        sh.found3.front.insert(p);
                }
        }
    }
    static std::vector<SearchPoint> answer(Shared& sh) {
        switch (sh.opt.goal) {
            case SearchGoal::Frontier3: sh.found3.front.flush(); return apply_tolerance3(sh.found3.front.pts);
            default: return Base::answer(sh);
        }
    }

   private:
    const bool three_;       // the 3-D frontier: front_ in place of the staircase
    // min_energy (on the swapped tables): only the frontier's first point is asked, so a label none of
    // whose completions can come first (latency bound past the staircase's first point) goes too.
    const bool first_only_;
    const double eslack_;  // the energy bound's slack
    RelaxedBounds bounds_;
    RelaxedBounds ebounds_;  // with energy: the same programmes on the energy view (lane 0, no lambdas)
    RelaxedBounds eubounds_;  // a bounded energy: on the negated energy view (MeanShared::Eneg)
    LocalFront3 front_;
    std::vector<std::uint16_t> skip_;     // per label of cur_: next tiers whose completions are dominated
    std::vector<Group> cur_, next_;  // a layer's states, sorted by (used, p)
    std::vector<C> cands_, merged_;  // one state's candidates, one run per source group
    std::vector<std::size_t> runs_;     // where each run starts in cands_, and the end
    struct Run {
        std::size_t begin, end, cut;  // groups of cur_ [begin, end) share `used`; [begin, cut) have p < q
        std::size_t labels;           // labels in [begin, cut)
    };
    std::vector<Run> layer_runs_;       // cur_ by `used`, rising

    void begin_threshold() {
        bounds_.compute(T_, t_, c_, S_, sh_.lam);
        if constexpr (kEnergy) {
            static const std::vector<double> no_lambdas;  // the energy's bound is lane 0 alone
            ebounds_.compute(sh_.E, t_, c_, S_, no_lambdas);
            if (sh_.bounded) eubounds_.compute(sh_.Eneg, t_, c_, S_, no_lambdas);
            if (three_) {
                front_.reset();
                front_.sync(sh_.found3);
            }
        }
    }
    bool has_labels() const { return !cur_.empty(); }

    // With the threshold's c and S, as this search always counted them (the quantile's never did).
    std::size_t bytes() const {
        return (cands_.capacity() + merged_.capacity()) * sizeof(C) +
               (cur_.capacity() + next_.capacity()) * sizeof(Group) + skip_.capacity() * sizeof(std::uint16_t) +
               runs_.capacity() * sizeof(std::size_t) + layer_runs_.capacity() * sizeof(Run) + bounds_.bytes() +
               ebounds_.bytes() + eubounds_.bytes() + front_.front.bytes() + front_.fresh.capacity() * sizeof(SearchPoint) +
               (c_.capacity() + S_.capacity()) * sizeof(double);
    }

    // With energy, whether the completions of a label at (q, a) that add at least `lat_add` latency and
    // `en_add` energy (lower bounds, before slack) and at most acc_ub(q) accuracy are all out of bounds, or
    // (3-D frontier) all dominated by a point found. `two_d`: the 2-D frontier's own test.
    template <class TwoD>
    bool energy_dominated(const L& l, double lat_add, double en_add, TwoD two_d) const {
        const double e0 = l.en + en_add - eslack_;
        if (e0 > sh_.opt.max_energy) return true;
        if (!three_) return two_d();
        const double x0 = l.lat + lat_add - bounds_.latency_slack();
        const double y1 = l.acc + bounds_.added_accuracy_upper(l.q) + kSlack;
        return x0 > sh_.opt.max_latency || y1 < sh_.opt.min_accuracy || front_.front.dominates_corner(x0, y1, e0);
    }

    // min_energy: does a latency lower bound (before the slack) pass the first point found?
    bool past_first(double lat_lower) const {
        return first_only_ && local_.stair.size() > 0 && lat_lower - bounds_.latency_slack() > local_.stair.lat[0];
    }

    bool label_dominated(const L& l) const {
        auto two_d = [&] {
            return past_first(l.lat + bounds_.added_latency_lower(l.q, l.tier)) ||
                   bounds_.label_dominated(local_.stair, l.lat, l.acc, l.q, l.tier, sh_.opt.min_accuracy,
                                           sh_.opt.max_latency);
        };
        if constexpr (kEnergy)
            return energy_dominated(l, bounds_.added_latency_lower(l.q, l.tier),
                                    ebounds_.added_latency_lower(l.q, l.tier), two_d);
        else
            return two_d();
    }

    // The next tiers b whose completions (next partition on b) are all dominated already.
    std::uint16_t dominated_next_tiers(const L& l, std::uint32_t used) const {
        std::uint16_t mask = 0;
        const double S = S_[l.q];
        for (int b = 0; b < M_; ++b) {
            if (used >> b & 1u) continue;
            const double fwd = S * T_.forward(l.q, l.tier, b);
            auto two_d = [&] {
                return past_first(l.lat + (fwd + bounds_.added_latency_lower_next(l.q, b))) ||
                       bounds_.next_tier_dominated(local_.stair, l.lat, l.acc, l.q, b, fwd, sh_.opt.min_accuracy,
                                                   sh_.opt.max_latency);
            };
            bool dominated;
            if constexpr (kEnergy)
                dominated = energy_dominated(l, fwd + bounds_.added_latency_lower_next(l.q, b),
                                             S * sh_.E.forward(l.q, l.tier, b) + ebounds_.added_latency_lower_next(l.q, b),
                                             two_d);
            else
                dominated = two_d();
            if (dominated) mask |= std::uint16_t(1u << b);
        }
        return mask;
    }

    // The latency is the mean itself: the points carry no other (SearchPoint::mean 0). With energy, a plan
    // over max_energy is no answer; the 3-D frontier offers the others to front_.
    void terminal(double lat, double acc, std::int32_t parent, int q, int b, int& hint, double en) {
        if constexpr (kEnergy) {
            if (!(en <= sh_.opt.max_energy)) {
                ++terminals_;
                return;
            }
            if (three_) {
                ++terminals_;
                if (!(lat <= sh_.opt.max_latency && acc >= sh_.opt.min_accuracy)) return;
                if (front_.front.beaten(lat, acc, en)) return;
                SearchPoint p = chain_point(arena_, t_, lat, acc, parent, q, b);
                p.energy = en;
                front_.insert(p);
                return;
            }
        }
        Base::terminal(lat, acc, 0.0, parent, q, b, hint, en);
    }

    // Shares the 3-D frontier's finds after each layer (the staircase's are the skeleton's).
    void share() {
        if constexpr (kEnergy)
            if (three_) front_.sync(sh_.found3, true);
    }

    static L label(double lat, double acc, std::int32_t parent, int q, int b, [[maybe_unused]] double en) {
        if constexpr (kEnergy)
            return {lat, acc, parent, static_cast<std::int16_t>(q), static_cast<std::int8_t>(b), en};
        else
            return {lat, acc, parent, static_cast<std::int16_t>(q), static_cast<std::int8_t>(b)};
    }
    static C cand(double lat, double acc, std::int32_t parent, [[maybe_unused]] double en) {
        if constexpr (kEnergy)
            return {lat, acc, parent, en};
        else
            return {lat, acc, parent};
    }
    static double energy_of(const C& c) {
        if constexpr (kEnergy) return c.en;
        else return 0.0;
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
                double en_end = 0, en_cont = 0;
                if constexpr (kEnergy) {
                    const Move em = first_move(sh_.E, q, b, 0.0);
                    en_end = em.through() + em.result_end;
                    en_cont = em.through() + em.result_cont;
                }
                int hint = -2;
                terminal(x + m.result_end, 0.0 + m.acc_end, -1, q, b, hint, en_end);
                if (cont && q < N_) {
                    cur_.push_back({q, b, 1u << b, static_cast<std::int32_t>(arena_.size()),
                                    static_cast<std::int32_t>(arena_.size() + 1)});
                    arena_.push_back(label(x + m.result_cont, 0.0 + m.acc_cont, -1, q, b, en_cont));
                }
            }
        }
        labels_ += arena_.size();
        candidates_ += arena_.size();
        share();
        prune(cur_);
        sort_groups(cur_);
    }

    void next_layer(int layer) {
        expand(layer);
        share();
        prune(next_);
        sort_groups(next_);
        cur_.swap(next_);
    }

    // Layer L+1 from layer L, into next_. A state (q, b, U') of the new layer draws on the states
    // (p < q, a, U' - b) of the old one only: one run of cur_ (same `used`), cut at p < q.
    void expand(int layer) {
        next_.clear();
        const bool cont_possible = layer + 1 < sh_.lmax;
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
                        [[maybe_unused]] Move em{};
                        if constexpr (kEnergy) em = move(sh_.E, g.p, g.a, b, q, 0.0);
                        // A state's labels rise in latency (and without energy in accuracy), and so do
                        // their terminals.
                        int hint = -2;
                        runs_.push_back(cands_.size());
                        for (std::int32_t i = g.begin; i < g.end; ++i) {
                            if (skip_[i - base] >> b & 1u) continue;
                            const L& l = arena_[i];
                            const double x = m.through(l.lat);
                            double en_end = 0, en_cont = 0;
                            if constexpr (kEnergy) {
                                const double e = em.through(l.en);
                                en_end = e + em.result_end;
                                en_cont = e + em.result_cont;
                            }
                            terminal(x + m.result_end, l.acc + m.acc_end, i, q, b, hint, en_end);
                            if (!cont) continue;
                            const double lat_cont = x + m.result_cont, acc_cont = l.acc + m.acc_cont;
                            // With energy most labels fall to the bounds, and their 3-D dominance costs more
                            // than the 2-D one: the bounds are asked first, before the state's dominance.
                            if constexpr (kEnergy) {
                                if (label_dominated(label(lat_cont, acc_cont, i, q, b, en_cont))) {
                                    ++pruned_;
                                    continue;
                                }
                            }
                            cands_.push_back(cand(lat_cont, acc_cont, i, en_cont));
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
        if constexpr (kEnergy) {
            const double floor = energy_floor(q, b);
            keep_nondominated(cands_, runs_, merged_, floor);
            drop_dominated_by_subsets(q, b, used, floor);
        } else {
            keep_nondominated(cands_, runs_, merged_);
            drop_dominated_by_subsets(q, b, used);
        }
        const std::size_t w = cands_.size();
        if (w == 0) return;
        make_room(arena_, arena_.size() + w);
        make_room(next_, next_.size() + 1);
        labels_ += w;
        const auto begin = static_cast<std::int32_t>(arena_.size());
        for (std::size_t i = 0; i < w; ++i)
            arena_.push_back(label(cands_[i].lat, cands_[i].acc, cands_[i].parent, q, b, energy_of(cands_[i])));
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
    // `floor`, with energy: as keep_nondominated's.
    template <class... Floor>
    void drop_dominated_by_subsets(int q, int b, std::uint32_t used, Floor... floor) {
        for (std::uint32_t rest = used & ~(1u << b); rest != 0 && !cands_.empty(); rest &= rest - 1) {
            const Group* g = find_group(used & ~(rest & (~rest + 1u)), q, b);
            if (g != nullptr) drop_dominated_by(cands_, arena_.data() + g->begin, arena_.data() + g->end, floor...);
        }
    }

    // The energy at or under which a label at (q, b) meets max_energy with every completion (an upper bound
    // on what they add, with the slack); -inf where the energy is an objective, +inf where it is neither an
    // objective nor bounded (min_energy without a latency bound: the 2-D dominance).
    double energy_floor(int q, int b) const {
        if (three_) return -kBoundInf;
        if (sh_.opt.max_energy == kBoundInf) return kBoundInf;
        if (!sh_.bounded) return -kBoundInf;
        return (sh_.opt.max_energy + eubounds_.added_latency_lower(q, b)) - eslack_;
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

// Each returned point's energy, evaluated on the energy view (the search did not carry it).
void fill_energy(const Tables& T, std::vector<SearchPoint>& pts) {
    const Tables E = T.energy_view();
    for (SearchPoint& p : pts) {
        std::int64_t P[kMaxTiers], A[kMaxTiers];
        for (int k = 0; k < p.num_partitions; ++k) {
            P[k] = p.partitions[k];
            A[k] = p.placement[k];
        }
        double accuracy;
        evaluate_row(E, p.threshold_index, p.num_partitions, P, A, p.energy, accuracy);
    }
}

const char* energy_goal_name(const SearchOptions& opt) {
    switch (opt.goal) {
        case SearchGoal::Frontier3: return "the 3-objective frontier";
        case SearchGoal::MinEnergy: return "min_energy";
        default: return "max_energy";
    }
}

// min_energy is P_lat with energy for latency: the first point of the frontier of (energy, accuracy) with
// accuracy >= min_accuracy and latency <= max_latency, found by the 2-D search bounded in its third
// coordinate on the tables with energy and latency swapped (so it has the scalarised bounds and the
// staircase of the 2-D frontier); max_energy then cuts that one plan.
std::vector<SearchPoint> min_energy_search(const Tables& T, const SearchOptions& opt, const Poll& poll,
                                           SearchStats* stats, const std::atomic<bool>* here) {
    SearchOptions o = opt;
    o.max_energy = opt.max_latency;
    o.max_latency = std::numeric_limits<double>::infinity();
    std::vector<SearchPoint> pts = exact_pareto_search<MeanSearch<true>>(T.swapped_view(), o, poll, stats, here);
    if (pts.size() > 1) pts.resize(1);
    for (SearchPoint& p : pts) std::swap(p.latency, p.energy);
    if (!pts.empty() && !(pts[0].energy <= opt.max_energy)) pts.clear();
    return pts;
}

}  // namespace

void SearchOptions::check() const {
    if (std::isnan(min_accuracy)) throw std::invalid_argument("min_accuracy = nan: must be a number");
    if (std::isnan(max_latency)) throw std::invalid_argument("max_latency = nan: must be a number");
    if (std::isnan(max_energy)) throw std::invalid_argument("max_energy = nan: must be a number (or +-inf)");
    check_threads(threads);
    if (max_memory == 0) throw std::invalid_argument("max_memory = 0: must be a positive number of bytes");
    check_time_limit(time_limit);
    check_quantile(quantile);
}

std::vector<SearchPoint> pareto_search(const Tables& T, const SearchOptions& opt, const Poll& poll,
                                       SearchStats* stats, const std::atomic<bool>* here) {
    opt.check();
    if (opt.asks_energy()) {
        if (!T.has_energy())
            throw std::invalid_argument(std::string(energy_goal_name(opt)) +
                                        ": the tables carry no energy tables (give energy= with them)");
        if (opt.quantile > 0)
            throw std::invalid_argument("quantile = " + std::to_string(opt.quantile) + ": " + energy_goal_name(opt) +
                                        " takes the mean latency only (the quantile search carries no energy)");
        if (opt.goal == SearchGoal::MinEnergy) return min_energy_search(T, opt, poll, stats, here);
        return exact_pareto_search<MeanSearch<true>>(T, opt, poll, stats, here);
    }
    std::vector<SearchPoint> pts = opt.quantile > 0 ? quantile_pareto_search(T, opt, poll, stats, here)
                                                    : exact_pareto_search<MeanSearch<false>>(T, opt, poll, stats, here);
    if (T.has_energy()) fill_energy(T, pts);
    return pts;
}

}  // namespace eepart
