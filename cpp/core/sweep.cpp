// sweep: every configuration of the model in canonical order, keeping the rows that meet the bounds.
//
// Accuracy depends only on (t, P), so a partitioning whose accuracy misses the bound skips all its
// placements. Latency is a sum along the partitions, and placements in canonical (lexicographic) order
// share prefixes: the latency of every placement prefix is built level by level, each level adding only
// its own terms to its parent's value, in the order of the straight loop of evaluate.cpp, so both give
// the same bits. Consecutive partitionings mostly share P_1..P_{L-1}, and only the last partition's
// compute term depends on P_L: the levels are rebuilt from the first partition that changed, and each
// P_L then costs two additions per placement. All costs are >= 0 and rounding is monotone, so a prefix
// above max_latency rules out every placement that extends it.
//
// With a quantile (SweepOptions::quantile > 0) the latency is the quantile of the exit latencies
// (quantile.hpp), not a sum of terms: every placement is walked depth first, the clock of the exits
// carried down the walk (see walk_quantile for what it prunes and why that is safe).
//
// With energy tables (Tables::has_energy) the sweep carries (latency, energy) in place of the latency
// (V = LatencyEnergy, step_sums.hpp): every sum, prefix and bound test above is the same code on both
// coordinates, so max_energy prunes placement prefixes exactly as max_latency does, and the energy column
// has the bits of evaluate's straight loop on the energy tables. With a quantile, the walk carries the
// energy's sum beside the exits' clock and prunes on it likewise.
//
// Rows are kept in two passes over the same code (Sweep::count, then Sweep::write for the items that keep
// any): computing a row again costs a few nanoseconds, storing it twice costs far more.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "engine.hpp"
#include "exact_sums.hpp"
#include "quantile.hpp"
#include "step_sums.hpp"

namespace eepart {
namespace {

constexpr std::uint64_t kMaxTotal = std::uint64_t(1) << 63;
constexpr std::uint64_t kCancelEvery = 1 << 16;  // leaves between looks at the cancel flag
constexpr std::uint64_t kFlushEvery = 4096;      // kept rows between updates of the shared count
constexpr double kInf = std::numeric_limits<double>::infinity();

// Fixed-size copies compile to a few moves; a loop of unknown length to a loop with reloads.
inline void copy_row(std::int32_t* dst, const std::int32_t* src, int n) {
    switch (n) {
#define EEPART_COPY_CASE(k) \
    case k:                 \
        std::memcpy(dst, src, k * sizeof(std::int32_t)); \
        return;
        EEPART_COPY_CASE(1) EEPART_COPY_CASE(2) EEPART_COPY_CASE(3) EEPART_COPY_CASE(4)
        EEPART_COPY_CASE(5) EEPART_COPY_CASE(6) EEPART_COPY_CASE(7) EEPART_COPY_CASE(8)
        EEPART_COPY_CASE(9) EEPART_COPY_CASE(10) EEPART_COPY_CASE(11) EEPART_COPY_CASE(12)
        EEPART_COPY_CASE(13) EEPART_COPY_CASE(14) EEPART_COPY_CASE(15) EEPART_COPY_CASE(16)
#undef EEPART_COPY_CASE
        default:
            std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(std::int32_t));
    }
}

struct Item {
    int t, L;
    std::uint64_t begin, end;  // ranks of partitionings in lexicographic order
};

struct Stop {};  // unwinds an item when another worker failed or Ctrl-C was pressed

}  // namespace

std::string row_limit_message(const std::string& max_rows, const std::string& total) {
    return "sweep would keep more than " + max_rows + " rows of " + total +
           " configurations: tighten max_latency / min_accuracy or raise the memory cap";
}

RowLimitExceeded::RowLimitExceeded(std::uint64_t max_rows_, std::uint64_t total_)
    : std::invalid_argument(row_limit_message(std::to_string(max_rows_), std::to_string(total_))),
      max_rows(max_rows_),
      total(total_) {}

