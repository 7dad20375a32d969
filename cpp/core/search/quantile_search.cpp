// Exact Pareto search of (q-quantile latency, accuracy): a dynamic programme over partial plans like the
// mean's (search.cpp), with the dominance and the bounds that hold for a quantile.
//
// A quantile is not a sum, so a partial plan (a *label*: partitions so far, the last ending at block q on
// tier a, tiers U used, and continuing) carries more than two numbers: its clock d (the time a sample
// staying on reaches the end of the last partition's blocks), its accuracy terms so far, and the latency
// and share of each of its exits. Every completion adds the same exits, at d + (the same additions), with
// the same shares, whatever came before. So label A dominates label B of the same state when
//   d_A <= d_B, acc_A >= acc_B, and at every exit latency v of B where B's share at or below v, F_B(v),
//   could still matter (F_B(v) >= theta - S_q: the samples still to leave, S_q = 1 - c_q, could lift it
//   to theta), F_A(v) >= F_B(v) or F_A(v) >= theta;
// then for any completion A's share at or below any v is at least B's (or at least theta), hence A's
// quantile is at most B's, and its accuracy at least B's. The shares are summed in exit order in every
// check, as the rule sums them, and IEEE addition is monotone, so the dominance is exact.
//
// Of the plans reaching one point exactly, the one of least mean latency is returned, then the first in
// canonical order (staircase.hpp's tie_less): so A must also owe no more of the mean (its terms so far,
// summed as the mean search sums them), and its partial plan must come first in canonical order, which is
// the order of any two completions of A and B that add the same partitions.
//
// A label is pruned when the frontier found so far dominates the box of its completions: latency at
// least LB (below), accuracy at most acc + (the most any completion can add, relaxed over tiers). LB:
// every later exit is at least d + (the cheapest next move, compute and result), so no completion's
// share at or below v exceeds F(v) + S_q [v >= that]; the least v where this reaches theta bounds the
// quantile from below.
//
// Terminal plans are evaluated by the rule itself (quantile.hpp) on exits summed as evaluate sums them,
// so every returned latency is bit for bit what evaluate gives. This file is the quantile's policy of the
// exact searches' skeleton (exact_search.hpp: the layers, the threads sharing the frontier, the memory count).
#include "quantile_search.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "bounds_math.hpp"
#include "exact_search.hpp"
#include "quantile.hpp"

namespace eepart {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// The LB of a label is lowered by this relative margin, and mass tests get this absolute one: far above
// the rounding of the sums they bound (~1e-15), far below any real gap.
constexpr double kBoundMargin = 1e-9;

struct QLabel {
    double d, acc, mean;  // mean: the mean latency's terms so far (the mean search's label latency)
    double lb;            // quantile_lower_bound of its completions
    std::int32_t parent;  // arena index of the previous partition's label, -1 for the first
    std::int32_t exits;   // offset of its exits in ell_ / share_; a label of layer k has k of them
    std::uint32_t used;
    std::int16_t q;
    std::int8_t tier;
    bool pruned;
};

struct QCand {
    double d, acc, mean, ell, share;  // ell, share: the new partition's exit
    std::int32_t parent;
    std::uint32_t used;
    std::int16_t q;
    std::int8_t tier;
};

struct QShared : SearchShared {
    double theta = 1;
    std::vector<double> next_lb;      // [q][a]: least time from d to any later exit
    std::vector<double> min_compute;  // [b][p]: least compute_cost[b][p][r] over r > p
    double min_result = 0;            // least result_cost

    QShared(const Tables& t, const SearchOptions& o);
};

// The cheapest ways on, in `sh`: min_compute[b][p] = min over r > p of compute(b, p, r); min_result; and
// next_lb[q][a] = min over b != a of forward(q, a, b) + min_compute[b][q], plus min_result: every exit after
// a partition ending at q on a is at least this much after its clock d.
void cheapest_ways_on(const Tables& T, QShared& sh) {
    const std::size_t N1 = static_cast<std::size_t>(T.N) + 1;
    sh.min_result = kInf;
    for (int b = 0; b < T.M; ++b) sh.min_result = std::min(sh.min_result, T.result(b));
    sh.min_compute.assign(T.M * N1, kInf);
    for (int b = 0; b < T.M; ++b)
        for (int p = 0; p < T.N; ++p)
            for (int r = p + 1; r <= T.N; ++r) {
                double& m = sh.min_compute[b * N1 + p];
                m = std::min(m, T.compute(b, p, r));
            }
    sh.next_lb.assign(N1 * T.M, kInf);
    for (int q = 1; q < T.N; ++q)
        for (int a = 0; a < T.M; ++a)
            for (int b = 0; b < T.M; ++b)
                if (b != a) {
                    double& o = sh.next_lb[static_cast<std::size_t>(q) * T.M + a];
                    o = std::min(o, T.forward(q, a, b) + sh.min_compute[b * N1 + q] + sh.min_result);
                }
}

QShared::QShared(const Tables& t, const SearchOptions& o) : SearchShared(t, o, "quantile search") {
    theta = quantile_theta(o.quantile);
    cheapest_ways_on(t, *this);
}

// The quantile's policy: a label carries its clock, its exits and its mean; dominance within a state is
// the rule above; the bounds are quantile_lower_bound and acc_ub_.
class QuantileSearch : public ThresholdSearch<QuantileSearch, QLabel, QShared> {
    using Base = ThresholdSearch<QuantileSearch, QLabel, QShared>;
    friend Base;

