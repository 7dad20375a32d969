// The q-quantile of a configuration's latency (docs/model.md "Tail latency"): one copy of the rule for
// evaluate, the sweep and the quantile search.
#pragma once
#include <cstdint>
#include <limits>

#include "tables.hpp"

namespace eepart {

// Shares tallied from finite records round; this much short of q still reaches it.
constexpr double kQuantileSlack = 1e-12;

// The least exit latency whose share at or below it reaches theta (= q - kQuantileSlack), over exits
// with a share; each share at or below summed in exit order.
inline double quantile_of_exits(const double* ell, const double* share, int L, double theta) {
    double best = std::numeric_limits<double>::infinity();
    for (int k = 0; k < L; ++k) {
        if (!(share[k] > 0) || !(ell[k] < best)) continue;
        double mass = 0.0;
        for (int j = 0; j < L; ++j)
            if (ell[j] <= ell[k]) mass += share[j];
        if (mass >= theta) best = ell[k];
    }
    return best;
}

}  // namespace eepart