// What every work item reads, and what the first pass leaves for the second.
struct Sweep::Plan {
    const Tables tb;
    const SweepOptions opt;
    Control control;
    int Lmax = 0;
    std::uint64_t total = 0;
    std::vector<std::uint64_t> binom;                   // [N+1][Lmax+1], C(n, k)
    std::vector<std::uint64_t> n_placements;            // [L]
    std::vector<std::vector<std::int32_t>> placements;  // [L] tabulated [n][Lmax], or empty
    std::vector<std::vector<std::uint8_t>> last_tier;   // [L] [n]
    std::vector<Item> items;                            // canonical order
    std::vector<std::uint64_t> counts;                  // rows kept by each item (first pass)
    std::atomic<std::uint64_t> kept{0};

    Plan(const Tables& t, const SweepOptions& o) : tb(t), opt(o) {}
    std::uint64_t C(int n, int k) const { return binom[static_cast<std::size_t>(n) * (Lmax + 1) + k]; }
};

namespace {

// One work item: partitionings begin..end-1 of one (t, L), all their placements. kWrite = false counts
// the kept rows, kWrite = true writes them from row `first` on. V: the sums carried (step_sums.hpp).
template <bool kWrite, class V>
class ItemRun {
    static constexpr bool kEnergy = kCarriesEnergy<V>;

   public:
    ItemRun(Sweep::Plan& plan, std::size_t index, const std::atomic<bool>& cancel, const SweepColumns* out,
            std::uint64_t first, std::uint64_t end)
        : pl_(plan), tb_(plan.tb), item_(plan.items[index]), t_(item_.t), L_(item_.L), M_(plan.tb.M),
          Lmax_(plan.Lmax), cancel_(cancel),
          cum_(plan.tb.cum_exit + static_cast<std::size_t>(item_.t) * (plan.tb.N + 1)),
          energy_tb_(kEnergy ? plan.tb.energy_view() : plan.tb), max_lat_(plan.opt.max_latency),
          min_acc_(plan.opt.min_accuracy), bound_(bounds<V>(plan.opt.max_latency, plan.opt.max_energy)),
          quantile_(plan.opt.quantile > 0),
          theta_(quantile_theta(plan.opt.quantile)), n_(plan.n_placements[item_.L]),
          table_(plan.placements[item_.L].data()), last_(plan.last_tier[item_.L].data()),
          tabulated_(!plan.placements[item_.L].empty()), out_(out), first_(first), row_(first), end_(end) {
        if (tabulated_) {
            x_.resize(n_);
            std::uint64_t size = 0;
            for (int d = 1; d < L_; ++d) {
                w_offset_[d] = size;
                size += plan.n_placements[d];
            }
            w_.resize(size);
        }
        std::fill(P_, P_ + kMaxTiers, -1);
        std::fill(stack_, stack_ + kMaxTiers, -1);
    }

    // False when cancelled.
    bool run() {
        try {
            unrank(item_.begin);
            int changed = 0;
            for (std::uint64_t r = item_.begin; r < item_.end; ++r) {
                if (r == item_.begin || changed <= L_ - 2) prefix_terms(changed);
                visit();
                work_ += n_;
                if (work_ >= kCancelEvery) check_cancel();
                if (r + 1 < item_.end) changed = next_partitioning();
            }
        } catch (const Stop&) {
            return false;
        }
        if (kWrite) {  // constant over the item
            std::fill(out_->threshold_index + first_, out_->threshold_index + row_, t_);
            std::fill(out_->num_partitions + first_, out_->num_partitions + row_, L_);
        } else {
            flush();
        }
        return true;
    }

    std::uint64_t kept() const { return kept_; }
    std::uint64_t next_row() const { return row_; }

   private:
    void check_cancel() {
        work_ = 0;
        if (cancel_.load(std::memory_order_relaxed)) throw Stop{};
    }

