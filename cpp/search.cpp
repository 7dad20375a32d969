// Exact Pareto search: a bi-objective dynamic programme over partial plans, with dominance within a
// state and branch and bound against the frontier found so far.
//
// For one threshold, SPEC's latency and accuracy are sums of terms that each depend on one partition and
// its neighbours. A partial plan that ends a partition at block q on tier a, with the set U of tiers used
// so far, and that will continue, is a *label* (lat, acc): every term it already owes, added in SPEC's
// canonical order (input; per partition compute, result with E_k = c_q - c_p, forward). Every completion
// adds the same terms in the same order whatever came before, and IEEE addition is monotone, so a label
// weakly dominated by another of the same state (q, a, U) can be dropped: exactly, not to a tolerance.
// Terminal plans are evaluated with the last partition's E_L = 1 - c_p when they are formed, so every
// latency and accuracy returned is bit for bit SPEC's canonical sum.
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
// Thresholds run on separate threads that share the frontier.
//
// Work and memory: a layer's candidates are (labels of the layer before) x (later ends) x (free tiers);
// the labels kept are what dominance and the bounds leave, which on realistic profiles is a small
// fraction, but in the worst case (identical tiers, free links) grows like N M 2^M. The memory of
// labels and candidates is counted against max_memory, and passing it is an error, not an exhaustion.
#include "search.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "parallel.hpp"

// The sums must round exactly as the evaluate and sweep engines round them: no fused multiply-add.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace eepart {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kRtol = 1e-12;   // frontier.py's RTOL: points this close count once
constexpr double kSlack = 1e-9;   // relative slack on the bounds, far above their rounding (~1e-15)

// lambdas of the scalarised bounds, as multiples of the latency of the whole network on its best tier
constexpr double kLambdaScale[] = {0.05, 0.25, 1.0, 4.0, 16.0, 64.0, 256.0};
constexpr int kMaxLambdas = sizeof(kLambdaScale) / sizeof(kLambdaScale[0]);

struct Label {
    double lat, acc;
    std::int32_t parent;  // arena index of the previous partition's label, -1 for the first
    std::int16_t q;       // last block of this partition
    std::int8_t tier;
};

// The labels of one state: last partition ends at p on tier a, tiers `used` so far.
struct Group {
    std::int32_t p, a;
    std::uint32_t used;
    std::int32_t begin, end;  // arena range
};

struct Cand {
    double lat, acc;
    std::int32_t parent;
};

bool canonical_less(const SearchPoint& x, const SearchPoint& y) {
    if (x.threshold_index != y.threshold_index) return x.threshold_index < y.threshold_index;
    if (x.num_partitions != y.num_partitions) return x.num_partitions < y.num_partitions;
    for (int k = 0; k < x.num_partitions; ++k)
        if (x.partitions[k] != y.partitions[k]) return x.partitions[k] < y.partitions[k];
    for (int k = 0; k < x.num_partitions; ++k)
        if (x.placement[k] != y.placement[k]) return x.placement[k] < y.placement[k];
    return false;
}

// The exact Pareto set of the points found: latency and accuracy both strictly rising. Latency and
// accuracy sit in arrays of their own, apart from the configurations, for the searches.
// Exact ties keep the configuration first in the sweep's canonical order.
class Staircase {
public:
    std::vector<double> lat, acc;
    std::vector<SearchPoint> pts;

    int size() const { return static_cast<int>(lat.size()); }

    int last_at_or_before(double x) const {
        return static_cast<int>(std::upper_bound(lat.begin(), lat.end(), x) - lat.begin()) - 1;
    }

    // last_at_or_before(x) given i = last_at_or_before(x') for some x' <= x: gallops forward from i.
    int seek(int i, double x) const {
        const int n = size();
        if (i + 1 >= n || lat[i + 1] > x) return i;
        int lo = i + 1, step = 1, hi = lo + 1;
        while (hi < n && lat[hi] <= x) {
            lo = hi;
            step *= 2;
            hi = lo + step;
        }
        if (hi > n) hi = n;
        return static_cast<int>(std::upper_bound(lat.begin() + lo, lat.begin() + hi, x) - lat.begin()) - 1;
    }

