// The relaxed bounds of the exact search: for a partial plan, bounds on everything its completions can
// add (a latency lower bound, an accuracy upper bound, and lower bounds on latency - lambda * accuracy),
// from backward programmes that relax the distinct-tier rule (the next tier need only differ from the one
// before); and the test whether every completion of a plan is dominated by the staircase found so far.
#pragma once
#include <cstdint>
#include <vector>

#include "bounds_math.hpp"
#include "exact_sums.hpp"
#include "staircase.hpp"
#include "tables.hpp"

namespace eepart {

class RelaxedBounds {
   public:
    // The bounds at threshold t, whose c_i and 1 - c_i are c and S; `lam` the lambdas of the scalarised
    // bounds (without lambda = 0). Buffers keep their capacity from one threshold to the next.
    void compute(const Tables& T, int t, const std::vector<double>& c, const std::vector<double>& S,
                 const std::vector<double>& lam);

    // Are all completions of a plan (lat, acc) that ended a partition at block q on tier a dominated by
    // the staircase, or outside the bounds min_acc / max_lat?
    bool label_dominated(const Staircase& s, double lat, double acc, int q, int a, double min_acc,
                         double max_lat) const {
        return completions_dominated(s, lat, acc, q, 0.0, &phi_[(static_cast<std::size_t>(q) * M_ + a) * (J_ + 1)],
                                     min_acc, max_lat);
    }
    // The same for the completions whose next partition is on tier b, `add` the move there
    // (S_q forward(q, a, b)).
    bool next_tier_dominated(const Staircase& s, double lat, double acc, int q, int b, double add, double min_acc,
                             double max_lat) const {
        return completions_dominated(s, lat, acc, q, add, &psi_[(static_cast<std::size_t>(q) * M_ + b) * (J_ + 1)],
                                     min_acc, max_lat);
    }
    std::size_t bytes() const;  // memory held

    // The bounds themselves, for tests: a lower bound on the latency every completion of a plan at (q, a)
    // adds, and an upper bound on the accuracy it adds.
    double added_latency_lower(int q, int a) const { return phi_[(static_cast<std::size_t>(q) * M_ + a) * (J_ + 1)]; }
    double added_accuracy_upper(int q) const { return acc_ub_[q]; }
    // The latency bound of the completions whose next partition is on tier b, less the move there.
    double added_latency_lower_next(int q, int b) const { return psi_[(static_cast<std::size_t>(q) * M_ + b) * (J_ + 1)]; }
    // The slack of the latency bound (bound_slack's, lambda 0).
    double latency_slack() const { return slack_[0]; }

   private:
    // Are all completions dominated, given lower bounds `bound` (one per lambda lane) on what they add?
    // Inline: the search asks it for every label and next tier.
    bool completions_dominated(const Staircase& s, double lat, double acc, int q, double add, const double* bound,
                               double min_acc, double max_lat) const {
        return eepart::completions_dominated(s.lat.data(), s.acc.data(), s.size(), lat, acc, add, bound, 1,
                                             acc_ub_[q], lam_in_, slack_.data(), J_, min_acc, max_lat);
    }

    int N_ = 0, M_ = 0, J_ = 0;
    const double* lam_in_ = nullptr;  // the J lambdas
    std::vector<double> phi_;     // [q][a][j], j = 0 is lambda = 0: the latency lower bound
    std::vector<double> acc_ub_;  // [q]
    std::vector<double> slack_;   // [j]
    std::vector<double> psi_;     // [q][b][j]: phi's part after the move to b
    std::vector<double> lam_, r_, best_, s_;  // compute's scratch
};

// The best single-partition plan (t, [q], [b]), summed as the search's first layer sums it.
SearchPoint single_partition(const Tables& T, int q, int b);

// The latency of the whole network on its best tier (one partition, every block): the scale of the
// lambdas where no better choice is known, on the CPU and the GPU alike.
double whole_network_latency(const Tables& T);

// The lambdas of the scalarised bounds: the trade-offs (latency per accuracy) along the upper convex hull
// of the single-partition plans, at most `most` of them, spread evenly; without a hull, multiples
// (kLambdaScale) of the whole network's latency.
std::vector<double> choose_lambdas(const Tables& T, int most);

}  // namespace eepart