    void unrank(std::uint64_t rank) {
        const int N = tb_.N;
        int x = 1;
        for (int i = 0; i < L_; ++i) {
            for (;; ++x) {
                const std::uint64_t c = pl_.C(N - x, L_ - i - 1);  // partitionings with P_i = x
                if (rank < c) break;
                rank -= c;
            }
            P_[i] = x++;
        }
    }

    // Lexicographic successor; returns the first position that changed.
    int next_partitioning() {
        int i = L_ - 1;
        while (i >= 0 && P_[i] == tb_.N - (L_ - 1 - i)) --i;
        ++P_[i];
        for (int j = i + 1; j < L_; ++j) P_[j] = P_[j - 1] + 1;
        return i;
    }

    // Terms of partitions from..L-2 (set by P_1..P_{L-1}), products formed as evaluate.cpp forms them.
    void prefix_terms(int from) {
        for (int k = from; k <= L_ - 2; ++k) {
            const int p = k ? P_[k - 1] : 0, q = P_[k];
            const double in = 1.0 - cum_[p], stay = 1.0 - cum_[q];
            exit_[k] = cum_[q] - cum_[p];
            const double exit = exit_[k];
            for (int a = 0; a < M_; ++a) {
                cterm_[k][a] = term([&](const Tables& t) { return in * t.compute(a, p, q); });
                rterm_[k][a] = term([&](const Tables& t) { return exit * t.result(a); });
                for (int b = 0; b < M_; ++b)
                    fterm_[k][a * M_ + b] = term([&](const Tables& t) { return stay * t.forward(q, a, b); });
            }
        }
        acc_prefix_ = 0.0;
        for (int k = 0; k <= L_ - 2; ++k) acc_prefix_ += tb_.acc(t_, P_[k]) * exit_[k];
        // The last partition takes, and lets leave, every sample still in the network.
        e_last_ = 1.0 - cum_[L_ >= 2 ? P_[L_ - 2] : 0];
        const double e_last = e_last_;
        for (int a = 0; a < M_; ++a) r_last_[a] = term([&](const Tables& t) { return e_last * t.result(a); });
        levels_ok_ = std::min(levels_ok_, from);
        x_ready_ = false;
    }

    // One step's term of each objective carried, formed by `f` on its tables.
    template <class F>
    V term(F f) const {
        return step_term<V>(tb_, energy_tb_, f);
    }

    void last_compute_terms() {
        const int p = L_ >= 2 ? P_[L_ - 2] : 0, q = P_[L_ - 1];
        const double e_last = e_last_;
        for (int a = 0; a < M_; ++a) c_last_[a] = term([&](const Tables& t) { return e_last * t.compute(a, p, q); });
    }

    void visit() {
        acc_now_ = acc_prefix_ + tb_.acc(t_, P_[L_ - 1]) * e_last_;
        if (!(acc_now_ >= min_acc_)) return;
        if (quantile_) return visit_quantile();
        if (tabulated_ && !x_ready_) build_prefixes();
        if (tabulated_ && above(x_min_, bound_)) return;
        last_compute_terms();
        if (tabulated_) {
            if (kWrite)
                write_leaves();
            else
                count_leaves();
        } else {
            for (int a = 0; a < M_; ++a) {
                stack_[0] = a;
                walk(0, a, 1u << a, term([&](const Tables& t) { return t.input(a); }));
            }
        }
    }

    // Branch-free: whether a leaf is kept is data, not control flow.
    void count_leaves() {
        const V* x = x_.data();
        std::uint64_t n = 0;
        for (std::uint64_t j = 0; j < n_; ++j) {
            const int a = last_[j];
            const V sums = (x[j] + c_last_[a]) + r_last_[a];
            n += within(sums, bound_);
        }
        pending_ += n;
        if (pending_ >= kFlushEvery) flush();
    }