    // Adds p unless a point weakly dominates it; i = last_at_or_before(p.latency). Returns the new
    // last_at_or_before(p.latency).
    int insert(const SearchPoint& p, int i) {
        if (i >= 0 && acc[i] >= p.accuracy) {
            if (lat[i] == p.latency && acc[i] == p.accuracy && canonical_less(p, pts[i])) pts[i] = p;
            return i;
        }
        const int start = (i >= 0 && lat[i] == p.latency) ? i : i + 1;
        int end = start;
        while (end < size() && acc[end] <= p.accuracy) ++end;
        if (end > start) {
            lat[start] = p.latency;
            acc[start] = p.accuracy;
            pts[start] = p;
            lat.erase(lat.begin() + start + 1, lat.begin() + end);
            acc.erase(acc.begin() + start + 1, acc.begin() + end);
            pts.erase(pts.begin() + start + 1, pts.begin() + end);
        } else {
            lat.insert(lat.begin() + start, p.latency);
            acc.insert(acc.begin() + start, p.accuracy);
            pts.insert(pts.begin() + start, p);
        }
        return start;
    }

    void assign(const Staircase& o) {  // vectors keep their capacity
        lat = o.lat;
        acc = o.acc;
        pts = o.pts;
    }

    // The Pareto set of the union with another staircase, in one linear pass.
    void merge_from(const Staircase& o) {
        all_.clear();
        all_.reserve(pts.size() + o.pts.size());
        std::merge(pts.begin(), pts.end(), o.pts.begin(), o.pts.end(), std::back_inserter(all_),
                   [](const SearchPoint& x, const SearchPoint& y) {
                       if (x.latency != y.latency) return x.latency < y.latency;
                       if (x.accuracy != y.accuracy) return x.accuracy > y.accuracy;
                       return canonical_less(x, y);
                   });
        pts.clear();
        lat.clear();
        acc.clear();
        for (const auto& p : all_) {
            if (!acc.empty() && p.accuracy <= acc.back()) continue;
            pts.push_back(p);
            lat.push_back(p.latency);
            acc.push_back(p.accuracy);
        }
    }

private:
    std::vector<SearchPoint> all_;
};

// Is every completion of a label inside the region the staircase dominates (or outside the bounds)?
// The completions lie in {lat >= x0, acc <= y1, lat - lam_j acc >= beta_j}, a region closed under
// rising latency and falling accuracy, so it suffices to check its upper-left boundary y(x), which
// rises with x, at the right end of each step of the staircase.
bool region_dominated(const Staircase& s, double x0, double y1, const double* beta, const double* lam, int J,
                      double min_acc, double max_lat) {
    if (x0 > max_lat || y1 < min_acc) return true;
    const int n = s.size();
    for (int i = s.last_at_or_before(x0);; ++i) {
        double best = i >= 0 ? s.acc[i] : -kInf;  // the staircase on [F_i.lat, F_{i+1}.lat)
        if (y1 <= best) return true;               // and on every later step
        double xe = i + 1 < n ? s.lat[i + 1] : kInf;
        bool ends = false;
        if (xe >= max_lat) {
            xe = max_lat;
            ends = true;
        }
        if (xe == kInf) return false;  // y reaches y1 > best
        bool ok = false;                // y(xe) <= best, or y(xe) < min_acc
        for (int j = 0; j < J && !ok; ++j) {
            double lhs = xe - beta[j];
            ok = lhs <= lam[j] * best || lhs < lam[j] * min_acc;
        }
        if (!ok) return false;
        if (ends) return true;
    }
}

struct Shared {
    const Tables& T;
    const SearchOptions& opt;
    int lmax = 1;
    double lat_big = 0;  // no plan's latency exceeds it: the scale of the slack
    std::vector<double> lam;

    std::mutex mu;
    Staircase frontier;  // all threads' finds
    std::uint64_t version = 0;
    std::atomic<long long> bytes{0};
    std::atomic<long long> peak{0};
    std::atomic<std::uint64_t> labels{0}, candidates{0}, pruned{0}, terminals{0};

    Shared(const Tables& t, const SearchOptions& o) : T(t), opt(o) {}
};

class ThresholdSearch {
public:
    // One per worker, reused from threshold to threshold: its buffers keep their capacity.
    explicit ThresholdSearch(Shared& sh) : sh_(sh), T_(sh.T), N_(sh.T.N), M_(sh.T.M) {}

    ~ThresholdSearch() { sh_.bytes -= reported_; }