   public:
    using Shared = QShared;
    // A single partition has one exit: its quantile is its latency, and its mean too.
    static constexpr bool kSeedsCarryMean = true;
    // Even when small: a quantile search's labels cost far more than the mean's, and only parallel_for's
    // waiting thread enforces time_limit and Ctrl-C.
    static bool on_this_thread(const Tables&) { return false; }

    explicit QuantileSearch(Shared& sh) : Base(sh) {}

   private:
    std::vector<double> acc_ub_;
    std::vector<double> ell_, share_;  // the labels' exits
    std::size_t layer_begin_ = 0, layer_end_ = 0;  // the current layer in arena_
    std::vector<QCand> cands_;
    double ex_ell_[kMaxTiers], ex_share_[kMaxTiers];

    void begin_threshold() {
        // acc_ub_[q]: the most accuracy a completion of a label ending at q adds (tiers relaxed).
        acc_ub_.assign(N_ + 1, -kInf);
        for (int q = N_ - 1; q >= 1; --q)
            for (int r = q + 1; r <= N_; ++r)
                acc_ub_[q] = acc_ub_step(acc_ub_[q], S_[q], c_[r] - c_[q], T_.acc(t_, r), acc_ub_[r], r == N_);
        ell_.clear();
        share_.clear();
    }
    bool has_labels() const { return layer_end_ > layer_begin_; }

    std::size_t bytes() const {
        return cands_.capacity() * sizeof(QCand) + (ell_.capacity() + share_.capacity()) * sizeof(double);
    }

    // The exits of a label followed by one more exit, into ex_ell_ / ex_share_; returns their number.
    int gather(std::int32_t label, int k, double ell, double share) {
        if (label >= 0) {
            const QLabel& l = arena_[label];
            std::copy(ell_.begin() + l.exits, ell_.begin() + l.exits + k, ex_ell_);
            std::copy(share_.begin() + l.exits, share_.begin() + l.exits + k, ex_share_);
        }
        ex_ell_[k] = ell;
        ex_share_[k] = share;
        return k + 1;
    }

    // Share at or below v of n exits, summed in exit order as the rule sums it.
    static double mass_at(const double* ell, const double* share, int n, double v) {
        double m = 0.0;
        for (int j = 0; j < n; ++j)
            if (ell[j] <= v) m += share[j];
        return m;
    }

    // Lower bound on the quantile of every completion of a label (n exits, clock d, at block q on tier a).
    double quantile_lower_bound(const double* ell, const double* share, int n, double d, int q, int a) const {
        const double later = (d + sh_.next_lb[static_cast<std::size_t>(q) * M_ + a]) * (1.0 - kBoundMargin);
        return quantile_lower_bound(ell, share, n, later, q);
    }

    // The same, given `later`: a lower bound on every exit after the n of a label ending at q.
    double quantile_lower_bound(const double* ell, const double* share, int n, double later, int q) const {
        const double need = sh_.theta - kBoundMargin;
        double best = mass_at(ell, share, n, later) + S_[q] >= need ? later : kInf;
        for (int k = 0; k < n; ++k) {
            if (!(ell[k] < best)) continue;
            double m = mass_at(ell, share, n, ell[k]);
            if (ell[k] >= later) m += S_[q];
            if (m >= need) best = ell[k];
        }
        return best < kInf ? best : later;  // (the total share is 1: reached by the last value at least)
    }

    bool box_dominated(double lb, double acc, int q) const {
        return region_dominated(local_.stair, lb, acc + acc_ub_[q] + kSlack, nullptr, nullptr, 0, sh_.opt.min_accuracy,
                                sh_.opt.max_latency);
    }