    // The same leaves, writing the kept ones; W = Lmax is a constant so that rows copy in a few moves.
    void write_leaves() {
        switch (Lmax_) {
#define EEPART_WRITE_CASE(w) \
    case w:                  \
        return write_leaves_w<w>();
            EEPART_WRITE_CASE(1) EEPART_WRITE_CASE(2) EEPART_WRITE_CASE(3) EEPART_WRITE_CASE(4)
            EEPART_WRITE_CASE(5) EEPART_WRITE_CASE(6) EEPART_WRITE_CASE(7) EEPART_WRITE_CASE(8)
            EEPART_WRITE_CASE(9) EEPART_WRITE_CASE(10) EEPART_WRITE_CASE(11) EEPART_WRITE_CASE(12)
            EEPART_WRITE_CASE(13) EEPART_WRITE_CASE(14) EEPART_WRITE_CASE(15) EEPART_WRITE_CASE(16)
#undef EEPART_WRITE_CASE
        }
    }

    template <int W>
    void write_leaves_w() {
        const SweepColumns& o = *out_;
        const V* x = x_.data();
        const V bound = bound_;
        const double acc = acc_now_;
        std::int32_t P[W];  // a local copy: the output cannot alias it
        std::memcpy(P, P_, sizeof P);
        std::uint64_t row = row_;
        for (std::uint64_t j = 0; j < n_; ++j) {
            const int a = last_[j];
            const V sums = (x[j] + c_last_[a]) + r_last_[a];
            if (!within(sums, bound)) continue;
            // Same code, same inputs, same rows; a difference would mean the passes' arithmetic differs.
            if (row == end_) throw std::logic_error("sweep: the second pass kept more rows than the first");
            o.latency[row] = latency_of(sums);
            if constexpr (kEnergy) o.energy[row] = sums.energy;
            o.accuracy[row] = acc;
            std::memcpy(o.partitions + row * W, P, sizeof P);
            std::memcpy(o.placement + row * W, table_ + j * W, sizeof P);
            ++row;
        }
        row_ = row;
    }

    // x_[j]: latency of placement j up to and including the forward into the last partition, built
    // level by level over the placements' prefixes (w_ level d: d tiers placed, their terms added).
    // Levels below the first changed partition are kept from the previous partitioning. When a whole
    // level is above max_latency, so is every leaf: x_min_ says so and x_ is not built.
    void build_prefixes() {
        const int M = M_;
        x_ready_ = true;
        x_min_ = infinite_;
        // Each level's values are >= their parents', so the deepest level above the bound settles it.
        if (levels_ok_ > 0 && above(level_min_[levels_ok_], bound_)) return;
        for (int d = levels_ok_ + 1; d <= L_ - 1; ++d) {
            V* w = w_.data() + w_offset_[d];
            const std::uint8_t* tier = pl_.last_tier[d].data();
            const V* c = cterm_[d - 1];
            const V* r = rterm_[d - 1];
            V lo = infinite_;
            if (d == 1) {
                for (int a = 0; a < M; ++a)
                    lo = least(lo, w[a] = (term([&](const Tables& t) { return t.input(a); }) + c[a]) + r[a]);
                level_min_[d] = lo;
                levels_ok_ = d;
                if (above(lo, bound_)) return;
                continue;
            }
            const V* parent = w_.data() + w_offset_[d - 1];
            const std::uint8_t* parent_tier = pl_.last_tier[d - 1].data();
            const std::uint64_t n_parents = pl_.n_placements[d - 1];
            const int children = M - d + 1;
            std::uint64_t i = 0;
            for (std::uint64_t q = 0; q < n_parents; ++q) {
                const V v = parent[q];
                const V* f = fterm_[d - 2] + parent_tier[q] * M;
                for (int ch = 0; ch < children; ++ch, ++i) {
                    const int b = tier[i];
                    lo = least(lo, w[i] = ((v + f[b]) + c[b]) + r[b]);
                }
            }
            level_min_[d] = lo;
            levels_ok_ = d;
            if (above(lo, bound_)) return;
        }
        V* x = x_.data();
        V lo = infinite_;
        if (L_ == 1) {
            for (int a = 0; a < M; ++a) lo = least(lo, x[a] = term([&](const Tables& t) { return t.input(a); }));
        } else {
            const V* parent = w_.data() + w_offset_[L_ - 1];
            const std::uint8_t* parent_tier = pl_.last_tier[L_ - 1].data();
            const std::uint64_t n_parents = pl_.n_placements[L_ - 1];
            const int children = M - L_ + 1;
            std::uint64_t i = 0;
            for (std::uint64_t q = 0; q < n_parents; ++q) {
                const V v = parent[q];
                const V* f = fterm_[L_ - 2] + parent_tier[q] * M;
                for (int ch = 0; ch < children; ++ch, ++i) lo = least(lo, x[i] = v + f[last_[i]]);
            }
        }
        x_min_ = lo;
    }

