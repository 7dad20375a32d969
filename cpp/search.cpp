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
// Labels are built layer by layer (number of partitions L = 1, 2, ...): short plans, cheap to find, fill
// the frontier first and prune the longer ones. A label is pruned when every completion it could have
// is weakly dominated by a point already found. Its completions are bounded by relaxed backward
// programmes (tiers need only differ from the previous one): a latency lower bound, an accuracy upper
// bound, and lower bounds on lat - lambda * acc for a few lambdas, which cut the corner of the box where
// high accuracy at low latency would be. Thresholds run on separate threads that share the frontier.
#include "search.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
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

    // The Pareto set of the union of two staircases, in linear time.
    void merge_from(const Staircase& o) {
        std::vector<SearchPoint> all;
        all.reserve(pts.size() + o.pts.size());
        std::merge(pts.begin(), pts.end(), o.pts.begin(), o.pts.end(), std::back_inserter(all),
                   [](const SearchPoint& x, const SearchPoint& y) {
                       if (x.latency != y.latency) return x.latency < y.latency;
                       if (x.accuracy != y.accuracy) return x.accuracy > y.accuracy;
                       return canonical_less(x, y);
                   });
        pts.clear();
        lat.clear();
        acc.clear();
        for (const auto& p : all) {
            if (!acc.empty() && p.accuracy <= acc.back()) continue;
            pts.push_back(p);
            lat.push_back(p.latency);
            acc.push_back(p.accuracy);
        }
    }
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
    ThresholdSearch(Shared& sh, int t, const std::atomic<bool>& cancel)
        : sh_(sh), T_(sh.T), t_(t), cancel_(cancel), N_(sh.T.N), M_(sh.T.M) {}

    ~ThresholdSearch() { sh_.bytes -= reported_; }

    void run() {
        sync();
        c_.resize(N_ + 1);
        S_.resize(N_ + 1);
        for (int i = 0; i <= N_; ++i) {
            c_[i] = T_.cum(t_, i);
            S_[i] = 1.0 - c_[i];
        }
        compute_bounds();
        first_layer();
        for (int L = 1; L < sh_.lmax && !cur_.empty() && !cancel_; ++L) {
            next_layer(L);
            prune(next_);
            sort_groups(next_);
            sync();
            cur_.swap(next_);
        }
        sync();
        sh_.labels += labels_;
        sh_.candidates += candidates_;
        sh_.pruned += pruned_;
        sh_.terminals += terminals_;
    }