    // Is a complete plan of accuracy `acc`, whose quantile is at least `lb`, dominated by a point of the
    // frontier found so far? Strictly faster only: a point it could tie with may be beaten on the mean.
    bool terminal_dominated(double lb, double acc) const {
        int i = local_.stair.last_at_or_before(lb);
        while (i >= 0 && !(local_.stair.lat[i] < lb)) --i;
        return i >= 0 && local_.stair.acc[i] >= acc;
    }

    // A complete plan: the exits in ex_*, n of them, its mean latency `mean`.
    void terminal(int n, double acc, double mean, std::int32_t parent, int q, int b) {
        int hint = -2;
        Base::terminal(quantile_of_exits(ex_ell_, ex_share_, n, sh_.theta), acc, mean, parent, q, b, hint);
    }

    // A continuing candidate, its exits in ex_*, n of them: kept unless the frontier dominates its box.
    void candidate(int n, double d, double acc, double mean, std::int32_t parent, std::uint32_t used, int q, int b) {
        ++candidates_;
        if (box_dominated(quantile_lower_bound(ex_ell_, ex_share_, n, d, q, b), acc, q)) {
            ++pruned_;
            return;
        }
        make_room(cands_, cands_.size() + 1);
        cands_.push_back({d, acc, mean, ex_ell_[n - 1], ex_share_[n - 1], parent, used, static_cast<std::int16_t>(q),
                          static_cast<std::int8_t>(b)});
    }

    void first_layer() {
        const bool cont = sh_.lmax > 1;
        cands_.clear();
        for (int q = 1; q <= N_; ++q) {
            const double accq = T_.acc(t_, q);
            for (int b = 0; b < M_; ++b) {
                const double d = T_.input(b) + T_.compute(b, 0, q);
                const double ell = d + T_.result(b);
                const Move m = first_move(q, b, accq);
                const double x = m.through();
                terminal(gather(-1, 0, ell, S_[0]), 0.0 + m.acc_end, x + m.result_end, -1, q, b);
                if (cont && q < N_)
                    candidate(gather(-1, 0, ell, c_[q] - c_[0]), d, 0.0 + m.acc_cont, x + m.result_cont, -1, 1u << b,
                              q, b);
            }
        }
        keep_layer(1);
    }

    // Layer L + 1 from the labels of layer L.
    void next_layer(int L) {
        const bool cont_possible = L + 1 < sh_.lmax;
        cands_.clear();
        // The frontier may have grown since the labels were kept: prune again first.
        for (std::size_t i = layer_begin_; i < layer_end_; ++i) {
            QLabel& l = arena_[i];
            const double* e = ell_.data() + l.exits;
            const double* s = share_.data() + l.exits;
            l.lb = quantile_lower_bound(e, s, L, l.d, l.q, l.tier);
            if (box_dominated(l.lb, l.acc, l.q)) {
                l.pruned = true;
                ++pruned_;
            }
        }
        for (std::size_t i = layer_begin_; i < layer_end_; ++i) {
            if (cancelled()) return;
            if (arena_[i].pruned) continue;
            const QLabel l = arena_[i];
            const int p = l.q, a = l.tier;
            const double* le = ell_.data() + l.exits;
            const double* ls = share_.data() + l.exits;
            for (int b = 0; b < M_; ++b) {
                if (l.used >> b & 1u) continue;
                // The bound of l's completions whose next partition is on b: skip b when it prunes them all.
                const double cheapest = sh_.min_compute[static_cast<std::size_t>(b) * (N_ + 1) + p] + sh_.min_result;
                const double later = (l.d + T_.forward(p, a, b) + cheapest) * (1.0 - kBoundMargin);
                const double lb = quantile_lower_bound(le, ls, L, later, p);
                if (box_dominated(lb, l.acc, p)) continue;
                for (int q = p + 1; q <= N_; ++q) {
                    const bool cont = cont_possible && q < N_;
                    const Move m = move(p, a, b, q, T_.acc(t_, q));
                    const double d = (l.d + T_.forward(p, a, b)) + T_.compute(b, p, q);
                    const double ell = d + T_.result(b);
                    const double x = m.through(l.mean);
                    const auto self = static_cast<std::int32_t>(i);
                    // Terminals and candidates are completions of l on b: lb holds for them, and spares most of
                    // them their own exits.
                    const double acc_end = l.acc + m.acc_end;
                    if (terminal_dominated(lb, acc_end))
                        ++terminals_;
                    else
                        terminal(gather(self, L, ell, S_[p]), acc_end, x + m.result_end, self, q, b);
                    if (!cont) continue;
                    const double acc_cont = l.acc + m.acc_cont;
                    if (box_dominated(lb, acc_cont, q)) {
                        ++candidates_;
                        ++pruned_;
                        continue;
                    }
                    candidate(gather(self, L, ell, c_[q] - c_[p]), d, acc_cont, x + m.result_cont, self,
                              l.used | 1u << b, q, b);
                }
            }
        }
        keep_layer(L + 1);
    }

