// The relaxed bounds of the exact search (bounds.hpp). The sums must round as the engines round them: no
// fused multiply-add.
#include "bounds.hpp"
#include "bounds_math.hpp"
#include "exact_sums.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace eepart {

// Relaxed lower bounds of (added latency - lambda_j * added accuracy) over the completions of a label
// at (q, a), for all lambdas at once (j = 0: lambda = 0, the latency bound): the next tiers need only
// differ from the one before. phi(q, a) = min over b != a of S_q forward(q, a, b) + psi(q, b), where
// psi(q, b) = min over q' of the partition (q, q'] on b, then the end or phi(q', b).
// phi_ is laid out [q][a][j] so that the lambdas of one state sit side by side (and vectorise).
void RelaxedBounds::compute(const Tables& T, int t, const std::vector<double>& c_, const std::vector<double>& S_,
                        const std::vector<double>& lam_in) {
    N_ = T.N;
    M_ = T.M;
    lam_in_ = lam_in.data();
    J_ = static_cast<int>(lam_in.size());
    const int W = J_ + 1;
    std::vector<double>& lam = lam_;
    lam.assign(W, 0.0);
    std::copy(lam_in.begin(), lam_in.end(), lam.begin() + 1);
    // Lanes (b, j), side by side so that the loops over them vectorise.
    const std::size_t lanes = static_cast<std::size_t>(M_) * W;
    // r[q'][b][j] = result(b) - lambda_j acc(q'): what one sample leaving at q' on b adds.
    std::vector<double>& r = r_;
    r.resize((N_ + 1) * lanes);
    for (int q2 = 1; q2 <= N_; ++q2)
        for (int b = 0; b < M_; ++b)
            for (int j = 0; j < W; ++j) r[q2 * lanes + b * W + j] = exit_term(T.result(b), lam[j], T.acc(t, q2));
    phi_.assign((N_ + 1) * lanes, kBoundInf);
    psi_.assign((N_ + 1) * lanes, kBoundInf);
    std::vector<double>& best = best_;
    std::vector<double>& s = s_;
    best.resize(lanes);
    s.resize(lanes);
    for (int q = N_ - 1; q >= 1; --q) {
        const double Sq = S_[q];
        std::fill(best.begin(), best.end(), kBoundInf);
        for (int q2 = q + 1; q2 <= N_; ++q2) {
            for (int b = 0; b < M_; ++b) std::fill_n(&s[b * W], W, Sq * T.compute(b, q, q2));
            const double* rq = &r[q2 * lanes];
            if (q2 < N_) {
                const double E = c_[q2] - c_[q];
                const double* next = &phi_[q2 * lanes];
                for (std::size_t l = 0; l < lanes; ++l) best[l] = psi_step(best[l], Sq, E, rq[l], s[l], next[l], false);
            } else {
                for (std::size_t l = 0; l < lanes; ++l) best[l] = psi_step(best[l], Sq, 0.0, rq[l], s[l], 0.0, true);
            }
        }
        std::copy(best.begin(), best.end(), psi_.begin() + q * lanes);
        for (int a = 0; a < M_; ++a) {
            double* out = &phi_[q * lanes + a * W];
            for (int b = 0; b < M_; ++b) {
                if (b == a) continue;
                const double f = T.forward(q, a, b);
                const double* ps = &psi_[q * lanes + b * W];
                for (int j = 0; j < W; ++j) out[j] = phi_step(out[j], Sq, f, ps[j]);
            }
        }
    }
    slack_.assign(W, 0.0);
    for (int j = 0; j < W; ++j) slack_[j] = bound_slack(T.latency_bound, lam[j]);
    // The most accuracy the samples still in the network at q can add, relaxed likewise.
    acc_ub_.assign(N_ + 1, 0.0);
    for (int q = N_ - 1; q >= 1; --q) {
        double top = 0.0;
        for (int q2 = q + 1; q2 <= N_; ++q2)
            top = acc_ub_step(top, S_[q], c_[q2] - c_[q], T.acc(t, q2), acc_ub_[q2], q2 == N_);
        acc_ub_[q] = top;
    }
}


std::size_t RelaxedBounds::bytes() const {
    return (phi_.capacity() + acc_ub_.capacity() + slack_.capacity() + psi_.capacity() + lam_.capacity() +
            r_.capacity() + best_.capacity() + s_.capacity()) * sizeof(double);
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

double whole_network_latency(const Tables& T) {
    double whole = kBoundInf;
    for (int a = 0; a < T.M; ++a) whole = std::min(whole, T.input(a) + T.compute(a, 0, T.N) + T.result(a));
    return whole;
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
        const double whole = whole_network_latency(T);
        if (!(whole > 0) || !std::isfinite(whole)) return lam;
        for (int j = 0; j < kMaxLambdas && j < most; ++j) lam.push_back(kLambdaScale[j] * whole);
        return lam;
    }
    std::sort(slopes.begin(), slopes.end());
    const std::size_t n = slopes.size(), k = std::min<std::size_t>(n, static_cast<std::size_t>(most));
    for (std::size_t j = 0; j < k; ++j) lam.push_back(slopes[k == 1 ? 0 : j * (n - 1) / (k - 1)]);
    return lam;
}

}  // namespace eepart
