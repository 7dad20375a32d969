// sweep: every configuration of SPEC in canonical order, keeping the rows that meet the bounds.
//
// Accuracy depends only on (t, P), so a partitioning whose accuracy misses the bound skips all its
// placements. Latency is a sum along the partitions: walking the placements depth first, each node adds
// only its own terms to its parent's prefix, in the order of the straight loop of evaluate.cpp, so both
// give the same bits. Consecutive partitionings in canonical order mostly share P_1..P_{L-1}; everything
// but the last partition's compute term is then shared, so the prefix of every placement is tabulated
// once per run and each P_L costs two additions per placement. All costs are >= 0 and rounding is
// monotone, so a prefix above max_latency rules out its whole subtree.
#include <algorithm>
#include <atomic>
#include <limits>
#include <stdexcept>
#include <string>

#include "engine.hpp"
#include "parallel.hpp"

namespace eepart {
namespace {

constexpr std::uint64_t kSat = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kMaxTotal = std::uint64_t(1) << 63;
constexpr std::uint64_t kCancelEvery = 1 << 16;  // leaves between looks at the cancel flag
constexpr std::uint64_t kFlushEvery = 4096;      // kept rows between updates of the shared count
constexpr double kInf = std::numeric_limits<double>::infinity();

std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) {
    const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
    return p > kSat ? kSat : static_cast<std::uint64_t>(p);
}

std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) { return a > kSat - b ? kSat : a + b; }

std::uint64_t choose(int n, int k) {
    if (k < 0 || k > n) return 0;
    k = std::min(k, n - k);
    unsigned __int128 r = 1;
    for (int i = 1; i <= k; ++i) {  // r = C(n-k+i, i), rising with i: once too big, it stays so
        r = r * static_cast<unsigned>(n - k + i) / static_cast<unsigned>(i);
        if (r > kSat) return kSat;
    }
    return static_cast<std::uint64_t>(r);
}

std::uint64_t arrangements(int m, int k) {  // m! / (m-k)!
    std::uint64_t r = 1;
    for (int i = 0; i < k; ++i) r = sat_mul(r, static_cast<std::uint64_t>(m - i));
    return r;
}

// All k-permutations of 0..m-1 in the order of itertools.permutations(range(m), k), row-major.
void tabulate(int m, int k, std::vector<std::uint8_t>& rows, std::vector<std::uint8_t>& last) {
    std::uint8_t cur[kMaxTiers];
    auto rec = [&](auto&& self, int depth, unsigned used) -> void {
        if (depth == k) {
            rows.insert(rows.end(), cur, cur + k);
            last.push_back(cur[k - 1]);
            return;
        }
        for (int b = 0; b < m; ++b) {
            if (used >> b & 1u) continue;
            cur[depth] = static_cast<std::uint8_t>(b);
            self(self, depth + 1, used | 1u << b);
        }
    };
    rec(rec, 0, 0u);
}

struct Item {
    int t, L;
    std::uint64_t begin, end;  // ranks of partitionings in lexicographic order
};

// What every work item reads, plus the shared count of kept rows.
struct Plan {
    const Tables& tb;
    SweepOptions opt;
    int Lmax = 0;
    std::uint64_t total = 0;
    std::vector<std::uint64_t> binom;                   // [N+1][Lmax+1], C(n, k)
    std::vector<std::uint64_t> n_placements;            // [L]
    std::vector<std::vector<std::uint8_t>> placements;  // [L] tabulated [n][L], or empty
    std::vector<std::vector<std::uint8_t>> last_tier;   // [L] [n]
    std::atomic<std::uint64_t> kept{0};

    Plan(const Tables& t, const SweepOptions& o) : tb(t), opt(o) {}
    std::uint64_t C(int n, int k) const { return binom[static_cast<std::size_t>(n) * (Lmax + 1) + k]; }
};

struct Stop {};  // unwinds an item when another worker failed or Ctrl-C was pressed

std::string too_many_rows(std::uint64_t max_rows, std::uint64_t total) {
    return "sweep would keep more than " + std::to_string(max_rows) + " rows of " + std::to_string(total) +
           " configurations: tighten max_latency / min_accuracy or raise the memory cap";
}

// One work item: partitionings begin..end-1 of one (t, L), all their placements.
class ItemRun {
   public:
    ItemRun(Plan& plan, const Item& item, ItemRows& out, const std::atomic<bool>& cancel)
        : pl_(plan), tb_(plan.tb), t_(item.t), L_(item.L), M_(plan.tb.M), item_(item), out_(out),
          cancel_(cancel), cum_(plan.tb.cum_exit + static_cast<std::size_t>(item.t) * (plan.tb.N + 1)),
          max_lat_(plan.opt.max_latency), min_acc_(plan.opt.min_accuracy),
          n_(plan.n_placements[item.L]), table_(plan.placements[item.L].data()),
          last_(plan.last_tier[item.L].data()), tabulated_(!plan.placements[item.L].empty()) {
        out_.t = t_;
        out_.L = L_;
        if (tabulated_) x_.resize(n_);
        for (int k = 0; k < L_; ++k)
            subtree_[k] = arrangements(M_ - k - 1, L_ - k - 1);
    }

