// The staircase of points found (the exact Pareto set so far), the test whether a region of the
// (latency, accuracy) plane lies under it, and the final cut to the frontier's tolerance.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <vector>

#include "bounds_math.hpp"
#include "constants.hpp"
#include "tables.hpp"

namespace eepart {

// One frontier point and a configuration reaching it (P as block counts, A as tiers).
struct SearchPoint {
    double latency = 0, accuracy = 0;
    // The mean latency, where `latency` is a quantile (the quantile search); 0 otherwise. Of the
    // configurations reaching one point, the one of least mean is kept.
    double mean = 0;
    // Its energy (J), where the tables carry energy tables; 0 otherwise.
    double energy = 0;
    int threshold_index = 0, num_partitions = 0;
    std::int16_t partitions[kMaxTiers] = {};
    std::int8_t placement[kMaxTiers] = {};
};

// The canonical order of configurations (the sweep's): t, then L, then P, then A, lexicographic.
inline bool canonical_less(const SearchPoint& x, const SearchPoint& y) {
    if (x.threshold_index != y.threshold_index) return x.threshold_index < y.threshold_index;
    if (x.num_partitions != y.num_partitions) return x.num_partitions < y.num_partitions;
    for (int k = 0; k < x.num_partitions; ++k)
        if (x.partitions[k] != y.partitions[k]) return x.partitions[k] < y.partitions[k];
    for (int k = 0; k < x.num_partitions; ++k)
        if (x.placement[k] != y.placement[k]) return x.placement[k] < y.placement[k];
    return false;
}

// Which of two configurations reaching the same point is kept: the lesser mean latency (where the
// latency is a quantile), then the first in canonical order.
inline bool tie_less(const SearchPoint& x, const SearchPoint& y) {
    if (x.mean != y.mean) return x.mean < y.mean;
    return canonical_less(x, y);
}

// The exact Pareto set of the points found: latency and accuracy both strictly rising. Latency and
// accuracy sit in arrays of their own, apart from the configurations, for the searches.
// Exact ties keep the configuration tie_less picks.
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
            if (lat[i] == p.latency && acc[i] == p.accuracy && tie_less(p, pts[i])) pts[i] = p;
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
                       return tie_less(x, y);
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
// bounds_math.hpp's test, on the staircase's arrays.
inline bool region_dominated(const Staircase& s, double x0, double y1, const double* beta, const double* lam, int J,
                             double min_acc, double max_lat) {
    return region_dominated(s.lat.data(), s.acc.data(), s.size(), x0, y1, beta, lam, J, min_acc, max_lat);
}

// frontier.py's frontier_indices on the exact Pareto set (every point there is a candidate).
inline std::vector<SearchPoint> apply_tolerance(const std::vector<SearchPoint>& pts) {
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

}  // namespace eepart
