// The frontier of the energy searches found so far: the exact 3-D Pareto set of (latency, accuracy,
// energy), or, for min_energy, the one best plan; the test whether it dominates the corner of a label's
// completions; and the final cut to frontier3_indices' tolerance (engine/frontier.py).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <vector>

#include "constants.hpp"
#include "staircase.hpp"

namespace eepart {

class Front3 {
   public:
    // `single`: keep only the least plan by (energy, latency, -accuracy, canonical order): min_energy's.
    explicit Front3(bool single = false) : single_(single) {}

    std::vector<SearchPoint> pts;  // latency rising (accuracy falling, energy rising on ties)

    bool empty() const { return pts.empty(); }
    std::size_t bytes() const { return pts.capacity() * sizeof(SearchPoint); }

    // Is a plan (lat, acc, en) weakly beaten by a point, other than by an exact tie (which insert settles
    // by tie_less)?
    bool beaten(double lat, double acc, double en) const {
        if (single_) {
            if (pts.empty()) return false;
            const SearchPoint& b = pts[0];
            if (b.energy != en) return b.energy < en;
            if (b.latency != lat) return b.latency < lat;
            return b.accuracy > acc;
        }
        for (const SearchPoint& f : pts) {
            if (f.latency > lat) break;
            if (f.accuracy >= acc && f.energy <= en && !(f.latency == lat && f.accuracy == acc && f.energy == en))
                return true;
        }
        return false;
    }

    // Does a point lie at or beyond the corner (latency <= x0, accuracy >= y1, energy <= e0)? Then it
    // weakly dominates every plan of the box the corner bounds (for min_energy: the energy alone).
    bool dominates_corner(double x0, double y1, double e0) const {
        if (single_) return !pts.empty() && pts[0].energy <= e0;
        for (const SearchPoint& f : pts) {
            if (f.latency > x0) break;
            if (f.accuracy >= y1 && f.energy <= e0) return true;
        }
        return false;
    }

    // Adds p unless a point beats it; an exact tie keeps the configuration tie_less picks.
    void insert(const SearchPoint& p) {
        if (beaten(p.latency, p.accuracy, p.energy)) return;
        if (single_) {
            if (pts.empty()) pts.push_back(p);
            else if (!same(pts[0], p) || tie_less(p, pts[0])) pts[0] = p;
            return;
        }
        std::size_t w = 0;
        for (std::size_t i = 0; i < pts.size(); ++i) {
            const SearchPoint& f = pts[i];
            if (same(f, p)) {
                if (tie_less(p, f)) pts[i] = p;
                return;  // beaten() ruled out any other point dominating p, so nothing else changes
            }
            if (p.latency <= f.latency && p.accuracy >= f.accuracy && p.energy <= f.energy) continue;  // p beats f
            pts[w++] = pts[i];
        }
        pts.resize(w);
        auto at = std::upper_bound(pts.begin(), pts.end(), p, order_less);
        pts.insert(at, p);
    }

    // Points in frontier3_indices' order: latency rising, accuracy falling, energy rising.
    static bool order_less(const SearchPoint& x, const SearchPoint& y) {
        if (x.latency != y.latency) return x.latency < y.latency;
        if (x.accuracy != y.accuracy) return x.accuracy > y.accuracy;
        return x.energy < y.energy;
    }

   private:
    bool single_;
    static bool same(const SearchPoint& x, const SearchPoint& y) {
        return x.latency == y.latency && x.accuracy == y.accuracy && x.energy == y.energy;
    }
};

// All threads' finds.
struct SharedFront3 {
    std::mutex mu;
    Front3 front;
    std::uint64_t version = 0;
    explicit SharedFront3(bool single) : front(single) {}
};

// A worker's copy: it prunes against `front` and inserts there without a lock; `fresh` holds its finds
// since it last shared them (inserting those into the shared front gives the union's Pareto set, which
// does not depend on the order).
struct LocalFront3 {
    Front3 front;
    std::vector<SearchPoint> fresh;
    std::uint64_t seen = ~std::uint64_t(0);

    void reset(bool single) {
        front = Front3(single);
        fresh.clear();
        seen = ~std::uint64_t(0);
    }
    void insert(const SearchPoint& p) {
        front.insert(p);
        fresh.push_back(p);
    }
    // As LocalFrontier::sync.
    void sync(SharedFront3& shared, bool last = false) {
        std::lock_guard<std::mutex> lock(shared.mu);
        const bool theirs = seen != shared.version;
        if (!theirs && !last) return;
        if (!fresh.empty()) {
            for (const SearchPoint& p : fresh) shared.front.insert(p);
            fresh.clear();
            ++shared.version;
        }
        if (theirs) front.pts = shared.front.pts;
        seen = shared.version;
    }
};

// frontier3_indices (engine/frontier.py) on the exact Pareto set, in its order: a point is dropped when a
// kept one is no worse in all three within kRtol, and drops the kept ones it is no worse than likewise.
inline std::vector<SearchPoint> apply_tolerance3(std::vector<SearchPoint> pts) {
    std::stable_sort(pts.begin(), pts.end(), [](const SearchPoint& x, const SearchPoint& y) {
        if (Front3::order_less(x, y)) return true;
        if (Front3::order_less(y, x)) return false;
        return canonical_less(x, y);
    });
    auto tol = [](double a, double b) { return kRtol * std::max(std::fabs(a), std::fabs(b)); };
    auto no_worse = [&](const SearchPoint& k, const SearchPoint& p) {
        return k.latency <= p.latency + tol(k.latency, p.latency) &&
               k.accuracy >= p.accuracy - tol(k.accuracy, p.accuracy) &&
               k.energy <= p.energy + tol(k.energy, p.energy);
    };
    std::vector<std::size_t> kept;  // indices into pts, in order
    for (std::size_t i = 0; i < pts.size(); ++i) {
        bool drop = false;
        for (std::size_t k : kept)
            if (no_worse(pts[k], pts[i])) {
                drop = true;
                break;
            }
        if (drop) continue;
        std::size_t w = 0;
        for (std::size_t k : kept)
            if (!no_worse(pts[i], pts[k])) kept[w++] = k;
        kept.resize(w);
        kept.push_back(i);
    }
    std::sort(kept.begin(), kept.end());
    std::vector<SearchPoint> out;
    out.reserve(kept.size());
    for (std::size_t k : kept) out.push_back(pts[k]);
    return out;
}

}  // namespace eepart
