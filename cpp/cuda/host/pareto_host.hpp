// What both GPU searches (cuda_pareto.cpp, layered; cuda_pareto_fused.cpp, one launch) do on the host:
// the lambdas and slacks of the relaxed bounds, the staircase into which the device's points are merged
// (exact ties keep the configuration first in canonical order), and the final cut to frontier.py's
// tolerance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cuda_engine.hpp"
#include "search/bounds.hpp"
#include "search/constants.hpp"
#include "search/staircase.hpp"

namespace eepart {
namespace gpu {

// A plan the device found, as the core's search point.
inline SearchPoint point_of(const PlanRow& r) {
    SearchPoint p;
    p.latency = r.lat, p.accuracy = r.acc, p.threshold_index = r.t, p.num_partitions = r.L;
    for (int k = 0; k < r.L; ++k) p.partitions[k] = static_cast<std::int16_t>(r.P[k]), p.placement[k] = static_cast<std::int8_t>(r.A[k]);
    return p;
}

// Adds the device's plan to the staircase (the core's: exact ties keep the configuration first in
// canonical order).
inline void insert(Staircase& s, const PlanRow& r) {
    const SearchPoint p = point_of(r);
    s.insert(p, s.last_at_or_before(p.latency));
}

// frontier.py's frontier_indices on the exact Pareto set (the core's apply_tolerance), as rows of Lmax
// columns.
inline Rows frontier_rows(const Staircase& s, int Lmax) {
    const std::vector<SearchPoint> kept = apply_tolerance(s.pts);
    Rows out;
    out.Lmax = Lmax;
    out.resize(kept.size());
    for (std::size_t i = 0; i < kept.size(); ++i) {
        const SearchPoint& p = kept[i];
        out.latency[i] = p.latency;
        out.accuracy[i] = p.accuracy;
        out.threshold_index[i] = p.threshold_index;
        out.num_partitions[i] = p.num_partitions;
        for (int k = 0; k < Lmax; ++k) {
            out.partitions[i * Lmax + k] = k < p.num_partitions ? p.partitions[k] : -1;
            out.placement[i * Lmax + k] = k < p.num_partitions ? p.placement[k] : -1;
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
    const int N = T.N, M = T.M, K = T.K, Lmax = T.max_partitions();
    const double whole = whole_network_latency(T);
    const double lat_big = T.latency_bound;
    const double per_lambda = static_cast<double>(N) * N * M * K;
    const double plane = static_cast<double>(K) * (N + 1) * M * sizeof(double);
    BoundParams b;
    if (whole > 0 && Lmax > 1)
        for (int j = 0; j < kMaxLambdas && (j + 2) * per_lambda < 4e11 && (j + 2) * plane < max_memory / 8.0; ++j)
            b.lam.push_back(kLambdaScale[j] * whole);
    b.slack.assign(b.lam.size() + 1, bound_slack(lat_big, 0.0));
    for (std::size_t j = 0; j < b.lam.size(); ++j) b.slack[j + 1] = bound_slack(lat_big, b.lam[j]);
    return b;
}

}  // namespace gpu
}  // namespace eepart