private:
    Shared& sh_;
    const Tables& T_;
    const int t_;
    const std::atomic<bool>& cancel_;
    const int N_, M_;

    std::vector<double> c_, S_;  // c_i and 1 - c_i at this threshold
    int J_ = 0;
    std::vector<double> phi_;     // [j][q][a], j = 0 is lambda = 0: the latency lower bound
    std::vector<double> acc_ub_;  // [q]
    std::vector<double> slack_;   // [j]

    Staircase stair_;
    bool dirty_ = false;          // stair_ has points the shared frontier lacks
    std::uint64_t seen_ = ~std::uint64_t(0);
    std::vector<Label> arena_;    // every label of this threshold; a layer is a contiguous range
    std::vector<Group> cur_, next_;  // a layer's states, sorted by (used, p)
    std::vector<Cand> cands_;     // one state's candidates
    long long reported_ = 0;
    std::uint64_t labels_ = 0, candidates_ = 0, pruned_ = 0, terminals_ = 0;

    // Relaxed lower bound of (added latency - lambda * added accuracy) over the completions of a label
    // at (q, a): the next tiers need only differ from the one before. phi(q, a) = min over b != a of
    // S_q forward(q, a, b) + psi(q, b), psi(q, b) = min over q' of the partition (q, q'] on b, then end or go on.
    void relaxed_bound(double lambda, double* phi) {
        std::vector<double> psi(M_);
        for (int a = 0; a < M_; ++a) phi[N_ * M_ + a] = kInf;
        for (int q = N_ - 1; q >= 1; --q) {
            const double Sq = S_[q];
            for (int b = 0; b < M_; ++b) {
                const double rb = T_.result(b);
                const double* comp = &T_.compute_cost[(static_cast<std::size_t>(b) * (N_ + 1) + q) * (N_ + 1)];
                double best = kInf;
                for (int q2 = q + 1; q2 <= N_; ++q2) {
                    double r = rb - lambda * T_.acc(q2);
                    double v = Sq * r;
                    if (q2 < N_) v = std::min(v, (c_[q2] - c_[q]) * r + phi[q2 * M_ + b]);
                    best = std::min(best, v + Sq * comp[q2]);
                }
                psi[b] = best;
            }
            for (int a = 0; a < M_; ++a) {
                double best = kInf;
                for (int b = 0; b < M_; ++b)
                    if (b != a) best = std::min(best, Sq * T_.forward(q, a, b) + psi[b]);
                phi[q * M_ + a] = best;
            }
        }
    }

    void compute_bounds() {
        J_ = static_cast<int>(sh_.lam.size());
        const std::size_t stride = static_cast<std::size_t>(N_ + 1) * M_;
        phi_.assign((J_ + 1) * stride, kInf);
        slack_.assign(J_ + 1, 0.0);
        relaxed_bound(0.0, phi_.data());
        slack_[0] = kSlack * sh_.lat_big;
        for (int j = 0; j < J_; ++j) {
            relaxed_bound(sh_.lam[j], phi_.data() + (j + 1) * stride);
            slack_[j + 1] = kSlack * (sh_.lat_big + sh_.lam[j]);
        }
        // The most accuracy the samples still in the network at q can add, relaxed likewise.
        acc_ub_.assign(N_ + 1, 0.0);
        for (int q = N_ - 1; q >= 1; --q) {
            double best = 0.0;
            for (int q2 = q + 1; q2 <= N_; ++q2) {
                double v = S_[q] * T_.acc(q2);
                if (q2 < N_) v = std::max(v, (c_[q2] - c_[q]) * T_.acc(q2) + acc_ub_[q2]);
                best = std::max(best, v);
            }
            acc_ub_[q] = best;
        }
    }

    bool label_dominated(const Label& l) const {
        const std::size_t stride = static_cast<std::size_t>(N_ + 1) * M_;
        const std::size_t s = static_cast<std::size_t>(l.q) * M_ + l.tier;
        double x0 = l.lat + phi_[s] - slack_[0];
        double y1 = l.acc + acc_ub_[l.q] + kSlack;
        double beta[kMaxLambdas];
        for (int j = 0; j < J_; ++j)
            beta[j] = l.lat - sh_.lam[j] * l.acc + phi_[(j + 1) * stride + s] - slack_[j + 1];
        return region_dominated(stair_, x0, y1, beta, sh_.lam.data(), J_, sh_.opt.min_accuracy,
                                sh_.opt.max_latency);
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
        long long now = static_cast<long long>(arena_.capacity() * sizeof(Label) + cands_.capacity() * sizeof(Cand) +
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
            const double accq = T_.acc(q);
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
        struct Run {
            std::size_t begin, end, cut;  // groups [begin, end) share `used`; [begin, cut) have p < q
            std::size_t labels;           // labels in [begin, cut)
        };
        std::vector<Run> runs;
        for (std::size_t g = 0; g < cur_.size();) {
            std::size_t e = g;
            while (e < cur_.size() && cur_[e].used == cur_[g].used) ++e;
            runs.push_back({g, e, g, 0});
            g = e;
        }
        for (int q = 2; q <= N_; ++q) {
            if (cancel_.load(std::memory_order_relaxed)) return;
            const bool cont = cont_possible && q < N_;
            const double accq = T_.acc(q);
            for (Run& r : runs) {
                while (r.cut < r.end && cur_[r.cut].p < q) {
                    r.labels += static_cast<std::size_t>(cur_[r.cut].end - cur_[r.cut].begin);
                    ++r.cut;
                }
                if (r.cut == r.begin) continue;
                const std::uint32_t used = cur_[r.begin].used;
                if (cont) make_room(cands_, r.labels);
                for (int b = 0; b < M_; ++b) {
                    if (used >> b & 1u) continue;
                    cands_.clear();
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
                        for (std::int32_t i = g.begin; i < g.end; ++i) {
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

    // Labels of one state weakly dominated by another go: sort by latency (accuracy falling on ties)
    // and keep those more accurate than every faster one.
    void keep_nondominated(int q, int b, std::uint32_t used) {
        if (cands_.empty()) return;
        candidates_ += cands_.size();
        std::sort(cands_.begin(), cands_.end(), [](const Cand& x, const Cand& y) {
            if (x.lat != y.lat) return x.lat < y.lat;
            if (x.acc != y.acc) return x.acc > y.acc;
            return x.parent < y.parent;
        });
        std::size_t w = 0;
        double best = -kInf;
        for (std::size_t i = 0; i < cands_.size(); ++i) {
            if (cands_[i].acc > best) {
                best = cands_[i].acc;
                cands_[w++] = cands_[i];
            }
        }
        make_room(arena_, arena_.size() + w);
        make_room(next_, next_.size() + 1);
        labels_ += w;
        const auto begin = static_cast<std::int32_t>(arena_.size());
        for (std::size_t i = 0; i < w; ++i)
            arena_.push_back({cands_[i].lat, cands_[i].acc, cands_[i].parent, static_cast<std::int16_t>(q),
                              static_cast<std::int8_t>(b)});
        next_.push_back({q, b, used, begin, static_cast<std::int32_t>(arena_.size())});
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

    // Shares this threshold's finds with the other threads and takes theirs.
    void sync() {
        std::lock_guard<std::mutex> lock(sh_.mu);
        if (dirty_) {
            sh_.frontier.merge_from(stair_);
            ++sh_.version;
            dirty_ = false;
        }
        if (seen_ != sh_.version) {
            stair_ = sh_.frontier;
            seen_ = sh_.version;
        }
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
    double max_in = 0, max_res = 0, max_comp = 0, max_fwd = 0, whole = kInf;
    for (int a = 0; a < M; ++a) {
        max_in = std::max(max_in, T.input(a));
        max_res = std::max(max_res, T.result(a));
        for (int p = 0; p < N; ++p)
            for (int q = p + 1; q <= N; ++q) max_comp = std::max(max_comp, T.compute(a, p, q));
        whole = std::min(whole, T.input(a) + T.compute(a, 0, N) + T.result(a));
    }
    for (std::size_t i = 0; i < static_cast<std::size_t>(N) * M * M; ++i) max_fwd = std::max(max_fwd, T.forward_cost[i]);
    sh.lat_big = max_in + sh.lmax * (max_comp + max_res + max_fwd);
    // Each lambda costs a relaxed programme of N^2 M per threshold; large instances take fewer.
    if (whole > 0 && sh.lmax > 1) {
        const double per_lambda = static_cast<double>(N) * N * M * T.K;
        for (int j = 0; j < kMaxLambdas && (j + 2) * per_lambda < 4e9; ++j) sh.lam.push_back(kLambdaScale[j] * whole);
    }

    const double work = static_cast<double>(T.K) * N * N * M * M;
    int threads = std::min(resolve_threads(opt.threads), T.K);
    auto body = [&sh](std::size_t t, const std::atomic<bool>& cancel) {
        ThresholdSearch(sh, static_cast<int>(t), cancel).run();
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
