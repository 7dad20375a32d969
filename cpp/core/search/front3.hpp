// The 3-objective search's frontier found so far: the exact 3-D Pareto set of (latency, accuracy, energy),
// the test whether it dominates the corner of a label's completions, and the final cut to
// frontier3_indices' tolerance (engine/frontier.py).
//
// The searches ask far more than they insert: every label and next tier asks whether a point lies beyond
// a corner (latency <= x, accuracy >= y, energy <= z), every complete plan whether a point beats it. So
// the points are also kept in a snapshot for those questions: latency rising, in a merge-sort tree whose
// nodes (aligned runs of 2^l blocks) hold their points by accuracy falling with the least energy so far,
// so that the points of latency <= x split into a few nodes, each answered by one binary search. The
// snapshot is rebuilt once kRecent points have been inserted since; those are scanned beside it, and only
// then merged into the Pareto set (one sort and sweep for them all, not a pass over the set for each). A
// point the snapshot holds that a later one has beaten still answers truly: what it dominates, its
// dominator dominates too. The last point that answered is asked first: neighbouring questions share it.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <vector>

#include "bounds_math.hpp"
#include "constants.hpp"
#include "labels.hpp"
#include "staircase.hpp"

namespace eepart {

class Front3 {
   public:
    // The exact Pareto set as of the last flush, latency rising (accuracy falling, energy rising).
    std::vector<SearchPoint> pts;

    std::size_t bytes() const {
        std::size_t b = (pts.capacity() + fresh_.capacity() + all_.capacity()) * sizeof(SearchPoint) +
                        (lat_.capacity() + acc_.capacity() + en_.capacity() + recent_.capacity()) * sizeof(double);
        for (const Level& l : levels_)
            b += (l.acc.capacity() + l.least_en.capacity()) * sizeof(double) + l.idx.capacity() * sizeof(std::uint32_t);
        return b;
    }

    // Is a plan (lat, acc, en) weakly beaten by a point, other than by an exact tie (which insert settles by
    // tie_less)? False is also answered where the snapshot holds an exact tie: insert then decides.
    bool beaten(double lat, double acc, double en) const {
        if (!dominates_corner(lat, acc, en)) return false;
        auto tie = [&](double l, double a, double e) { return l == lat && a == acc && e == en; };
        for (std::size_t i = 0; i < recent_.size(); i += 3)
            if (tie(recent_[i], recent_[i + 1], recent_[i + 2])) return false;
        auto at = std::lower_bound(lat_.begin(), lat_.end(), lat);
        for (auto i = static_cast<std::size_t>(at - lat_.begin()); i < lat_.size() && lat_[i] == lat; ++i)
            if (tie(lat_[i], acc_[i], en_[i])) return false;
        return true;
    }

    // Does a point lie at or beyond the corner (latency <= x, accuracy >= y, energy <= z)? Then it weakly
    // dominates every plan in the box the corner bounds.
    bool dominates_corner(double x, double y, double z) const {
        auto beyond = [&](double l, double a, double e) { return l <= x && a >= y && e <= z; };
        if (beyond(hit_[0], hit_[1], hit_[2])) return true;
        for (std::size_t i = 0; i < recent_.size(); i += 3)
            if (beyond(recent_[i], recent_[i + 1], recent_[i + 2])) return remember(recent_.data() + i);
        const std::size_t n = static_cast<std::size_t>(std::upper_bound(lat_.begin(), lat_.end(), x) - lat_.begin());
        std::size_t pos = 0;
        for (std::size_t l = levels_.size(); l-- > 0;) {
            const std::size_t size = kBlock << l;
            const Level& v = levels_[l];
            for (; pos + size <= n; pos += size) {
                // The node's points by accuracy falling: those of accuracy >= y are a prefix.
                const auto first = v.acc.begin() + static_cast<std::ptrdiff_t>(pos);
                const auto k = std::partition_point(first, first + static_cast<std::ptrdiff_t>(size),
                                                    [y](double a) { return a >= y; }) - first;
                if (k > 0 && v.least_en[pos + static_cast<std::size_t>(k) - 1] <= z) {
                    hit_[0] = x;  // a point at or beyond (x, y, z): the corner itself stands for it
                    hit_[1] = y;
                    hit_[2] = z;
                    return true;
                }
            }
        }
        for (; pos < n; ++pos)
            if (beyond(lat_[pos], acc_[pos], en_[pos])) {
                const double p[3] = {lat_[pos], acc_[pos], en_[pos]};
                return remember(p);
            }
        return false;
    }

    // Adds p (unless a point beats it; an exact tie keeps the configuration tie_less picks) as of the next
    // flush: until then it is a recent point, which the questions scan.
    void insert(const SearchPoint& p) {
        fresh_.push_back(p);
        recent_.insert(recent_.end(), {p.latency, p.accuracy, p.energy});
        if (fresh_.size() >= kRecent + pts.size() / 32) snapshot();
    }

