// Tests of the core's parts, each alone, against brute force: the staircase, label dominance, the memory
// budget, the relaxed bounds, the thread pool, the table rules, counting and placements, energy tables. No framework:
// each CHECK that fails prints where and the test ends with exit status 1.
// Built by CMake (EEPART_FAST_CPP_TESTS=ON, ctest) or by tests/test_cpp_core.py.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "configs.hpp"
#include "engine.hpp"
#include "parallel.hpp"
#include "quantile.hpp"
#include "search/bounds.hpp"
#include "search/labels.hpp"
#include "search/memory_budget.hpp"
#include "search/search.hpp"
#include "search/staircase.hpp"
#include "tables.hpp"

using namespace eepart;

namespace {

int failures = 0;
#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                          \
        }                                                                        \
    } while (0)

template <class E, class F>
bool throws(F&& f, const std::string& part = "") {
    try {
        f();
    } catch (const E& e) {
        if constexpr (std::is_base_of<std::exception, E>::value)
            return std::string(e.what()).find(part) != std::string::npos;
        return true;
    }
    return false;
}

SearchPoint point(double lat, double acc, int t = 0) {
    SearchPoint p;
    p.latency = lat, p.accuracy = acc, p.threshold_index = t, p.num_partitions = 1, p.partitions[0] = 1;
    return p;
}

void test_staircase() {
    std::mt19937_64 rng(1);
    std::uniform_int_distribution<int> d(0, 20);
    for (int round = 0; round < 200; ++round) {
        Staircase s;
        std::vector<SearchPoint> all;
        for (int i = 0; i < 30; ++i) {
            SearchPoint p = point(d(rng), d(rng), d(rng) % 3);
            all.push_back(p);
            s.insert(p, s.last_at_or_before(p.latency));
        }
        // Brute force: the points no other weakly dominates (one per (lat, acc), the canonical first).
        std::vector<SearchPoint> want;
        for (const auto& p : all) {
            bool dominated = false;
            for (const auto& q : all)
                if (q.latency <= p.latency && q.accuracy >= p.accuracy &&
                    (q.latency < p.latency || q.accuracy > p.accuracy))
                    dominated = true;
            if (dominated) continue;
            bool seen = false;
            for (auto& w : want)
                if (w.latency == p.latency && w.accuracy == p.accuracy) {
                    seen = true;
                    if (canonical_less(p, w)) w = p;
                }
            if (!seen) want.push_back(p);
        }
        std::sort(want.begin(), want.end(), [](const auto& x, const auto& y) { return x.latency < y.latency; });
        CHECK(s.size() == static_cast<int>(want.size()));
        for (std::size_t i = 0; i < want.size() && i < s.pts.size(); ++i) {
            CHECK(s.lat[i] == want[i].latency && s.acc[i] == want[i].accuracy);
            CHECK(s.pts[i].threshold_index == want[i].threshold_index);
        }
        // seek gallops to the same index as a binary search.
        for (double x = -1; x < 22; x += 0.5) CHECK(s.seek(-1, x) == s.last_at_or_before(x));
    }
    // Points equal within kRtol count once.
    std::vector<SearchPoint> near = {point(1.0, 0.5), point(1.0 + 1e-13, 0.6), point(2.0, 0.6 + 1e-14)};
    CHECK(apply_tolerance(near).size() == 1);
    // region_dominated: a box under the staircase, and one that pokes out of it.
    Staircase s;
    s.insert(point(1, 0.5), s.last_at_or_before(1));
    s.insert(point(2, 0.8), s.last_at_or_before(2));
    CHECK(region_dominated(s, 1.0, 0.5, nullptr, nullptr, 0, -1e300, 1e300));
    CHECK(!region_dominated(s, 1.0, 0.6, nullptr, nullptr, 0, -1e300, 1e300));
    CHECK(region_dominated(s, 2.5, 0.8, nullptr, nullptr, 0, -1e300, 1e300));
    CHECK(region_dominated(s, 0.5, 0.9, nullptr, nullptr, 0, 0.95, 1e300));  // below min_accuracy
}