    // The shares E_k of the partitioning (as prefix_terms formed them), then every placement.
    void visit_quantile() {
        for (int k = 0; k + 1 < L_; ++k) share_[k] = exit_[k];
        share_[L_ - 1] = e_last_;
        if (kEnergy) last_compute_terms();
        for (int a = 0; a < M_; ++a) {
            stack_[0] = a;
            walk_quantile(0, a, 1u << a, tb_.input(a), term([&](const Tables& t) { return t.input(a); }));
        }
    }

    // Partition k placed on tier a, the sample's clock d on arriving there (input, computes and forwards
    // of partitions 0..k-1, added in the model's order, as quantile.hpp's exit_latencies adds them).
    //
    // Pruning: every cost is >= 0 and rounding is monotone, so each later exit's latency is >= the clock
    // `next` on entering partition k+1. If next > max_latency, a quantile <= max_latency can only be an
    // exit so far, ell_j <= max_latency < next; the exits still to come are all slower than ell_j, so
    // they add nothing to its tally m_j, which is therefore already final (the same additions in the same
    // order). So when no exit so far qualifies with ell_j <= max_latency on its tally so far (the
    // quantile of exits 0..k, quantile_of_exits, is above max_latency), no placement extending this one
    // is kept.
    //
    // With energy, `s` is the energy's sum (the mean's form, V's energy coordinate) up to arriving at
    // partition k, pruned on max_energy as the mean's walk prunes; without, s is not formed.
    void walk_quantile(int k, int a, unsigned used, double d, V s) {
        const int p = k ? P_[k - 1] : 0, q = P_[k];
        d += tb_.compute(a, p, q);
        ell_[k] = d + tb_.result(a);
        if (k == L_ - 1) {
            if constexpr (kEnergy) s = (s + c_last_[a]) + r_last_[a];
            const double lat = quantile_of_exits(ell_, share_, L_, theta_);
            if (lat <= max_lat_ && energy_within(s)) keep(lat, s, stack_);
            if (++work_ >= kCancelEvery) check_cancel();
            return;
        }
        if constexpr (kEnergy) s = (s + cterm_[k][a]) + rterm_[k][a];
        int past_may_keep = -1;  // whether exits 0..k alone can still give a kept quantile; -1: not asked yet
        for (int b = 0; b < M_; ++b) {
            if (used >> b & 1u) continue;
            V next_s = s;
            if constexpr (kEnergy) {
                next_s = s + fterm_[k][a * M_ + b];
                if (!energy_within(next_s)) continue;
            }
            const double next = d + tb_.forward(q, a, b);
            if (next > max_lat_) {
                if (past_may_keep < 0) past_may_keep = quantile_of_exits(ell_, share_, k + 1, theta_) <= max_lat_;
                if (!past_may_keep) continue;
            }
            stack_[k + 1] = b;
            walk_quantile(k + 1, b, used | 1u << b, next, next_s);
        }
    }

