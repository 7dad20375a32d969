// What both GPU searches (cuda_pareto.cpp, layered; cuda_pareto_fused.cpp, one launch) do on the host:
// the lambdas and slacks of the relaxed bounds, the staircase into which the device's points are merged
// (exact ties keep the configuration first in canonical order), and the final cut to frontier.py's
// tolerance.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cuda_engine.hpp"

namespace eepart {
namespace gpu {

constexpr double kSearchSlack = 1e-9;  // search.cpp's kSlack (EEP_SLACK)

struct Point {
    double lat = 0, acc = 0;
    int t = 0, L = 0;
    int P[16] = {}, A[16] = {};
};

inline bool canonical_less(const Point& x, const Point& y) {
    if (x.t != y.t) return x.t < y.t;
    if (x.L != y.L) return x.L < y.L;
    for (int k = 0; k < x.L; ++k)
        if (x.P[k] != y.P[k]) return x.P[k] < y.P[k];
    for (int k = 0; k < x.L; ++k)
        if (x.A[k] != y.A[k]) return x.A[k] < y.A[k];
    return false;
}

// The exact Pareto set of the plans found (search.cpp's Staircase).
struct Staircase {
    std::vector<Point> pts;

    int last_at_or_before(double lat) const {
        auto it = std::upper_bound(pts.begin(), pts.end(), lat, [](double v, const Point& p) { return v < p.lat; });
        return static_cast<int>(it - pts.begin()) - 1;
    }

    void insert(const Point& p) {
        const int i = last_at_or_before(p.lat);
        if (i >= 0 && pts[i].acc >= p.acc) {
            if (pts[i].lat == p.lat && pts[i].acc == p.acc && canonical_less(p, pts[i])) pts[i] = p;
            return;
        }
        const std::size_t start = (i >= 0 && pts[i].lat == p.lat) ? i : i + 1;
        std::size_t end = start;
        while (end < pts.size() && pts[end].acc <= p.acc) ++end;
        if (end > start) {
            pts[start] = p;
            pts.erase(pts.begin() + start + 1, pts.begin() + end);
        } else {
            pts.insert(pts.begin() + start, p);
        }
    }

    void insert(const PlanRow& r) {
        Point p;
        p.lat = r.lat, p.acc = r.acc, p.t = r.t, p.L = r.L;
        for (int k = 0; k < p.L; ++k) p.P[k] = r.P[k], p.A[k] = r.A[k];
        insert(p);
    }
};

// frontier.py's frontier_indices on the exact Pareto set, as rows of Lmax columns.
inline Rows frontier_rows(const std::vector<Point>& pts, int Lmax) {
    constexpr double kRtol = 1e-12;  // frontier.py's RTOL
    auto close = [](double a, double b) { return std::fabs(a - b) <= kRtol * std::max(std::fabs(a), std::fabs(b)); };
    std::vector<Point> kept;
    for (const auto& p : pts) {
        if (!kept.empty()) {
            const auto& last = kept.back();
            if (p.acc <= last.acc || close(p.acc, last.acc)) continue;
            while (!kept.empty() && close(p.lat, kept.back().lat)) kept.pop_back();
        }
        kept.push_back(p);
    }
    Rows out;
    out.Lmax = Lmax;
    out.resize(kept.size());
    for (std::size_t i = 0; i < kept.size(); ++i) {
        const Point& p = kept[i];
        out.latency[i] = p.lat;
        out.accuracy[i] = p.acc;
        out.threshold_index[i] = p.t;
        out.num_partitions[i] = p.L;
        for (int k = 0; k < Lmax; ++k) {
            out.partitions[i * Lmax + k] = k < p.L ? p.P[k] : -1;
            out.placement[i * Lmax + k] = k < p.L ? p.A[k] : -1;
        }
    }
    return out;
}

// The lambdas of the scalarised bounds (multiples of the latency of the whole network on its best tier)
// and the slack of each bound (relative to a latency no plan exceeds). `budget` caps the lambdas: each
// is a relaxed programme of N^2 M per threshold and a plane of (N+1) M per threshold.
struct BoundParams {
    std::vector<double> lam, slack;  // slack[0]: latency; slack[j + 1]: lat - lam[j] acc
};

inline BoundParams bound_params(const Tables& T, std::size_t max_memory) {
    constexpr double kLambdaScale[] = {0.05, 0.25, 1.0, 4.0, 16.0, 64.0, 256.0};
    const int N = T.N, M = T.M, K = T.K, Lmax = T.max_partitions();
    double max_in = 0, max_res = 0, max_fwd = 0, whole = std::numeric_limits<double>::infinity();
    for (int a = 0; a < M; ++a) {
        max_in = std::max(max_in, T.input(a));
        max_res = std::max(max_res, T.result(a));
        whole = std::min(whole, T.input(a) + T.compute(a, 0, N) + T.result(a));
    }
    const double max_comp = T.largest_compute();
    for (std::size_t i = 0; i < static_cast<std::size_t>(N) * M * M; ++i) max_fwd = std::max(max_fwd, T.forward_cost[i]);
    const double lat_big = max_in + Lmax * (max_comp + max_res + max_fwd);
    const double per_lambda = static_cast<double>(N) * N * M * K;
    const double plane = static_cast<double>(K) * (N + 1) * M * sizeof(double);
    BoundParams b;
    if (whole > 0 && Lmax > 1)
        for (int j = 0; j < 7 && (j + 2) * per_lambda < 4e11 && (j + 2) * plane < max_memory / 8.0; ++j)
            b.lam.push_back(kLambdaScale[j] * whole);
    b.slack.assign(b.lam.size() + 1, kSearchSlack * lat_big);
    for (std::size_t j = 0; j < b.lam.size(); ++j) b.slack[j + 1] = kSearchSlack * (lat_big + b.lam[j]);
    return b;
}

}  // namespace gpu
}  // namespace eepart
