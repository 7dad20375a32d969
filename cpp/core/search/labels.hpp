// Label dominance, the heart of the exact search's pruning within a state. A label is a partial plan that
// ended a partition: every term it owes already, summed in the canonical order. Every completion adds the
// same terms in the same order whatever came before, and IEEE addition is monotone, so a label weakly
// dominated by another of the same state (last block, tier, tiers used) can be dropped: exactly, not to a
// tolerance; and likewise by a label of a state with a subset of its tiers.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace eepart {

struct Label {
    double lat, acc;
    std::int32_t parent;  // arena index of the previous partition's label, -1 for the first
    std::int16_t q;       // last block of this partition
    std::int8_t tier;
};

// The labels of one state: last partition ends at p on tier a, tiers `used` so far.
struct Group {
    std::int32_t p, a;
    std::uint32_t used;
    std::int32_t begin, end;  // arena range
};

struct Cand {
    double lat, acc;
    std::int32_t parent;
};

// With energy (docs/model.md "Energy"), a label carries a third coordinate, the energy's terms so far,
// and dominance within a state is on all three: a label of less latency and more accuracy but more energy
// may be the one whose completions meet max_energy, or reach the 3-D frontier.
struct Label3 {
    double lat, acc;
    std::int32_t parent;
    std::int16_t q;
    std::int8_t tier;
    double en;
};

struct Cand3 {
    double lat, acc;
    std::int32_t parent;
    double en;
};

// Candidate order within a state: latency rising, accuracy falling on ties, then parent.
inline bool cand_less(const Cand& x, const Cand& y) {
    if (x.lat != y.lat) return x.lat < y.lat;
    if (x.acc != y.acc) return x.acc > y.acc;
    return x.parent < y.parent;
}

// Keeps the candidates of one state that no other weakly dominates, latency (and accuracy) rising.
// `runs` holds where each source group's run starts in `cands` (each run is already in cand_less order,
// but for rounding ties); `merged` is scratch. Both are left changed.
void keep_nondominated(std::vector<Cand>& cands, std::vector<std::size_t>& runs, std::vector<Cand>& merged);

// Drops the candidates (latency and accuracy rising) that a label of [begin, end) (likewise rising)
// weakly dominates.
void drop_dominated_by(std::vector<Cand>& cands, const Label* begin, const Label* end);

// (accuracy, energy) pairs none of which another weakly beats (more accuracy, no more energy): accuracy and
// energy both rising. What the labels (or points) of no more latency than a candidate offer it.
class AccuracyEnergyStairs {
   public:
    void clear() { v_.clear(); }
    // Is there a pair of accuracy >= acc and energy <= en? The first pair of accuracy >= acc has the least
    // energy of those.
    bool covers(double acc, double en) const {
        auto it = std::lower_bound(v_.begin(), v_.end(), acc, [](const Pair& p, double a) { return p.acc < a; });
        return it != v_.end() && it->en <= en;
    }
    void add(double acc, double en) {
        if (covers(acc, en)) return;
        auto at = std::lower_bound(v_.begin(), v_.end(), acc, [](const Pair& p, double a) { return p.acc < a; });
        auto end = (at != v_.end() && at->acc == acc) ? at + 1 : at;  // an equal accuracy has more energy
        // Before `at`, less accuracy: those of energy >= en (a suffix, energy rising) are beaten too.
        auto from = std::lower_bound(v_.begin(), at, en, [](const Pair& p, double e) { return p.en < e; });
        from = v_.erase(from, end);
        v_.insert(from, Pair{acc, en});
    }

   private:
    struct Pair {
        double acc, en;
    };
    std::vector<Pair> v_;
};

// The same on (latency, accuracy, energy): keeps the candidates no other weakly dominates in all three
// (of exact ties, the first in cand_less order), latency rising. `runs` and `merged` as above (the runs
// are merged by one sort here). Energies are compared as max(energy, floor): where the energy is only
// bounded (max_energy), a label at or under `floor` meets the bound with every completion, and then
// dominates whatever its energy.
void keep_nondominated(std::vector<Cand3>& cands, std::vector<std::size_t>& runs, std::vector<Cand3>& merged,
                       double floor);

// Drops the candidates (latency rising) that a label of [begin, end) (latency rising) weakly dominates
// in all three (energies compared as above).
void drop_dominated_by(std::vector<Cand3>& cands, const Label3* begin, const Label3* end, double floor);

}  // namespace eepart