    void run(int t, const std::atomic<bool>& cancel) {
        t_ = t;
        cancel_ = &cancel;
        labels_ = candidates_ = pruned_ = terminals_ = 0;
        seen_ = ~std::uint64_t(0);
        dirty_ = false;
        sync();
        c_.resize(N_ + 1);
        S_.resize(N_ + 1);
        for (int i = 0; i <= N_; ++i) {
            c_[i] = T_.cum(t_, i);
            S_[i] = 1.0 - c_[i];
        }
        compute_bounds();
        first_layer();
        for (int L = 1; L < sh_.lmax && !cur_.empty() && !cancelled(); ++L) {
            next_layer(L);
            prune(next_);
            sort_groups(next_);
            sync();
            cur_.swap(next_);
        }
        sync(true);
        sh_.labels += labels_;
        sh_.candidates += candidates_;
        sh_.pruned += pruned_;
        sh_.terminals += terminals_;
    }

private:
    Shared& sh_;
    const Tables& T_;
    int t_ = 0;
    const std::atomic<bool>* cancel_ = nullptr;
    const int N_, M_;

    bool cancelled() const { return cancel_->load(std::memory_order_relaxed); }

    std::vector<double> c_, S_;  // c_i and 1 - c_i at this threshold
    int J_ = 0;
    std::vector<double> phi_;     // [q][a][j], j = 0 is lambda = 0: the latency lower bound
    std::vector<double> acc_ub_;  // [q]
    std::vector<double> slack_;   // [j]
    std::vector<double> psi_;     // [q][b][j]: phi's part after the move to b
    std::vector<double> lam_, r_, best_, s_;  // compute_bounds' scratch
    std::vector<std::uint16_t> skip_;     // per label of cur_: next tiers whose completions are dominated

    Staircase stair_;
    bool dirty_ = false;          // stair_ has points the shared frontier lacks
    std::uint64_t seen_ = ~std::uint64_t(0);
    std::vector<Label> arena_;    // every label of this threshold; a layer is a contiguous range
    std::vector<Group> cur_, next_;  // a layer's states, sorted by (used, p)
    std::vector<Cand> cands_, merged_;  // one state's candidates, one run per source group
    std::vector<std::size_t> runs_;     // where each run starts in cands_, and the end
    struct Run {
        std::size_t begin, end, cut;  // groups of cur_ [begin, end) share `used`; [begin, cut) have p < q
        std::size_t labels;           // labels in [begin, cut)
    };
    std::vector<Run> layer_runs_;       // cur_ by `used`, rising
    long long reported_ = 0;
    std::uint64_t labels_ = 0, candidates_ = 0, pruned_ = 0, terminals_ = 0;

