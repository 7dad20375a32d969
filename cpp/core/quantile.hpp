// Tail latency (docs/model.md "Tail latency"): the q-quantile of a configuration's latency, whose
// distribution is discrete over its exits. The one copy of the rule for the CPU engine (evaluate, sweep,
// and the search); the GPU kernels carry a copy of quantile_of_exits (see eep_quantile_of_exits in
// cpp/cuda/kernels/kernels.cuh for why), and the tests hold both to the NumPy reference bit for bit.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "tables.hpp"

namespace eepart {

// A share tallied from finite records that reaches q up to rounding counts as reaching q. The one
// definition: python/eepart_fast/quantile.py's QUANTILE_SLACK is this, read from _core.
constexpr double kQuantileSlack = 1e-12;

// The options' `quantile`: 0 asks for the mean, q in (0, 1] for the q-quantile.
inline void check_quantile(double q) {
    if (q == 0.0) return;
    if (!(q > 0.0 && q <= 1.0)) {
        std::ostringstream s;
        s << "quantile = " << q << ": must be in (0, 1] (0.99 for p99)";
        throw std::invalid_argument(s.str());
    }
}

// The level the tallied shares must reach: one float64 subtraction, as the reference forms it.
inline double quantile_theta(double q) { return q - kQuantileSlack; }

// The least exit latency ell[k] with share[k] > 0 whose tally m_k (the shares of the exits j with
// ell[j] <= ell[k], added in exit order j = 0..L-1) reaches theta; +inf when none does (never for a
// whole configuration, whose shares add up to 1). The exits need not be in latency order.
inline double quantile_of_exits(const double* ell, const double* share, int L, double theta) {
    double best = std::numeric_limits<double>::infinity();
    for (int k = 0; k < L; ++k) {
        if (!(share[k] > 0.0) || !(ell[k] < best)) continue;  // no share, or cannot lower the minimum
        double m = 0.0;
        for (int j = 0; j < L; ++j)
            if (ell[j] <= ell[k]) m += share[j];
        if (m >= theta) best = ell[k];
    }
    return best;
}

// ell[k]: the latency of a sample leaving at partition k's exit; share[k]: E_k, the share leaving there.
// The clock d adds the steps in the model's order (input, then per partition compute, and forward to the
// next), so every backend forms the same bits.
template <class Index>
inline void exit_latencies(const Tables& tb, int t, int L, const Index* P, const Index* A, double* ell,
                           double* share) {
    double d = tb.input(static_cast<int>(A[0]));
    int prev = 0;
    for (int k = 0; k < L; ++k) {
        const int q = static_cast<int>(P[k]), a = static_cast<int>(A[k]);
        d += tb.compute(a, prev, q);
        ell[k] = d + tb.result(a);
        share[k] = (k + 1 < L) ? tb.cum(t, q) - tb.cum(t, prev) : 1.0 - tb.cum(t, prev);
        if (k + 1 < L) d += tb.forward(q, a, static_cast<int>(A[k + 1]));
        prev = q;
    }
}

// The q-quantile (theta = quantile_theta(q)) of configuration (t, P, A) of L partitions.
template <class Index>
inline double latency_quantile(const Tables& tb, int t, int L, const Index* P, const Index* A, double theta) {
    double ell[kMaxTiers], share[kMaxTiers];  // L <= min(M, N) <= kMaxTiers
    exit_latencies(tb, t, L, P, A, ell, share);
    return quantile_of_exits(ell, share, L, theta);
}

}  // namespace eepart