void test_label_dominance() {
    std::mt19937_64 rng(2);
    std::uniform_int_distribution<int> d(0, 50);
    for (int round = 0; round < 300; ++round) {
        // Runs, each a staircase plus the same shift, as the search makes them.
        std::vector<Cand> cands, all;
        std::vector<std::size_t> runs;
        const int n_runs = 1 + round % 6;
        for (int r = 0; r < n_runs; ++r) {
            runs.push_back(cands.size());
            std::vector<Cand> run;
            for (int i = 0; i < 1 + d(rng) % 8; ++i)
                run.push_back({static_cast<double>(d(rng)), static_cast<double>(d(rng)), static_cast<std::int32_t>(all.size() + i)});
            std::sort(run.begin(), run.end(), cand_less);
            for (const auto& c : run) cands.push_back(c), all.push_back(c);
        }
        std::vector<Cand> merged;
        keep_nondominated(cands, runs, merged);
        std::vector<Cand> want;
        for (const auto& c : all) {
            bool dominated = false;
            for (const auto& o : all)
                if (o.lat <= c.lat && o.acc >= c.acc && (o.lat < c.lat || o.acc > c.acc || o.parent < c.parent))
                    dominated = true;
            if (!dominated) want.push_back(c);
        }
        std::sort(want.begin(), want.end(), cand_less);
        CHECK(cands.size() == want.size());
        for (std::size_t i = 0; i < want.size() && i < cands.size(); ++i)
            CHECK(cands[i].lat == want[i].lat && cands[i].acc == want[i].acc && cands[i].parent == want[i].parent);
        // drop_dominated_by: against a staircase of labels.
        std::vector<Label> labels;
        double acc = -1;
        for (int lat = 0; lat < 50; lat += 1 + d(rng) % 9) {
            acc += 1 + d(rng) % 7;
            labels.push_back({static_cast<double>(lat), acc, -1, 1, 0});
        }
        std::vector<Cand> kept = cands;
        drop_dominated_by(kept, labels.data(), labels.data() + labels.size());
        std::size_t k = 0;
        for (const auto& c : cands) {
            bool dominated = false;
            for (const auto& l : labels) dominated |= l.lat <= c.lat && l.acc >= c.acc;
            if (!dominated) CHECK(k < kept.size() && kept[k++].parent == c.parent);
        }
        CHECK(k == kept.size());
    }
}

void test_memory_budget() {
    MemoryBudget budget(1000, [] { return std::string("over the cap"); });
    {
        MemoryAccount a(budget), b(budget);
        std::vector<double> v;
        a.make_room(v, 50);  // 400 bytes
        a.set(v.capacity() * sizeof(double));
        CHECK(budget.used() == 400);
        std::vector<double> w;
        // 400 held; growing w to 80 (640 bytes) fits; v to 100 would need 800 more while its 400 are held.
        b.make_room(w, 60);
        b.set(w.capacity() * sizeof(double));
        CHECK(budget.used() <= 1000);
        CHECK(throws<std::invalid_argument>([&] { a.make_room(v, 100); }, "over the cap"));
        CHECK(throws<std::invalid_argument>([&] { b.set(2000); }, "over the cap"));
    }
    CHECK(budget.used() == 0);  // released by the destructors, which never throw
    CHECK(budget.peak() >= 880);
}

// Tables of a random instance, owned.
std::shared_ptr<TableData> random_tables(std::uint64_t seed, int N, int M, int K, bool per_threshold = false) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    TableInput in{{}, {M}}, comp{{}, {M, N + 1, N + 1}}, fwd{{}, {N, M, M}}, res{{}, {M}}, cum{{}, {K, N + 1}},
        acc{{}, per_threshold ? std::vector<std::int64_t>{K, N} : std::vector<std::int64_t>{N}};
    for (int a = 0; a < M; ++a) in.values.push_back(u(rng)), res.values.push_back(0.1 * u(rng));
    std::vector<double> block(N);
    for (auto& b : block) b = u(rng);
    for (int a = 0; a < M; ++a) {
        const double ratio = 0.5 + 10 * u(rng);
        for (int p = 0; p <= N; ++p)
            for (int q = 0; q <= N; ++q) {
                double s = 0;
                for (int i = p; i < q; ++i) s += block[i];
                comp.values.push_back(ratio * s);
            }
    }
    for (int i = 0; i < N * M * M; ++i) fwd.values.push_back(u(rng));
    for (int t = 0; t < K; ++t) {
        std::vector<double> c(N + 1);
        for (int i = 1; i < N; ++i) c[i] = u(rng);
        std::sort(c.begin() + 1, c.end() - 1);
        c[N] = 1.0;
        cum.values.insert(cum.values.end(), c.begin(), c.end());
    }
    for (int i = 0; i < (per_threshold ? K : 1) * N; ++i) acc.values.push_back(u(rng));
    return std::make_shared<TableData>(std::move(in), std::move(comp), std::move(fwd), std::move(res), std::move(cum),
                                       std::move(acc));
}