    void run() {
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
            return;
        }
        flush();
    }

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
            for (int a = 0; a < M_; ++a) {
                cterm_[k][a] = in * tb_.compute(a, p, q);
                rterm_[k][a] = exit_[k] * tb_.result(a);
                for (int b = 0; b < M_; ++b) fterm_[k][a * M_ + b] = stay * tb_.forward(q, a, b);
            }
        }
        acc_prefix_ = 0.0;
        for (int k = 0; k <= L_ - 2; ++k) acc_prefix_ += tb_.acc(P_[k]) * exit_[k];
        // The last partition takes, and lets leave, every sample still in the network.
        e_last_ = 1.0 - cum_[L_ >= 2 ? P_[L_ - 2] : 0];
        for (int a = 0; a < M_; ++a) r_last_[a] = e_last_ * tb_.result(a);
        x_ready_ = false;
    }

    void visit() {
        registered_ = false;
        acc_now_ = acc_prefix_ + tb_.acc(P_[L_ - 1]) * e_last_;
        if (!(acc_now_ >= min_acc_)) return;
        const int p = L_ >= 2 ? P_[L_ - 2] : 0, q = P_[L_ - 1];
        for (int a = 0; a < M_; ++a) c_last_[a] = e_last_ * tb_.compute(a, p, q);
        if (tabulated_) {
            if (!x_ready_) build_prefixes();
            if (x_min_ > max_lat_) return;
            const double* x = x_.data();
            for (std::uint64_t j = 0; j < n_; ++j) {
                const int a = last_[j];
                const double lat = (x[j] + c_last_[a]) + r_last_[a];
                if (lat <= max_lat_) keep(lat, table_ + j * L_);
            }
        } else {
            for (int a = 0; a < M_; ++a) {
                stack_[0] = static_cast<std::uint8_t>(a);
                walk(0, a, 1u << a, tb_.input(a));
            }
        }
    }

    // x_[j]: latency of placement j up to and including the forward into the last partition.
    void build_prefixes() {
        double* out = x_.data();
        x_min_ = kInf;
        for (int a = 0; a < M_; ++a) fill(0, a, 1u << a, tb_.input(a), out);
        x_ready_ = true;
    }

    // v: latency before partition k's own terms, k placed on tier a.
    void fill(int k, int a, unsigned used, double v, double*& out) {
        if (v > max_lat_) {
            std::fill(out, out + subtree_[k], kInf);
            out += subtree_[k];
            return;
        }
        if (k == L_ - 1) {
            *out++ = v;
            x_min_ = std::min(x_min_, v);
            return;
        }
        const double w = (v + cterm_[k][a]) + rterm_[k][a];
        const double* f = fterm_[k] + a * M_;
        for (int b = 0; b < M_; ++b) {
            if (used >> b & 1u) continue;
            if (k + 2 == L_) {
                const double x = w + f[b];
                *out++ = x;
                x_min_ = std::min(x_min_, x);
            } else {
                fill(k + 1, b, used | 1u << b, w + f[b], out);
            }
        }
    }

    // The same walk without a table (too many placements to tabulate), testing leaves as it goes.
    void walk(int k, int a, unsigned used, double v) {
        if (v > max_lat_) return;
        if (k == L_ - 1) {  // L = 1
            const double lat = (v + c_last_[a]) + r_last_[a];
            if (lat <= max_lat_) keep(lat, stack_);
            return;
        }
        const double w = (v + cterm_[k][a]) + rterm_[k][a];
        const double* f = fterm_[k] + a * M_;
        if (k + 2 == L_) {
            for (int b = 0; b < M_; ++b) {
                if (used >> b & 1u) continue;
                const double lat = ((w + f[b]) + c_last_[b]) + r_last_[b];
                if (lat <= max_lat_) {
                    stack_[k + 1] = static_cast<std::uint8_t>(b);
                    keep(lat, stack_);
                }
            }
            work_ += static_cast<std::uint64_t>(M_);
            if (work_ >= kCancelEvery) check_cancel();
            return;
        }
        for (int b = 0; b < M_; ++b) {
            if (used >> b & 1u) continue;
            stack_[k + 1] = static_cast<std::uint8_t>(b);
            walk(k + 1, b, used | 1u << b, w + f[b]);
        }
    }

    void keep(double lat, const std::uint8_t* tiers) {
        if (!registered_) {
            if (out_.accuracy.size() >= std::numeric_limits<std::uint32_t>::max())
                throw std::invalid_argument(too_many_rows(pl_.opt.max_rows, pl_.total));
            pid_ = static_cast<std::uint32_t>(out_.accuracy.size());
            out_.accuracy.push_back(acc_now_);
            out_.partitions.insert(out_.partitions.end(), P_, P_ + L_);
            registered_ = true;
        }
        out_.latency.push_back(lat);
        out_.which.push_back(pid_);
        out_.placement.insert(out_.placement.end(), tiers, tiers + L_);
        if (++pending_ >= kFlushEvery) flush();
    }

    // Kept rows are counted exactly (every row is flushed once), so the error does not depend on timing.
    void flush() {
        if (pending_ == 0) return;
        const std::uint64_t now = pl_.kept.fetch_add(pending_) + pending_;
        pending_ = 0;
        if (now > pl_.opt.max_rows) throw std::invalid_argument(too_many_rows(pl_.opt.max_rows, pl_.total));
    }

    Plan& pl_;
    const Tables& tb_;
    const int t_, L_, M_;
    const Item item_;
    ItemRows& out_;
    const std::atomic<bool>& cancel_;
    const double* cum_;
    const double max_lat_, min_acc_;
    const std::uint64_t n_;
    const std::uint8_t* table_;
    const std::uint8_t* last_;
    const bool tabulated_;

    std::int32_t P_[kMaxTiers] = {};
    std::uint64_t subtree_[kMaxTiers] = {};
    double exit_[kMaxTiers] = {};
    double cterm_[kMaxTiers][kMaxTiers] = {};
    double rterm_[kMaxTiers][kMaxTiers] = {};
    double fterm_[kMaxTiers][kMaxTiers * kMaxTiers] = {};
    double c_last_[kMaxTiers] = {};
    double r_last_[kMaxTiers] = {};
    double acc_prefix_ = 0.0, e_last_ = 0.0, acc_now_ = 0.0;
    std::vector<double> x_;
    double x_min_ = kInf;
    bool x_ready_ = false;
    bool registered_ = false;
    std::uint32_t pid_ = 0;
    std::uint8_t stack_[kMaxTiers] = {};
    std::uint64_t pending_ = 0, work_ = 0;
};

}  // namespace