    // Relaxed lower bounds of (added latency - lambda_j * added accuracy) over the completions of a label
    // at (q, a), for all lambdas at once (j = 0: lambda = 0, the latency bound): the next tiers need only
    // differ from the one before. phi(q, a) = min over b != a of S_q forward(q, a, b) + psi(q, b), where
    // psi(q, b) = min over q' of the partition (q, q'] on b, then the end or phi(q', b).
    // phi_ is laid out [q][a][j] so that the lambdas of one state sit side by side (and vectorise).
    void compute_bounds() {
        J_ = static_cast<int>(sh_.lam.size());
        const int W = J_ + 1;
        std::vector<double>& lam = lam_;
        lam.assign(W, 0.0);
        std::copy(sh_.lam.begin(), sh_.lam.end(), lam.begin() + 1);
        // Lanes (b, j), side by side so that the loops over them vectorise.
        const std::size_t lanes = static_cast<std::size_t>(M_) * W;
        // r[q'][b][j] = result(b) - lambda_j acc(q'): what one sample leaving at q' on b adds.
        std::vector<double>& r = r_;
        r.resize((N_ + 1) * lanes);
        for (int q2 = 1; q2 <= N_; ++q2)
            for (int b = 0; b < M_; ++b)
                for (int j = 0; j < W; ++j) r[q2 * lanes + b * W + j] = T_.result(b) - lam[j] * T_.acc(t_, q2);
        phi_.assign((N_ + 1) * lanes, kInf);
        psi_.assign((N_ + 1) * lanes, kInf);
        std::vector<double>& best = best_;
        std::vector<double>& s = s_;
        best.resize(lanes);
        s.resize(lanes);
        for (int q = N_ - 1; q >= 1; --q) {
            const double Sq = S_[q];
            std::fill(best.begin(), best.end(), kInf);
            for (int q2 = q + 1; q2 <= N_; ++q2) {
                for (int b = 0; b < M_; ++b) std::fill_n(&s[b * W], W, Sq * T_.compute(b, q, q2));
                const double* rq = &r[q2 * lanes];
                if (q2 < N_) {
                    const double E = c_[q2] - c_[q];
                    const double* next = &phi_[q2 * lanes];
                    for (std::size_t l = 0; l < lanes; ++l)
                        best[l] = std::min(best[l], std::min(Sq * rq[l], E * rq[l] + next[l]) + s[l]);
                } else {
                    for (std::size_t l = 0; l < lanes; ++l) best[l] = std::min(best[l], Sq * rq[l] + s[l]);
                }
            }
            std::copy(best.begin(), best.end(), psi_.begin() + q * lanes);
            for (int a = 0; a < M_; ++a) {
                double* out = &phi_[q * lanes + a * W];
                for (int b = 0; b < M_; ++b) {
                    if (b == a) continue;
                    const double f = Sq * T_.forward(q, a, b);
                    const double* ps = &psi_[q * lanes + b * W];
                    for (int j = 0; j < W; ++j) out[j] = std::min(out[j], f + ps[j]);
                }
            }
        }
        slack_.assign(W, 0.0);
        for (int j = 0; j < W; ++j) slack_[j] = kSlack * (sh_.lat_big + lam[j]);
        // The most accuracy the samples still in the network at q can add, relaxed likewise.
        acc_ub_.assign(N_ + 1, 0.0);
        for (int q = N_ - 1; q >= 1; --q) {
            double top = 0.0;
            for (int q2 = q + 1; q2 <= N_; ++q2) {
                double v = S_[q] * T_.acc(t_, q2);
                if (q2 < N_) v = std::max(v, (c_[q2] - c_[q]) * T_.acc(t_, q2) + acc_ub_[q2]);
                top = std::max(top, v);
            }
            acc_ub_[q] = top;
        }
    }

    // Are all completions of label l dominated, given lower bounds `bound` (one per lambda lane) on
    // what they add?
    bool completions_dominated(const Label& l, double add, const double* bound) const {
        double x0 = l.lat + (add + bound[0]) - slack_[0];
        double y1 = l.acc + acc_ub_[l.q] + kSlack;
        double beta[kMaxLambdas];
        for (int j = 0; j < J_; ++j) beta[j] = l.lat - sh_.lam[j] * l.acc + (add + bound[j + 1]) - slack_[j + 1];
        return region_dominated(stair_, x0, y1, beta, sh_.lam.data(), J_, sh_.opt.min_accuracy,
                                sh_.opt.max_latency);
    }

    bool label_dominated(const Label& l) const {
        return completions_dominated(l, 0.0, &phi_[(static_cast<std::size_t>(l.q) * M_ + l.tier) * (J_ + 1)]);
    }

    // The next tiers b whose completions (next partition on b) are all dominated already.
    std::uint16_t dominated_next_tiers(const Label& l, std::uint32_t used) const {
        std::uint16_t mask = 0;
        const double S = S_[l.q];
        for (int b = 0; b < M_; ++b) {
            if (used >> b & 1u) continue;
            const double* psi = &psi_[(static_cast<std::size_t>(l.q) * M_ + b) * (J_ + 1)];
            if (completions_dominated(l, S * T_.forward(l.q, l.tier, b), psi)) mask |= std::uint16_t(1u << b);
        }
        return mask;
    }

    SearchPoint make_point(double lat, double acc, std::int32_t parent, int q, int b) const {
        SearchPoint p;
        p.latency = lat;
        p.accuracy = acc;
        p.threshold_index = t_;
        int rev_q[kMaxTiers], rev_a[kMaxTiers];
        int L = 0;
        rev_q[L] = q;
        rev_a[L++] = b;
        for (std::int32_t i = parent; i >= 0; i = arena_[i].parent) {
            rev_q[L] = arena_[i].q;
            rev_a[L++] = arena_[i].tier;
        }
        p.num_partitions = L;
        for (int k = 0; k < L; ++k) {
            p.partitions[k] = static_cast<std::int16_t>(rev_q[L - 1 - k]);
            p.placement[k] = static_cast<std::int8_t>(rev_a[L - 1 - k]);
        }
        return p;
    }