    // `pts` made the Pareto set of itself and the points inserted since: both in order, merged, then in
    // that order each kept unless one before it is as fast, as accurate and as frugal (an exact tie: the
    // first by tie_less, which the order puts first).
    void flush() {
        if (fresh_.empty()) return;
        auto less = [](const SearchPoint& x, const SearchPoint& y) {
            return order_less(x, y) || (!order_less(y, x) && tie_less(x, y));
        };
        std::sort(fresh_.begin(), fresh_.end(), less);
        all_.clear();
        all_.reserve(pts.size() + fresh_.size());
        std::merge(pts.begin(), pts.end(), fresh_.begin(), fresh_.end(), std::back_inserter(all_), less);
        fresh_.clear();
        pts.clear();
        stairs_.clear();
        for (const SearchPoint& p : all_) {
            if (stairs_.covers(p.accuracy, p.energy)) continue;
            stairs_.add(p.accuracy, p.energy);
            pts.push_back(p);
        }
    }

    // Another front's points (flushed) in place of this one's.
    void assign(Front3& from) {
        from.flush();
        pts = from.pts;
        fresh_.clear();
        snapshot();
    }

    // The snapshot of the points as they are now.
    void snapshot() {
        flush();
        const std::size_t n = pts.size();
        lat_.resize(n);
        acc_.resize(n);
        en_.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            lat_[i] = pts[i].latency;
            acc_[i] = pts[i].accuracy;
            en_[i] = pts[i].energy;
        }
        recent_.clear();
        // Level l: nodes of kBlock << l points (whole ones only), each by accuracy falling with its energy.
        std::size_t levels = 0;
        while ((kBlock << levels) <= n) ++levels;
        levels_.resize(levels);
        for (std::size_t l = 0; l < levels; ++l) {
            const std::size_t size = kBlock << l, whole = n / size * size;
            std::vector<std::uint32_t>& idx = levels_[l].idx;
            idx.resize(whole);
            if (l == 0) {
                for (std::size_t i = 0; i < whole; ++i) idx[i] = static_cast<std::uint32_t>(i);
                for (std::size_t b = 0; b < whole; b += size)
                    std::sort(idx.begin() + b, idx.begin() + b + size, [this](std::uint32_t i, std::uint32_t j) {
                        return acc_[i] > acc_[j];
                    });
            } else {
                const std::vector<std::uint32_t>& below = levels_[l - 1].idx;
                for (std::size_t b = 0; b < whole; b += size)
                    std::merge(below.begin() + b, below.begin() + b + size / 2, below.begin() + b + size / 2,
                               below.begin() + b + size, idx.begin() + b,
                               [this](std::uint32_t i, std::uint32_t j) { return acc_[i] > acc_[j]; });
            }
            Level& v = levels_[l];
            v.acc.resize(whole);
            v.least_en.resize(whole);
            for (std::size_t b = 0; b < whole; b += size) {
                double least = kBoundInf;
                for (std::size_t i = b; i < b + size; ++i) {
                    v.acc[i] = acc_[idx[i]];
                    least = std::min(least, en_[idx[i]]);
                    v.least_en[i] = least;
                }
            }
        }
    }

    // frontier3_indices' order: latency rising, accuracy falling, energy rising.
    static bool order_less(const SearchPoint& x, const SearchPoint& y) {
        if (x.latency != y.latency) return x.latency < y.latency;
        if (x.accuracy != y.accuracy) return x.accuracy > y.accuracy;
        return x.energy < y.energy;
    }

   private:
    static constexpr std::size_t kBlock = 16;   // the smallest node; shorter runs are scanned
    static constexpr std::size_t kRecent = 48;  // points inserted between snapshots (and 1/32 of the front)
    struct Level {
        std::vector<std::uint32_t> idx;  // the points of each node, accuracy falling
        std::vector<double> acc, least_en;
    };
    std::vector<double> lat_, acc_, en_;  // the snapshot, latency rising
    std::vector<Level> levels_;
    std::vector<double> recent_;  // (lat, acc, en) of the points inserted since the snapshot
    std::vector<SearchPoint> fresh_, all_;  // the points inserted since the last flush; flush's scratch
    AccuracyEnergyStairs stairs_;
    // The last point (or corner) found beyond a corner: asked first.
    mutable double hit_[3] = {kBoundInf, -kBoundInf, kBoundInf};

    bool remember(const double* p) const {
        hit_[0] = p[0];
        hit_[1] = p[1];
        hit_[2] = p[2];
        return true;
    }
};

// All threads' finds.
struct SharedFront3 {
    std::mutex mu;
    Front3 front;
    std::uint64_t version = 0;
};

// A worker's copy: it prunes against `front` and inserts there without a lock; `fresh` holds its finds
// since it last shared them (inserting those into the shared front gives the union's Pareto set, which
// does not depend on the order).
struct LocalFront3 {
    Front3 front;
    std::vector<SearchPoint> fresh;
    std::uint64_t seen = ~std::uint64_t(0);

    void reset() {
        front = Front3();
        fresh.clear();
        seen = ~std::uint64_t(0);
    }
    void insert(const SearchPoint& p) {
        front.insert(p);
        fresh.push_back(p);
    }
    // As LocalFrontier::sync; the local front's snapshot is then rebuilt.
    void sync(SharedFront3& shared, bool last = false) {
        std::lock_guard<std::mutex> lock(shared.mu);
        const bool theirs = seen != shared.version;
        if (!theirs && !last) return;
        if (!fresh.empty()) {
            for (const SearchPoint& p : fresh) shared.front.insert(p);
            fresh.clear();
            ++shared.version;
        }
        if (theirs)
            front.assign(shared.front);
        else
            front.snapshot();
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