// The latency and accuracy every completion of a plan that ended at block q on tier a (tiers `used`)
// adds, by brute force (the same terms as evaluate, from the move out of (q, a) on).
void completions(const Tables& T, int t, int q, int a, unsigned used, double lat, double acc,
                 const std::function<void(double, double)>& out) {
    const double Sq = 1.0 - T.cum(t, q);
    for (int b = 0; b < T.M; ++b) {
        if (used >> b & 1u) continue;
        for (int q2 = q + 1; q2 <= T.N; ++q2) {
            const double l = lat + Sq * T.forward(q, a, b) + Sq * T.compute(b, q, q2);
            out(l + Sq * T.result(b), acc + T.acc(t, q2) * Sq);  // the last partition
            const double E = T.cum(t, q2) - T.cum(t, q);
            if (q2 < T.N) completions(T, t, q2, b, used | 1u << b, l + E * T.result(b), acc + T.acc(t, q2) * E, out);
        }
    }
}

void test_relaxed_bounds() {
    for (int seed = 0; seed < 20; ++seed) {
        const auto data = random_tables(seed, 6, 3, 2, seed % 2 == 1);
        const Tables& T = data->view();
        for (int t = 0; t < T.K; ++t) {
            std::vector<double> c(T.N + 1), S(T.N + 1);
            for (int i = 0; i <= T.N; ++i) c[i] = T.cum(t, i), S[i] = 1.0 - c[i];
            const std::vector<double> lam = choose_lambdas(T, 3);
            RelaxedBounds rb;
            rb.compute(T, t, c, S, lam);
            for (int q = 1; q < T.N; ++q)
                for (int a = 0; a < T.M; ++a) {
                    double min_lat = std::numeric_limits<double>::infinity(), max_acc = 0;
                    completions(T, t, q, a, 1u << a, 0.0, 0.0, [&](double l, double ac) {
                        min_lat = std::min(min_lat, l);
                        max_acc = std::max(max_acc, ac);
                    });
                    CHECK(rb.added_latency_lower(q, a) <= min_lat * (1 + 1e-12));
                    CHECK(rb.added_accuracy_upper(q) >= max_acc * (1 - 1e-12));
                    // With nothing found yet, no completion is dominated; under a point better than all
                    // of them, every one is.
                    Staircase none, best;
                    CHECK(!rb.label_dominated(none, 0.0, 0.0, q, a, -1e300, 1e300) || !std::isfinite(min_lat));
                    best.insert(point(-1.0, 2.0), -1);
                    CHECK(rb.label_dominated(best, 0.0, 0.0, q, a, -1e300, 1e300));
                }
        }
    }
}