    bool energy_within(const V& s) const {
        if constexpr (kEnergy) return s.energy <= pl_.opt.max_energy;
        else return true;
    }

    // The same walk without a table (too many placements to tabulate), testing leaves as it goes.
    void walk(int k, int a, unsigned used, V v) {
        if (above(v, bound_)) return;
        if (k == L_ - 1) {  // L = 1
            const V sums = (v + c_last_[a]) + r_last_[a];
            if (within(sums, bound_)) keep(latency_of(sums), sums, stack_);
            return;
        }
        const V w = (v + cterm_[k][a]) + rterm_[k][a];
        const V* f = fterm_[k] + a * M_;
        if (k + 2 == L_) {
            for (int b = 0; b < M_; ++b) {
                if (used >> b & 1u) continue;
                const V sums = ((w + f[b]) + c_last_[b]) + r_last_[b];
                if (within(sums, bound_)) {
                    stack_[k + 1] = b;
                    keep(latency_of(sums), sums, stack_);
                }
            }
            work_ += static_cast<std::uint64_t>(M_);
            if (work_ >= kCancelEvery) check_cancel();
            return;
        }
        for (int b = 0; b < M_; ++b) {
            if (used >> b & 1u) continue;
            stack_[k + 1] = b;
            walk(k + 1, b, used | 1u << b, w + f[b]);
        }
    }

    // tiers: the placement padded with -1 to Lmax (entries past L_ are -1); lat the row's latency (the
    // mean's or the quantile), sums the sums carried (their energy written when V carries one).
    void keep(double lat, const V& sums, const std::int32_t* tiers) {
        if (kWrite) {
            // Same code, same inputs, same rows; a difference would mean the two passes' arithmetic differs.
            if (row_ == end_) throw std::logic_error("sweep: the second pass kept more rows than the first");
            const SweepColumns& o = *out_;
            const std::size_t row = row_++;
            o.latency[row] = lat;
            if constexpr (kEnergy) o.energy[row] = sums.energy;
            o.accuracy[row] = acc_now_;
            copy_row(o.partitions + row * Lmax_, P_, Lmax_);
            copy_row(o.placement + row * Lmax_, tiers, Lmax_);
        } else if (++pending_ >= kFlushEvery) {
            flush();
        }
    }

    // Kept rows are counted exactly (every row is flushed once), so the error does not depend on timing.
    void flush() {
        if (pending_ == 0) return;
        kept_ += pending_;
        const std::uint64_t now = pl_.kept.fetch_add(pending_) + pending_;
        pending_ = 0;
        if (now > pl_.opt.max_rows) throw RowLimitExceeded(pl_.opt.max_rows, pl_.total);
    }

    Sweep::Plan& pl_;
    const Tables& tb_;
    const Item item_;
    const int t_, L_, M_, Lmax_;
    const std::atomic<bool>& cancel_;
    const double* cum_;
    const Tables energy_tb_;  // the energy view when V carries energy (else unused)
    const double max_lat_, min_acc_;
    const V bound_;  // max_latency (and max_energy)
    const V infinite_ = bounds<V>(kInf, kInf);
    const bool quantile_;  // the latency is the quantile of the exits' latencies (theta_ its level)
    const double theta_;
    const std::uint64_t n_;
    const std::int32_t* table_;
    const std::uint8_t* last_;
    const bool tabulated_;
    const SweepColumns* out_;
    std::uint64_t first_, row_, end_;  // the item's rows (second pass), and the next to write