    // A complete plan, its last partition (.., q] on tier b. `hint` is last_at_or_before of a latency
    // no larger than this one (or -2: unknown) and comes back updated for this latency.
    void terminal(double lat, double acc, std::int32_t parent, int q, int b, int& hint) {
        ++terminals_;
        if (!(lat <= sh_.opt.max_latency && acc >= sh_.opt.min_accuracy)) return;
        int i = hint == -2 ? stair_.last_at_or_before(lat) : stair_.seek(hint, lat);
        hint = i;
        if (i >= 0 && stair_.acc[i] >= acc && !(stair_.lat[i] == lat && stair_.acc[i] == acc)) return;
        hint = stair_.insert(make_point(lat, acc, parent, q, b), i);
        dirty_ = true;
    }

    [[noreturn]] void over_cap() const {
        std::ostringstream s;
        s << "pareto: the search needs more than max_memory = " << sh_.opt.max_memory
          << " bytes for its partial plans (N = " << N_ << ", M = " << M_ << ", K = " << T_.K
          << "); raise max_memory, or narrow the search with min_accuracy / max_latency";
        throw std::invalid_argument(s.str());
    }

    void account() {
        long long now = static_cast<long long>(arena_.capacity() * sizeof(Label) + (cands_.capacity() + merged_.capacity()) * sizeof(Cand) +
                                               (cur_.capacity() + next_.capacity()) * sizeof(Group) +
                                               stair_.pts.capacity() * (sizeof(SearchPoint) + 16));
        long long total = (sh_.bytes += now - reported_);
        reported_ = now;
        long long peak = sh_.peak.load();
        while (total > peak && !sh_.peak.compare_exchange_weak(peak, total)) {
        }
        if (total > static_cast<long long>(sh_.opt.max_memory)) over_cap();
    }

    // Grows a vector to hold `need` elements, by doubling where the cap allows, else exactly; checks the
    // cap before allocating, so that the machine never runs out first.
    template <class V>
    void make_room(V& v, std::size_t need) {
        if (v.capacity() >= need) return;
        const std::size_t elem = sizeof(typename V::value_type);
        const long long cap = static_cast<long long>(sh_.opt.max_memory);
        const long long now = sh_.bytes.load();
        std::size_t want = std::max(need, 2 * v.capacity());
        if (now + static_cast<long long>((want - v.capacity()) * elem) > cap) want = need;
        if (need > static_cast<std::size_t>(cap) / elem || need > 0x7fffffffu ||
            now + static_cast<long long>((want - v.capacity()) * elem) > cap)
            over_cap();
        v.reserve(want);
        account();
    }

    static void sort_groups(std::vector<Group>& groups) {
        std::stable_sort(groups.begin(), groups.end(),
                         [](const Group& x, const Group& y) { return x.used != y.used ? x.used < y.used : x.p < y.p; });
    }

    void first_layer() {
        arena_.clear();
        cur_.clear();
        const bool cont = sh_.lmax > 1;
        make_room(arena_, cont ? static_cast<std::size_t>(N_) * M_ : 0);
        make_room(cur_, cont ? static_cast<std::size_t>(N_) * M_ : 0);
        for (int q = 1; q <= N_; ++q) {
            const double accq = T_.acc(t_, q);
            for (int b = 0; b < M_; ++b) {
                // lat = input; lat += in_1 * compute; lat += E_1 * result (in_1 = 1 - c_0)
                double x = T_.input(b) + S_[0] * T_.compute(b, 0, q);
                int hint = -2;
                terminal(x + S_[0] * T_.result(b), 0.0 + accq * S_[0], -1, q, b, hint);
                if (cont && q < N_) {
                    double E = c_[q] - c_[0];
                    cur_.push_back({q, b, 1u << b, static_cast<std::int32_t>(arena_.size()),
                                    static_cast<std::int32_t>(arena_.size() + 1)});
                    arena_.push_back({x + E * T_.result(b), 0.0 + accq * E, -1, static_cast<std::int16_t>(q),
                                      static_cast<std::int8_t>(b)});
                }
            }
        }
        labels_ += arena_.size();
        candidates_ += arena_.size();
        prune(cur_);
        sort_groups(cur_);
        sync();
    }

