// The arithmetic of the relaxed bounds of the exact search, one copy for every engine: the CPU search
// (bounds.cpp, staircase.hpp) and both CUDA engines (pareto_kernels.cuh, fused_kernels.cuh), compiled for
// host and device. Each function is one cell of a backward programme or one test on plain pointers, so
// that every engine keeps its own loops and parallel decomposition.
//
// The engines must prune the same labels, so each cell is written as the one sequence of floating-point
// operations they all perform. The core builds without contraction (-ffp-contract=off), and so does the
// kernels' host emulator; nvcc, at its default --fmad=true, fuses some products and sums here into FMAs,
// so on a device a bound may differ from the host's by a rounding, far inside kSlack.
#pragma once
#include <cstddef>
#include <limits>

#include "constants.hpp"
#include "host_device.hpp"

namespace eepart {

constexpr double kBoundInf = std::numeric_limits<double>::infinity();

// std::min and std::max, which the device lacks, with their pick on a tie (the first operand). The CUDA
// kernels once picked the second; on equal operands that can only tell +0 from -0, which no later sum or
// comparison of a bound can (the tables' costs are finite, so no NaN reaches them).
EEP_HD inline double bound_min(double a, double b) { return b < a ? b : a; }
EEP_HD inline double bound_max(double a, double b) { return a < b ? b : a; }

// The bound of each lambda lane j is on latency - lambda_j * accuracy (lane 0: lambda = 0, the latency);
// a sample leaving at block q' on tier b adds the result's trip and its accuracy there.
EEP_HD inline double exit_term(double result, double lambda, double acc) { return result - lambda * acc; }

// One end q' of the next partition (q, q'] on tier b, in psi's programme at (q, b, lambda lane): the
// samples still in at q (Sq of them) pay its compute (Sq_comp = Sq * compute(b, q, q'), hoisted by the
// caller); then either the partition is the last and they all leave at q', paying r each, or, unless
// q' = N (`ends`), those leaving at q' (E = c_q' - c_q) pay r and the rest go on for at least
// phi(q', b) = next. Returns the lesser of `best` and that.
EEP_HD inline double psi_step(double best, double Sq, double E, double r, double Sq_comp, double next, bool ends) {
    double x = Sq * r;
    if (!ends) x = bound_min(x, E * r + next);
    return bound_min(best, x + Sq_comp);
}

// One next tier b != a in phi's programme at (q, a, lambda lane): the move there (Sq * forward(q, a, b)),
// then psi(q, b). Returns the lesser of `best` and that.
EEP_HD inline double phi_step(double best, double Sq, double fwd, double psi) {
    return bound_min(best, Sq * fwd + psi);
}

// One end q' in the accuracy bound at q, relaxed as psi is: the samples in at q all leave at q', or, unless
// q' = N (`ends`), E of them leave there and the rest add at most next = acc_ub(q'). Returns the greater
// of `top` and that.
EEP_HD inline double acc_ub_step(double top, double Sq, double E, double acc, double next, bool ends) {
    double v = Sq * acc;
    if (!ends) v = bound_max(v, E * acc + next);
    return bound_max(top, v);
}

// The slack of the bound of a lambda lane (0 for the latency bound): relative to the largest value the
// bound can take, so that rounding in the programmes never prunes a label that reaches the frontier.
EEP_HD inline double bound_slack(double latency_bound, double lambda) { return kSlack * (latency_bound + lambda); }

// The last of the n latencies F_lat (strictly rising) at or before x; -1 for none.
EEP_HD inline int last_at_or_before(const double* F_lat, int n, double x) {
    int lo = 0, hi = n;
    while (lo < hi) {
        const int mid = (lo + hi) >> 1;
        if (F_lat[mid] <= x) lo = mid + 1;
        else hi = mid;
    }
    return lo - 1;
}

// Is every completion of a label inside the region the staircase (F_lat, F_acc: nF points, both strictly
// rising) dominates, or outside the bounds? The completions lie in {lat >= x0, acc <= y1,
// lat - lam_j acc >= beta_j}, a region closed under rising latency and falling accuracy, so it suffices to
// check its upper-left boundary y(x), which rises with x, at the right end of each step of the staircase.
EEP_HD inline bool region_dominated(const double* F_lat, const double* F_acc, int nF, double x0, double y1,
                                    const double* beta, const double* lam, int J, double min_acc, double max_lat) {
    if (x0 > max_lat || y1 < min_acc) return true;
    for (int i = last_at_or_before(F_lat, nF, x0);; ++i) {
        const double best = i >= 0 ? F_acc[i] : -kBoundInf;  // the staircase on [F_i.lat, F_{i+1}.lat)
        if (y1 <= best) return true;                           // and on every later step
        double xe = i + 1 < nF ? F_lat[i + 1] : kBoundInf;
        bool ends = false;
        if (xe >= max_lat) {
            xe = max_lat;
            ends = true;
        }
        if (xe == kBoundInf) return false;  // y reaches y1 > best
        bool ok = false;                     // y(xe) <= best, or y(xe) < min_acc
        for (int j = 0; j < J && !ok; ++j) {
            const double lhs = xe - beta[j];
            ok = lhs <= lam[j] * best || lhs < lam[j] * min_acc;
        }
        if (!ok) return false;
        if (ends) return true;
    }
}

// Are all completions of a partial plan (lat, acc) dominated by the staircase F (or outside the bounds),
// given lower bounds bound[j * stride] on what they add beyond `add` (lane j: on latency - lambda_j acc,
// lam[j - 1] for j > 0) and acc_top on the accuracy they add? `slack`: bound_slack of each lane.
EEP_HD inline bool completions_dominated(const double* F_lat, const double* F_acc, int nF, double lat, double acc,
                                         double add, const double* bound, std::size_t stride, double acc_top,
                                         const double* lam, const double* slack, int J, double min_acc,
                                         double max_lat) {
    const double x0 = lat + (add + bound[0]) - slack[0];
    const double y1 = acc + acc_top + kSlack;
    double beta[kMaxLambdas];
    for (int j = 0; j < J; ++j) beta[j] = lat - lam[j] * acc + (add + bound[(j + 1) * stride]) - slack[j + 1];
    return region_dominated(F_lat, F_acc, nF, x0, y1, beta, lam, J, min_acc, max_lat);
}

}  // namespace eepart