    std::int32_t P_[kMaxTiers];      // the partitioning, -1 past L
    std::int32_t stack_[kMaxTiers];  // the placement being walked, -1 past L
    // Terms of partitions 0..L-2 (set in prefix_terms before any read; left uninitialised on purpose:
    // items are many and short).
    double exit_[kMaxTiers];
    V cterm_[kMaxTiers][kMaxTiers];
    V rterm_[kMaxTiers][kMaxTiers];
    V fterm_[kMaxTiers][kMaxTiers * kMaxTiers];
    V c_last_[kMaxTiers];
    double ell_[kMaxTiers], share_[kMaxTiers];  // with a quantile: exit latencies and shares of the walk
    V r_last_[kMaxTiers];
    std::vector<V> w_;  // prefix levels 1..L-1, level d at w_offset_[d]
    std::uint64_t w_offset_[kMaxTiers] = {};
    V level_min_[kMaxTiers] = {};
    int levels_ok_ = 0;
    double acc_prefix_ = 0.0, e_last_ = 0.0, acc_now_ = 0.0;
    std::vector<V> x_;
    V x_min_ = infinite_;
    bool x_ready_ = false;
    std::uint64_t pending_ = 0, kept_ = 0, work_ = 0;
};

}  // namespace

void SweepOptions::check() const {
    if (std::isnan(max_latency)) throw std::invalid_argument("max_latency = nan: must be a number (or +-inf)");
    if (std::isnan(min_accuracy)) throw std::invalid_argument("min_accuracy = nan: must be a number (or +-inf)");
    if (std::isnan(max_energy)) throw std::invalid_argument("max_energy = nan: must be a number (or +-inf)");
    check_threads(threads);
    check_time_limit(time_limit);
    check_quantile(quantile);
}

Sweep::Sweep(const Tables& tb, const SweepOptions& opt, Poll poll) : plan_(new Plan(tb, opt)) {
    opt.check();
    if (opt.max_energy != kInf && !tb.has_energy())
        throw std::invalid_argument("max_energy: the tables carry no energy tables (give energy= with them)");
    Plan& pl = *plan_;
    pl.control.interrupted = std::move(poll);
    pl.control.time_limit = opt.time_limit;
    pl.control.what = "sweep";
    pl.Lmax = tb.max_partitions();
    pl.total = count_configurations(tb.N, tb.M, tb.K);
    if (pl.total > kMaxTotal)
        throw std::invalid_argument("sweep: N = " + std::to_string(tb.N) + ", M = " + std::to_string(tb.M) +
                                    ", K = " + std::to_string(tb.K) +
                                    " give more than 2^63 configurations, too many to enumerate");
    pl.binom.resize(static_cast<std::size_t>(tb.N + 1) * (pl.Lmax + 1));
    for (int n = 0; n <= tb.N; ++n)
        for (int k = 0; k <= pl.Lmax; ++k) pl.binom[static_cast<std::size_t>(n) * (pl.Lmax + 1) + k] = choose(n, k);
    pl.n_placements.assign(pl.Lmax + 1, 0);
    pl.placements.resize(pl.Lmax + 1);
    pl.last_tier.resize(pl.Lmax + 1);
    for (int L = 1; L <= pl.Lmax; ++L) {
        pl.n_placements[L] = arrangements(tb.M, L);
        // A quantile walks its placements (visit_quantile): no table needed.
        if (pl.n_placements[L] <= opt.table_limit && !(opt.quantile > 0))
            tabulate_placements(tb.M, L, pl.Lmax, pl.placements[L], pl.last_tier[L]);
    }
    // Items of about equal work, at most ~65536 of them plus one per (t, L), in canonical order.
    const std::uint64_t target = std::max<std::uint64_t>(std::max<std::uint64_t>(opt.item_configs, 1), pl.total >> 16);
    for (int t = 0; t < tb.K; ++t) {
        for (int L = 1; L <= pl.Lmax; ++L) {
            const std::uint64_t count = pl.C(tb.N, L);
            const std::uint64_t per = std::max<std::uint64_t>(1, target / pl.n_placements[L]);
            for (std::uint64_t b = 0; b < count; b += per) pl.items.push_back({t, L, b, std::min(count, b + per)});
        }
    }
}