    // Layer L+1 from layer L. A state (q, b, U') of the new layer draws on the states (p < q, a, U' - b)
    // of the old one only: one run of cur_ (same `used`), cut at p < q.
    void next_layer(int L) {
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
                        const int p = g.p, a = g.a;
                        const double Sp = S_[p];
                        const double E = c_[q] - c_[p];
                        // lat += S_k forward; lat += in_{k+1} compute; lat += E_{k+1} result (in = S_k = 1 - c_p)
                        const double sf = Sp * T_.forward(p, a, b);
                        const double sc = Sp * T_.compute(b, p, q);
                        const double rt = Sp * T_.result(b), rc = E * T_.result(b);
                        const double acc_end = accq * Sp, acc_cont = accq * E;
                        // A state's labels rise in latency and accuracy, and so do their terminals.
                        int hint = -2;
                        runs_.push_back(cands_.size());
                        for (std::int32_t i = g.begin; i < g.end; ++i) {
                            if (skip_[i - base] >> b & 1u) continue;
                            const Label& l = arena_[i];
                            const double x = (l.lat + sf) + sc;
                            terminal(x + rt, l.acc + acc_end, i, q, b, hint);
                            if (cont) cands_.push_back({x + rc, l.acc + acc_cont, i});
                        }
                    }
                    if (cont) keep_nondominated(q, b, used | 1u << b);
                }
            }
        }
        account();
    }

    static bool cand_less(const Cand& x, const Cand& y) {
        if (x.lat != y.lat) return x.lat < y.lat;
        if (x.acc != y.acc) return x.acc > y.acc;
        return x.parent < y.parent;
    }

    // Labels of one state weakly dominated by another go: in the order of cand_less (latency rising,
    // accuracy falling on ties), keep those more accurate than every one before. Each source group gives
    // a run already in that order (its labels are a staircase and the same terms are added to all), so
    // the runs are filtered, then merged pairwise, filtering again: the kept set is the same as sorting
    // all and filtering once, at a fraction of the cost, since most candidates fall early.
    void keep_nondominated(int q, int b, std::uint32_t used) {
        if (cands_.empty()) return;
        candidates_ += cands_.size();
        runs_.push_back(cands_.size());
        if (cands_.size() < 4 * runs_.size()) {  // short runs: one sort costs less than the merges
            std::sort(cands_.begin(), cands_.end(), cand_less);
            runs_.assign({0, cands_.size()});
        }
        std::size_t w = 0;
        for (std::size_t r = 0; r + 1 < runs_.size(); ++r) {
            const auto first = cands_.begin() + runs_[r], last = cands_.begin() + runs_[r + 1];
            if (!std::is_sorted(first, last, cand_less)) std::sort(first, last, cand_less);  // rounding ties only
            runs_[r] = w;
            double best = -kInf;
            for (auto it = first; it != last; ++it)
                if (it->acc > best) {
                    best = it->acc;
                    cands_[w++] = *it;
                }
        }
        runs_.back() = w;
        cands_.resize(w);
        while (runs_.size() > 2) {
            merged_.clear();
            std::size_t out = 0;
            for (std::size_t r = 0; r + 1 < runs_.size(); r += 2) {
                const std::size_t start = merged_.size();
                const Cand *x = &cands_[runs_[r]], *xe = &cands_[runs_[r + 1]];
                const Cand *y = xe, *ye = xe;
                if (r + 2 < runs_.size()) ye = &cands_[runs_[r + 2]];
                double best = -kInf;
                while (x != xe || y != ye) {
                    const Cand& c = (y == ye || (x != xe && !cand_less(*y, *x))) ? *x++ : *y++;
                    if (c.acc > best) {
                        best = c.acc;
                        merged_.push_back(c);
                    }
                }
                runs_[out++] = start;
            }
            runs_[out++] = merged_.size();
            runs_.resize(out);
            cands_.swap(merged_);
        }
        drop_dominated_by_subsets(q, b, used);
        w = cands_.size();
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
            if (g == nullptr) continue;
            // Both rise in latency and accuracy: walk them together.
            std::size_t w = 0;
            std::int32_t j = g->begin;
            for (std::size_t i = 0; i < cands_.size(); ++i) {
                while (j < g->end && arena_[j].lat <= cands_[i].lat) ++j;
                if (!(j > g->begin && arena_[j - 1].acc >= cands_[i].acc)) cands_[w++] = cands_[i];
            }
            cands_.resize(w);
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

    // Shares this threshold's finds with the other threads and takes theirs. While no other thread has
    // found anything, ours can wait for the end of the threshold (`last`): stair_ already holds all.
    void sync(bool last = false) {
        std::lock_guard<std::mutex> lock(sh_.mu);
        const bool theirs = seen_ != sh_.version;
        if (!theirs && !last) return;
        if (dirty_) {
            sh_.frontier.merge_from(stair_);
            ++sh_.version;
            dirty_ = false;
        }
        if (theirs) stair_.assign(sh_.frontier);  // else the frontier is now stair_ itself
        seen_ = sh_.version;
    }
};