void test_parallel_for() {
    std::vector<std::atomic<int>> seen(1000);
    Control control;
    parallel_for(seen.size(), 4, [&](std::size_t i, const std::atomic<bool>&) { ++seen[i]; }, control);
    bool once = true;
    for (auto& s : seen) once &= s.load() == 1;
    CHECK(once);
    CHECK(throws<std::runtime_error>([&] {
        parallel_for(100, 3, [&](std::size_t i, const std::atomic<bool>&) {
            if (i == 17) throw std::runtime_error("item 17");
        }, control);
    }, "item 17"));
    Control slow;
    slow.time_limit = 0.05;
    slow.what = "test";
    CHECK(throws<TimeLimitExceeded>([&] {
        parallel_for(2, 2, [&](std::size_t, const std::atomic<bool>& cancel) {
            while (!cancel.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }, slow);
    }, "test: stopped at its time limit"));
    Control stop;
    stop.interrupted = [] { return true; };
    CHECK(throws<Interrupted>([&] {
        parallel_for(2, 2, [&](std::size_t, const std::atomic<bool>& cancel) {
            while (!cancel.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }, stop);
    }));
    CHECK(throws<std::invalid_argument>([] { check_threads(-1); }, "threads = -1: must be in 0..1024"));
    CHECK(throws<std::invalid_argument>([] { check_threads(1025); }, "must be in 0..1024"));
}

void test_tables_and_configs() {
    const auto data = random_tables(7, 4, 3, 2);
    const Tables& T = data->view();
    // Entries no configuration reads are 0 in the engine's copy.
    for (int a = 0; a < T.M; ++a) CHECK(T.forward(T.N, a, (a + 1) % T.M) == 0.0 && T.forward(1, a, a) == 0.0);
    CHECK(T.compute(0, 2, 1) == 0.0 && T.compute(0, 2, 2) == 0.0);
    CHECK(T.latency_bound > 0 && std::isfinite(T.latency_bound));
    auto make = [](double big, double unused) {
        TableInput in{{0.1, 0.2}, {2}}, comp{std::vector<double>(2 * 9, 1.0), {2, 3, 3}},
            fwd{std::vector<double>(2 * 4, 0.5), {2, 2, 2}}, res{{0.0, 0.1}, {2}}, cum{{0.0, 0.5, 1.0}, {1, 3}},
            acc{{0.5, 0.9}, {2}};
        comp.values[1] = big;       // [0][0][1]: used
        fwd.values[4 + 1] = unused;  // [1][0][1]: block N's output, never sent
        comp.values[3] = unused;     // [0][1][0]: p > q
        return TableData(std::move(in), std::move(comp), std::move(fwd), std::move(res), std::move(cum), std::move(acc));
    };
    const double inf = std::numeric_limits<double>::infinity();
    CHECK(throws<std::invalid_argument>([&] { make(inf, 0.0); }, "compute_cost[0][0][1] = inf: costs must be finite"));
    CHECK(throws<std::invalid_argument>([&] { make(1e308, 0.0); }, "costs too large for float64"));
    make(1.0, inf);  // unused entries may hold anything
    make(1.0, std::nan(""));
    // Configurations: copied, then checked, rows numbered as the caller's.
    std::vector<std::int64_t> t = {0, 1, 0}, L = {1, 2, 1}, P = {1, -1, 1, 3, 9, -1}, A = {0, -1, 0, 1, 0, -1};
    ConfigView v{3, 2, t.data(), L.data(), P.data(), A.data()};
    ConfigRows rows;
    rows.copy(T, v, 0, 2);
    CHECK(rows.view().n == 2 && rows.view().partitions != P.data());
    CHECK(throws<std::invalid_argument>([&] { rows.copy(T, v, 1, 3); }, "partitions[2][0] = 9: must be in 1..4"));
}

void test_counting_and_placements() {
    CHECK(count_configurations(10, 4, 20) == 170000);
    CHECK(count_configurations(30, 5, 20) == 412835400);
    CHECK(count_configurations(1000, 16, 1000) == std::numeric_limits<std::uint64_t>::max());
    CHECK(choose(60, 30) == 118264581564861424ULL);
    std::vector<std::int32_t> rows;
    std::vector<std::uint8_t> last;
    tabulate_placements(3, 2, 3, rows, last);
    const std::vector<std::int32_t> want = {0, 1, -1, 0, 2, -1, 1, 0, -1, 1, 2, -1, 2, 0, -1, 2, 1, -1};
    CHECK(rows == want);
    CHECK((last == std::vector<std::uint8_t>{1, 2, 0, 2, 0, 1}));
}

// The search's frontier against the sweep's on random instances, (N,) and (K, N) accuracy.
void test_search_is_the_sweep_frontier() {
    for (int seed = 0; seed < 10; ++seed) {
        const auto data = random_tables(100 + seed, 7, 3, 3, seed % 2 == 0);
        const Tables& T = data->view();
        SweepOptions so;
        Sweep sweep(T, so, {});
        const std::uint64_t n = sweep.count();
        std::vector<double> lat(n), acc(n);
        std::vector<std::int32_t> ti(n), Li(n), P(n * 3), A(n * 3);
        sweep.write({lat.data(), acc.data(), ti.data(), Li.data(), P.data(), A.data()});
        Staircase s;
        for (std::uint64_t i = 0; i < n; ++i) s.insert(point(lat[i], acc[i]), s.last_at_or_before(lat[i]));
        const std::vector<SearchPoint> want = apply_tolerance(s.pts);
        SearchOptions opt;
        const std::vector<SearchPoint> got = pareto_search(T, opt, {});
        CHECK(got.size() == want.size());
        for (std::size_t i = 0; i < got.size() && i < want.size(); ++i)
            CHECK(got[i].latency == want[i].latency && got[i].accuracy == want[i].accuracy);
    }
}

// Tail latency on a hand-computed case: three partitions on tiers 0, 1, 2, the first exit the slowest
// (its tier is far from the destination), a tie between two exits, shares 1/2, 1/4, 1/4.
void test_quantile_by_hand() {
    // N = 3, M = 3, K = 1. Clock: 0.5; +1 = 1.5, exit 1 at 1.5 + 4 = 5.5; +0.25 +2 = 3.75, exit 2 at 3.75;
    // +0.25 +1 = 5, exit 3 at 5 + 0.5 = 5.5.
    std::vector<double> comp(3 * 16, 0.0), fwd(3 * 9, 0.0);
    comp[(0 * 4 + 0) * 4 + 1] = 1.0;  // tier 0, blocks 1..1
    comp[(1 * 4 + 1) * 4 + 2] = 2.0;  // tier 1, blocks 2..2
    comp[(2 * 4 + 2) * 4 + 3] = 1.0;  // tier 2, blocks 3..3
    fwd[(0 * 3 + 0) * 3 + 1] = 0.25;  // block 1's output, tier 0 -> 1
    fwd[(1 * 3 + 1) * 3 + 2] = 0.25;  // block 2's output, tier 1 -> 2
    TableData data(TableInput{{0.5, 0.0, 0.0}, {3}}, TableInput{comp, {3, 4, 4}}, TableInput{fwd, {3, 3, 3}},
                   TableInput{{4.0, 0.0, 0.5}, {3}}, TableInput{{0.0, 0.5, 0.75, 1.0}, {1, 4}},
                   TableInput{{0.5, 0.6, 0.9}, {3}});
    const Tables& T = data.view();
    const std::int64_t P[3] = {1, 2, 3}, A[3] = {0, 1, 2};
    double ell[3], share[3];
    exit_latencies(T, 0, 3, P, A, ell, share);
    CHECK(ell[0] == 5.5 && ell[1] == 3.75 && ell[2] == 5.5);
    CHECK(share[0] == 0.5 && share[1] == 0.25 && share[2] == 0.25);
    auto Q = [&](double q) { return latency_quantile(T, 0, 3, P, A, quantile_theta(q)); };
    CHECK(Q(0.1) == 3.75 && Q(0.25) == 3.75);  // the fastest exit holds a quarter of the samples
    CHECK(Q(0.26) == 5.5 && Q(0.99) == 5.5 && Q(1.0) == 5.5);
    // evaluate: the mean (5.0625) without a quantile, the quantile with one; the accuracy either way.
    const std::int64_t t = 0, L = 3;
    const ConfigView one{1, 3, &t, &L, P, A};
    double lat = 0, acc = 0;
    evaluate(T, one, &lat, &acc, 1, {});
    CHECK(lat == 5.0625 && acc == 0.5 * 0.5 + 0.6 * 0.25 + 0.9 * 0.25);
    evaluate(T, one, &lat, &acc, 1, {}, 0.5);
    CHECK(lat == 5.5 && acc == 0.5 * 0.5 + 0.6 * 0.25 + 0.9 * 0.25);

    // An exit with no share is never the quantile; the slack lets a share 1e-12 short count as reaching q.
    const double e[3] = {1.0, 2.0, 3.0}, s0[3] = {0.0, 0.6, 0.4};
    CHECK(quantile_of_exits(e, s0, 3, quantile_theta(0.1)) == 2.0);
    CHECK(quantile_of_exits(e, s0, 3, quantile_theta(0.6)) == 2.0);
    CHECK(quantile_of_exits(e, s0, 3, quantile_theta(0.61)) == 3.0);
    const double near[2] = {0.99 - 5e-13, 0.01 + 5e-13}, short_of[2] = {0.99 - 2e-12, 0.01 + 2e-12};
    CHECK(quantile_of_exits(e, near, 2, quantile_theta(0.99)) == 1.0);
    CHECK(quantile_of_exits(e, short_of, 2, quantile_theta(0.99)) == 2.0);

    CHECK(throws<std::invalid_argument>([] { check_quantile(1.5); }, "quantile = 1.5: must be in (0, 1]"));
    CHECK(throws<std::invalid_argument>([] { check_quantile(-0.5); }, "must be in (0, 1]"));
    CHECK(throws<std::invalid_argument>([] { check_quantile(std::nan("")); }, "must be in (0, 1]"));
    SweepOptions bad;
    bad.quantile = 2.0;
    CHECK(throws<std::invalid_argument>([&] { bad.check(); }, "quantile = 2"));
}

// The sweep with a quantile: every row's latency is latency_quantile's, and a bound keeps exactly the
// rows of the unbounded sweep at or under it (the walk's pruning loses none).
void test_quantile_sweep() {
    for (int seed = 0; seed < 6; ++seed) {
        const auto data = random_tables(300 + seed, 6, 3, 2);
        const Tables& T = data->view();
        for (const double q : {0.3, 0.9, 1.0}) {
            auto run = [&](double max_latency, std::vector<double>& lat, std::vector<std::int32_t>& P,
                           std::vector<std::int32_t>& A, std::vector<std::int32_t>& ti, std::vector<std::int32_t>& Li) {
                SweepOptions so;
                so.quantile = q;
                so.max_latency = max_latency;
                so.table_limit = seed % 2 ? 0 : so.table_limit;
                Sweep sweep(T, so, {});
                const std::uint64_t n = sweep.count();
                std::vector<double> acc(n);
                lat.resize(n), P.resize(n * 3), A.resize(n * 3), ti.resize(n), Li.resize(n);
                sweep.write({lat.data(), acc.data(), ti.data(), Li.data(), P.data(), A.data()});
            };
            std::vector<double> lat, blat;
            std::vector<std::int32_t> P, A, ti, Li, bP, bA, bti, bLi;
            run(std::numeric_limits<double>::infinity(), lat, P, A, ti, Li);
            CHECK(lat.size() == count_configurations(T.N, T.M, T.K));
            for (std::size_t i = 0; i < lat.size(); ++i)
                CHECK(lat[i] == latency_quantile(T, ti[i], Li[i], &P[i * 3], &A[i * 3], quantile_theta(q)));
            std::vector<double> sorted = lat;
            std::sort(sorted.begin(), sorted.end());
            const double bound = sorted[sorted.size() / 3];
            run(bound, blat, bP, bA, bti, bLi);
            std::size_t j = 0;
            for (std::size_t i = 0; i < lat.size(); ++i) {
                if (!(lat[i] <= bound)) continue;
                CHECK(j < blat.size() && blat[j] == lat[i] && bP[j * 3 + 2] == P[i * 3 + 2] && bA[j * 3] == A[i * 3]);
                ++j;
            }
            CHECK(j == blat.size());
        }
    }
}

// Energy tables (another instance's four cost tables) on an instance's tables: evaluate's and the sweep's
// energy (tabulated and walked, with max_energy) are, bit for bit, the latency of those four tables used
// as cost tables with the instance's shares; a bad entry is named.
void test_energy_tables() {
    for (int seed = 0; seed < 4; ++seed) {
        const auto base = random_tables(500 + seed, 6, 3, 2), other = random_tables(600 + seed, 6, 3, 2);
        const Tables& B = base->view();
        const std::int64_t N = B.N, M = B.M, K = B.K;
        const auto six = [&](const TableData& costs) {
            return std::vector<TableInput>{{costs.input_cost(), {M}}, {costs.compute_cost(), {M, N + 1, N + 1}},
                                           {costs.forward_cost(), {N, M, M}}, {costs.result_cost(), {M}},
                                           {base->cum_exit(), {K, N + 1}}, {base->accuracy(), {N}}};
        };
        const auto build = [&](const TableData& costs, const TableData* energy) {
            std::vector<TableInput> t = six(costs);
            std::unique_ptr<EnergyInput> e;
            if (energy) {
                std::vector<TableInput> x = six(*energy);
                e = std::make_unique<EnergyInput>(EnergyInput{x[0], x[1], x[2], x[3]});
            }
            return std::make_shared<TableData>(t[0], t[1], t[2], t[3], t[4], t[5], std::move(e));
        };
        const auto with_energy = build(*base, other.get()), as_costs = build(*other, nullptr);
        CHECK(with_energy->view().has_energy() && !as_costs->view().has_energy());
        const auto sweep = [](const Tables& T, double max_energy, std::uint64_t table_limit, std::vector<double>& lat,
                              std::vector<double>& energy) {
            SweepOptions so;
            so.max_energy = max_energy;
            so.table_limit = table_limit;
            Sweep sw(T, so, {});
            const std::uint64_t n = sw.count();
            std::vector<double> acc(n);
            std::vector<std::int32_t> P(n * 3), A(n * 3), ti(n), Li(n);
            lat.resize(n), energy.resize(T.has_energy() ? n : 0);
            SweepColumns out{lat.data(), acc.data(), ti.data(), Li.data(), P.data(), A.data()};
            out.energy = T.has_energy() ? energy.data() : nullptr;
            sw.write(out);
        };
        std::vector<double> want, unused, lat, energy;
        sweep(as_costs->view(), std::numeric_limits<double>::infinity(), 1u << 16, want, unused);
        sweep(with_energy->view(), std::numeric_limits<double>::infinity(), 1u << 16, lat, energy);
        CHECK(energy == want);
        std::vector<double> sorted = want;
        std::sort(sorted.begin(), sorted.end());
        const double bound = sorted[sorted.size() / 3];
        std::vector<double> kept;
        for (double x : want)
            if (x <= bound) kept.push_back(x);
        for (const std::uint64_t table_limit : {std::uint64_t(1) << 16, std::uint64_t(0)}) {
            sweep(with_energy->view(), bound, table_limit, lat, energy);
            CHECK(energy == kept);
        }
        std::vector<std::int64_t> t = {1, 0}, L = {2, 3}, P = {2, 5, -1, 1, 3, 6}, A = {2, 0, -1, 1, 0, 2};
        const ConfigView v{2, 3, t.data(), L.data(), P.data(), A.data()};
        double l[2], a[2], e[2], l2[2], a2[2];
        evaluate(with_energy->view(), v, l, a, 1, {}, 0, e);
        evaluate(as_costs->view(), v, l2, a2, 1, {});
        CHECK(e[0] == l2[0] && e[1] == l2[1] && a[0] == a2[0]);
    }
    const auto base = random_tables(700, 3, 2, 1);
    const auto bad = [&](double value) {
        const Tables& B = base->view();
        std::vector<double> compute = base->compute_cost();
        compute[1] = value;  // [0][0][1]: read
        auto e = std::make_unique<EnergyInput>(EnergyInput{{base->input_cost(), {B.M}},
                                                           {compute, {B.M, B.N + 1, B.N + 1}},
                                                           {base->forward_cost(), {B.N, B.M, B.M}},
                                                           {base->result_cost(), {B.M}}});
        TableData(TableInput{base->input_cost(), {B.M}}, TableInput{base->compute_cost(), {B.M, B.N + 1, B.N + 1}},
                  TableInput{base->forward_cost(), {B.N, B.M, B.M}}, TableInput{base->result_cost(), {B.M}},
                  TableInput{base->cum_exit(), {B.K, B.N + 1}}, TableInput{base->accuracy(), {B.N}}, std::move(e));
    };
    CHECK(throws<std::invalid_argument>([&] { bad(2e300); }, "compute_energy[0][0][1] = 2e+300: energies must be"));
    CHECK(throws<std::invalid_argument>([&] { bad(-1.0); }, "compute_energy[0][0][1] = -1: energies must be"));
    bad(1e300);
}

}  // namespace

int main() {
    test_staircase();
    test_label_dominance();
    test_memory_budget();
    test_relaxed_bounds();
    test_parallel_for();
    test_tables_and_configs();
    test_counting_and_placements();
    test_search_is_the_sweep_frontier();
    test_quantile_by_hand();
    test_quantile_sweep();
    test_energy_tables();
    if (failures) {
        std::fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    std::printf("core tests passed\n");
    return 0;
}