std::uint64_t count_configurations(int N, int M, int K) {
    std::uint64_t per_t = 0;
    for (int L = 1; L <= std::min(M, N); ++L) per_t = sat_add(per_t, sat_mul(choose(N, L), arrangements(M, L)));
    return sat_mul(per_t, static_cast<std::uint64_t>(K < 0 ? 0 : K));
}

SweepResult sweep(const Tables& tb, const SweepOptions& opt) {
    Plan pl(tb, opt);
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
        if (pl.n_placements[L] <= opt.table_limit) tabulate(tb.M, L, pl.placements[L], pl.last_tier[L]);
    }

    // Items of about equal work, at most ~65536 of them plus one per (t, L), in canonical order.
    const std::uint64_t target = std::max<std::uint64_t>(1 << 18, pl.total >> 16);
    std::vector<Item> items;
    for (int t = 0; t < tb.K; ++t) {
        for (int L = 1; L <= pl.Lmax; ++L) {
            const std::uint64_t count = pl.C(tb.N, L);
            const std::uint64_t per = std::max<std::uint64_t>(1, target / pl.n_placements[L]);
            for (std::uint64_t b = 0; b < count; b += per) items.push_back({t, L, b, std::min(count, b + per)});
        }
    }

    SweepResult result;
    result.Lmax = pl.Lmax;
    result.total = pl.total;
    result.items.resize(items.size());
    parallel_for(items.size(), opt.threads, [&](std::size_t i, const std::atomic<bool>& cancel) {
        ItemRun(pl, items[i], result.items[i], cancel).run();
    });
    result.rows = pl.kept.load();
    return result;
}

void write_columns(const SweepResult& result, const SweepColumns& out, int threads) {
    const int Lmax = result.Lmax;
    std::vector<std::uint64_t> offset(result.items.size() + 1, 0);
    for (std::size_t i = 0; i < result.items.size(); ++i) offset[i + 1] = offset[i] + result.items[i].latency.size();
    parallel_for(result.items.size(), threads, [&](std::size_t i, const std::atomic<bool>&) {
        const ItemRows& it = result.items[i];
        const int L = it.L;
        for (std::size_t r = 0; r < it.latency.size(); ++r) {
            const std::size_t row = offset[i] + r;
            const std::uint32_t w = it.which[r];
            out.latency[row] = it.latency[r];
            out.accuracy[row] = it.accuracy[w];
            out.threshold_index[row] = it.t;
            out.num_partitions[row] = L;
            std::int32_t* P = out.partitions + row * Lmax;
            std::int32_t* A = out.placement + row * Lmax;
            for (int k = 0; k < Lmax; ++k) {
                P[k] = k < L ? it.partitions[static_cast<std::size_t>(w) * L + k] : -1;
                A[k] = k < L ? it.placement[r * L + k] : -1;
            }
        }
    });
}

}  // namespace eepart