    // Is the partial plan of label `x` before that of candidate `y` (parent `y_parent`) in the canonical
    // order (P, then A, lexicographic)? Both end at the same block and tier, and their completions add the
    // same partitions, so this is the order of any two of their completions that tie: the one kept.
    bool prefix_before(std::int32_t x, std::int32_t y_parent, int n) const {
        int xq[kMaxTiers], xa[kMaxTiers], yq[kMaxTiers], ya[kMaxTiers];
        for (int k = n - 1; k >= 0; --k, x = arena_[x].parent) {
            xq[k] = arena_[x].q;
            xa[k] = arena_[x].tier;
        }
        for (int k = n - 2; k >= 0; --k, y_parent = arena_[y_parent].parent) {
            yq[k] = arena_[y_parent].q;
            ya[k] = arena_[y_parent].tier;
        }
        for (int k = 0; k + 1 < n; ++k)
            if (xq[k] != yq[k]) return xq[k] < yq[k];
        for (int k = 0; k + 1 < n; ++k)
            if (xa[k] != ya[k]) return xa[k] < ya[k];
        return false;
    }

    // Does label x (n exits at ex) dominate candidate y (its exits: y's parent's and its own)?
    bool dominates(const QLabel& x, const double* ye, const double* ys, int n) const {
        const double* xe = ell_.data() + x.exits;
        const double* xs = share_.data() + x.exits;
        const double low = sh_.theta - S_[x.q] - kBoundMargin;
        for (int i = 0; i < n; ++i) {
            const double fy = mass_at(ye, ys, n, ye[i]);
            if (fy < low) continue;
            const double fx = mass_at(xe, xs, n, ye[i]);
            if (!(fx >= fy || fx >= sh_.theta)) return false;
        }
        return true;
    }

    // The candidates that no other of their state dominates become the next layer's labels.
    void keep_layer(int n) {
        std::sort(cands_.begin(), cands_.end(), [](const QCand& x, const QCand& y) {
            if (x.used != y.used) return x.used < y.used;
            if (x.q != y.q) return x.q < y.q;
            if (x.tier != y.tier) return x.tier < y.tier;
            if (x.d != y.d) return x.d < y.d;
            if (x.acc != y.acc) return x.acc > y.acc;
            return x.parent < y.parent;
        });
        layer_begin_ = arena_.size();
        make_room(arena_, arena_.size() + cands_.size());
        make_room(ell_, ell_.size() + cands_.size() * n);
        make_room(share_, share_.size() + cands_.size() * n);
        for (std::size_t g = 0; g < cands_.size();) {
            if (cancelled()) break;
            std::size_t e = g;
            while (e < cands_.size() && cands_[e].used == cands_[g].used && cands_[e].q == cands_[g].q &&
                   cands_[e].tier == cands_[g].tier)
                ++e;
            const std::size_t first = arena_.size();
            for (std::size_t i = g; i < e; ++i) {
                const QCand& y = cands_[i];
                gather(y.parent, n - 1, y.ell, y.share);
                bool dominated = false;
                // A completion of x may tie with one of y (same quantile, accuracy and mean): x may drop y
                // only if x's would be the one kept, the first in canonical order.
                for (std::size_t j = first; j < arena_.size() && !dominated; ++j)
                    dominated = arena_[j].acc >= y.acc && arena_[j].mean <= y.mean &&
                                dominates(arena_[j], ex_ell_, ex_share_, n) &&
                                prefix_before(static_cast<std::int32_t>(j), y.parent, n);
                if (dominated) continue;
                const auto off = static_cast<std::int32_t>(ell_.size());
                ell_.insert(ell_.end(), ex_ell_, ex_ell_ + n);
                share_.insert(share_.end(), ex_share_, ex_share_ + n);
                arena_.push_back({y.d, y.acc, y.mean, 0.0, y.parent, off, y.used, y.q, y.tier, false});
            }
            g = e;
        }
        layer_end_ = arena_.size();
        labels_ += layer_end_ - layer_begin_;
        account();
    }
};

}  // namespace

std::vector<SearchPoint> quantile_pareto_search(const Tables& T, const SearchOptions& opt, const Poll& poll,
                                                SearchStats* stats, const std::atomic<bool>* here) {
    opt.check();
    if (!(opt.quantile > 0))  // 0 asks for the mean: pareto_search's own search
        throw std::invalid_argument("quantile = 0: the quantile search needs a quantile in (0, 1]");
    return exact_pareto_search<QuantileSearch>(T, opt, poll, stats, here);
}

}  // namespace eepart