Sweep::~Sweep() = default;

// The items on the workers; or, for a sweep of a few thousand configurations (well under a millisecond),
// on the calling thread, where starting the workers would cost more than the sweep.
void Sweep::for_items(std::size_t n, const std::function<void(std::size_t, const std::atomic<bool>&)>& body) {
    constexpr std::uint64_t kInline = 1 << 14;
    if (plan_->total > kInline) return parallel_for(n, plan_->opt.threads, body, plan_->control);
    const std::atomic<bool> never{false};
    for (std::size_t i = 0; i < n; ++i) body(i, never);
}

int Sweep::max_partitions() const { return plan_->Lmax; }

std::uint64_t Sweep::configurations() const { return plan_->total; }

bool Sweep::keeps_every_row() const {
    const Plan& pl = *plan_;
    const SweepOptions& o = pl.opt;
    // Accuracy is a sum of products of numbers >= 0: never below 0. A mean latency is at most the tables'
    // latency_bound (each term at most its table's largest, shares at most 1); the margin covers the
    // rounding of both sums. A quantile is held to the trivial bound only.
    const bool accuracy_met = o.min_accuracy <= 0.0;
    const bool latency_met = o.max_latency == kInf ||
                             (!(o.quantile > 0) && o.max_latency >= pl.tb.latency_bound * (1.0 + 1e-9));
    const bool energy_met = o.max_energy == kInf || o.max_energy >= pl.tb.energy_bound * (1.0 + 1e-9);
    return accuracy_met && latency_met && energy_met;
}

std::uint64_t Sweep::count() {
    Plan& pl = *plan_;
    pl.counts.assign(pl.items.size(), 0);
    pl.kept = 0;
    if (keeps_every_row()) {  // the row count in closed form: no counting pass
        for (std::size_t i = 0; i < pl.items.size(); ++i) {
            const Item& it = pl.items[i];
            pl.counts[i] = (it.end - it.begin) * pl.n_placements[it.L];
        }
        if (pl.total > pl.opt.max_rows) throw RowLimitExceeded(pl.opt.max_rows, pl.total);
        pl.kept = pl.total;
        return pl.total;
    }
    const auto count_item = [&](auto sums) {
        for_items(pl.items.size(), [&](std::size_t i, const std::atomic<bool>& cancel) {
            ItemRun<false, decltype(sums)> run(pl, i, cancel, nullptr, 0, 0);
            if (run.run()) pl.counts[i] = run.kept();
        });
    };
    if (pl.tb.has_energy())
        count_item(LatencyEnergy{});
    else
        count_item(0.0);
    return pl.kept.load();
}

void Sweep::write(const SweepColumns& out) {
    Plan& pl = *plan_;
    std::vector<std::size_t> busy;  // items that keep rows, and where their rows start
    std::vector<std::uint64_t> first;
    std::uint64_t row = 0;
    for (std::size_t i = 0; i < pl.items.size(); ++i) {
        if (pl.counts[i] == 0) continue;
        busy.push_back(i);
        first.push_back(row);
        row += pl.counts[i];
    }
    if (pl.tb.has_energy() && out.energy == nullptr)
        throw std::logic_error("sweep: the tables carry energy and no energy column was given");
    const auto write_items = [&](auto sums) {
        for_items(busy.size(), [&](std::size_t b, const std::atomic<bool>& cancel) {
            const std::uint64_t end = first[b] + pl.counts[busy[b]];
            ItemRun<true, decltype(sums)> run(pl, busy[b], cancel, &out, first[b], end);
            if (run.run() && run.next_row() != end)
                throw std::logic_error("sweep: the second pass kept fewer rows than the first");
        });
    };
    if (pl.tb.has_energy())
        write_items(LatencyEnergy{});
    else
        write_items(0.0);
}

}  // namespace eepart