// frontier.py's frontier_indices on the exact Pareto set (every point there is a candidate).
std::vector<SearchPoint> apply_tolerance(const std::vector<SearchPoint>& pts) {
    auto close = [](double a, double b) { return std::fabs(a - b) <= kRtol * std::max(std::fabs(a), std::fabs(b)); };
    std::vector<SearchPoint> kept;
    for (const auto& p : pts) {
        if (!kept.empty()) {
            const auto& last = kept.back();
            if (p.accuracy <= last.accuracy || close(p.accuracy, last.accuracy)) continue;
            while (!kept.empty() && close(p.latency, kept.back().latency)) kept.pop_back();
        }
        kept.push_back(p);
    }
    return kept;
}

// The best single-partition plan (t, [q], [b]), summed as ThresholdSearch::first_layer sums it: its
// latency is the same at every threshold (c_0 = 0), its accuracy acc(t, q) is highest at the first t
// whose accuracy row is highest at q (every t when accuracy has one row).
SearchPoint single_partition(const Tables& T, int q, int b) {
    int best_t = 0;
    if (T.acc_stride != 0)
        for (int t = 1; t < T.K; ++t)
            if (T.acc(t, q) > T.acc(best_t, q)) best_t = t;
    const double S0 = 1.0 - T.cum(best_t, 0);
    SearchPoint p;
    p.latency = (T.input(b) + S0 * T.compute(b, 0, q)) + S0 * T.result(b);
    p.accuracy = 0.0 + T.acc(best_t, q) * S0;
    p.threshold_index = best_t;
    p.num_partitions = 1;
    p.partitions[0] = static_cast<std::int16_t>(q);
    p.placement[0] = static_cast<std::int8_t>(b);
    return p;
}

// The frontier starts with every single-partition plan that meets the bounds: N M plans, cheap, and
// often most of the frontier's reach, so that the threads prune from their first label on.
void seed_single_partitions(const Tables& T, const SearchOptions& opt, Staircase& s) {
    for (int q = 1; q <= T.N; ++q)
        for (int b = 0; b < T.M; ++b) {
            SearchPoint p = single_partition(T, q, b);
            if (p.latency <= opt.max_latency && p.accuracy >= opt.min_accuracy)
                s.insert(p, s.last_at_or_before(p.latency));
        }
}

// The lambdas of the scalarised bounds: the trade-offs (latency per accuracy) along the upper convex
// hull of the single-partition plans, whose corners the whole frontier's hull mostly shares; at most
// `most` of them, spread evenly. Without a hull, multiples of the whole network's latency.
std::vector<double> choose_lambdas(const Tables& T, int most) {
    std::vector<std::pair<double, double>> pts;
    for (int q = 1; q <= T.N; ++q)
        for (int b = 0; b < T.M; ++b) {
            SearchPoint p = single_partition(T, q, b);
            pts.emplace_back(p.latency, p.accuracy);
        }
    std::sort(pts.begin(), pts.end(), [](const auto& x, const auto& y) {
        return x.first != y.first ? x.first < y.first : x.second > y.second;
    });
    std::vector<std::pair<double, double>> hull;  // latency and accuracy rising, slopes falling
    for (const auto& p : pts) {
        if (!hull.empty() && p.second <= hull.back().second) continue;
        while (hull.size() >= 2) {
            const auto& a = hull[hull.size() - 2];
            const auto& b = hull.back();
            if ((b.second - a.second) * (p.first - a.first) <= (p.second - a.second) * (b.first - a.first))
                hull.pop_back();
            else
                break;
        }
        hull.push_back(p);
    }
    std::vector<double> slopes;
    for (std::size_t i = 1; i < hull.size(); ++i) {
        double s = (hull[i].first - hull[i - 1].first) / (hull[i].second - hull[i - 1].second);
        if (s > 0 && std::isfinite(s)) slopes.push_back(s);
    }
    std::vector<double> lam;
    if (most <= 0) return lam;
    if (slopes.empty()) {
        double whole = kInf;
        for (int a = 0; a < T.M; ++a) whole = std::min(whole, T.input(a) + T.compute(a, 0, T.N) + T.result(a));
        if (!(whole > 0) || !std::isfinite(whole)) return lam;
        for (int j = 0; j < kMaxLambdas && j < most; ++j) lam.push_back(kLambdaScale[j] * whole);
        return lam;
    }
    std::sort(slopes.begin(), slopes.end());
    const std::size_t n = slopes.size(), k = std::min<std::size_t>(n, static_cast<std::size_t>(most));
    for (std::size_t j = 0; j < k; ++j) lam.push_back(slopes[k == 1 ? 0 : j * (n - 1) / (k - 1)]);
    return lam;
}

}  // namespace

std::vector<SearchPoint> pareto_search(const Tables& T, const SearchOptions& opt, SearchStats* stats) {
    if (std::isnan(opt.min_accuracy)) throw std::invalid_argument("min_accuracy = nan: must be a number");
    if (std::isnan(opt.max_latency)) throw std::invalid_argument("max_latency = nan: must be a number");
    if (opt.threads < 0)
        throw std::invalid_argument("threads = " + std::to_string(opt.threads) + ": must be >= 0 (0: one per core)");
    if (opt.max_memory == 0) throw std::invalid_argument("max_memory = 0: must be a positive number of bytes");

    Shared sh(T, opt);
    sh.lmax = T.max_partitions();
    const int N = T.N, M = T.M;
    double max_in = 0, max_res = 0, max_fwd = 0;
    for (int a = 0; a < M; ++a) {
        max_in = std::max(max_in, T.input(a));
        max_res = std::max(max_res, T.result(a));
    }
    const double max_comp = T.largest_compute();
    for (std::size_t i = 0; i < static_cast<std::size_t>(N) * M * M; ++i) max_fwd = std::max(max_fwd, T.forward_cost[i]);
    sh.lat_big = max_in + sh.lmax * (max_comp + max_res + max_fwd);
    seed_single_partitions(T, opt, sh.frontier);
    // Each lambda adds a lane to a relaxed programme of N^2 M per threshold; large instances take fewer.
    if (sh.lmax > 1) {
        const double per_lambda = static_cast<double>(N) * N * M * T.K;
        int most = 0;
        while (most < kMaxLambdas && (most + 2) * per_lambda < 4e9) ++most;
        sh.lam = choose_lambdas(T, most);
    }

    const double work = static_cast<double>(T.K) * N * N * M * M;
    int threads = std::min(resolve_threads(opt.threads), T.K);
    std::vector<std::unique_ptr<ThresholdSearch>> idle;  // workers' buffers, kept between thresholds
    std::mutex idle_mu;
    auto body = [&](std::size_t t, const std::atomic<bool>& cancel) {
        std::unique_ptr<ThresholdSearch> w;
        {
            std::lock_guard<std::mutex> lock(idle_mu);
            if (!idle.empty()) {
                w = std::move(idle.back());
                idle.pop_back();
            }
        }
        if (!w) w = std::make_unique<ThresholdSearch>(sh);
        w->run(static_cast<int>(t), cancel);
        std::lock_guard<std::mutex> lock(idle_mu);
        idle.push_back(std::move(w));
    };
    if (work < 2e5) {
        // Too small for a thread and a Ctrl-C poll to pay: milliseconds at most.
        std::atomic<bool> never{false};
        for (int t = 0; t < T.K; ++t) body(t, never);
    } else {
        parallel_for(static_cast<std::size_t>(T.K), threads, body);
    }

    if (stats) {
        stats->labels = sh.labels;
        stats->candidates = sh.candidates;
        stats->pruned = sh.pruned;
        stats->terminals = sh.terminals;
        stats->peak_bytes = static_cast<std::size_t>(sh.peak.load());
    }
    return apply_tolerance(sh.frontier.pts);
}

}  // namespace eepart
