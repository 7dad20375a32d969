// Label dominance within a state (labels.hpp).
#include "labels.hpp"

#include <algorithm>
#include <limits>

namespace eepart {
namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

// Labels of one state weakly dominated by another go: in the order of cand_less (latency rising,
// accuracy falling on ties), keep those more accurate than every one before. Each source group gives
// a run already in that order (its labels are a staircase and the same terms are added to all), so
// the runs are filtered, then merged pairwise, filtering again: the kept set is the same as sorting
// all and filtering once, at a fraction of the cost, since most candidates fall early.
void keep_nondominated(std::vector<Cand>& cands, std::vector<std::size_t>& runs, std::vector<Cand>& merged) {
    runs.push_back(cands.size());
    if (cands.size() < 4 * runs.size()) {  // short runs: one sort costs less than the merges
        std::sort(cands.begin(), cands.end(), cand_less);
        runs.assign({0, cands.size()});
    }
    std::size_t w = 0;
    for (std::size_t r = 0; r + 1 < runs.size(); ++r) {
        const auto first = cands.begin() + runs[r], last = cands.begin() + runs[r + 1];
        if (!std::is_sorted(first, last, cand_less)) std::sort(first, last, cand_less);  // rounding ties only
        runs[r] = w;
        double best = -kInf;
        for (auto it = first; it != last; ++it)
            if (it->acc > best) {
                best = it->acc;
                cands[w++] = *it;
            }
    }
    runs.back() = w;
    cands.resize(w);
    while (runs.size() > 2) {
        merged.clear();
        std::size_t out = 0;
        for (std::size_t r = 0; r + 1 < runs.size(); r += 2) {
            const std::size_t start = merged.size();
            const Cand *x = &cands[runs[r]], *xe = &cands[runs[r + 1]];
            const Cand *y = xe, *ye = xe;
            if (r + 2 < runs.size()) ye = &cands[runs[r + 2]];
            double best = -kInf;
            while (x != xe || y != ye) {
                const Cand& c = (y == ye || (x != xe && !cand_less(*y, *x))) ? *x++ : *y++;
                if (c.acc > best) {
                    best = c.acc;
                    merged.push_back(c);
                }
            }
            runs[out++] = start;
        }
        runs[out++] = merged.size();
        runs.resize(out);
        cands.swap(merged);
    }
}

void drop_dominated_by(std::vector<Cand>& cands, const Label* begin, const Label* end) {
    // Both rise in latency and accuracy: walk them together.
    std::size_t w = 0;
    const Label* j = begin;
    for (std::size_t i = 0; i < cands.size(); ++i) {
        while (j < end && j->lat <= cands[i].lat) ++j;
        if (!(j > begin && (j - 1)->acc >= cands[i].acc)) cands[w++] = cands[i];
    }
    cands.resize(w);
}


// In cand_less order (energy rising on ties) a candidate can only be dominated by one before it: it stays
// unless a kept one is at least as accurate and spends no more energy, which the kept ones' (accuracy,
// energy) stairs answer by one search.
void keep_nondominated(std::vector<Cand3>& cands, std::vector<std::size_t>& runs, std::vector<Cand3>& merged,
                       double floor) {
    auto less = [floor](const Cand3& x, const Cand3& y) {
        if (x.lat != y.lat) return x.lat < y.lat;
        if (x.acc != y.acc) return x.acc > y.acc;
        const double ex = std::max(x.en, floor), ey = std::max(y.en, floor);
        if (ex != ey) return ex < ey;
        return x.parent < y.parent;
    };
    std::sort(cands.begin(), cands.end(), less);
    thread_local AccuracyEnergyStairs kept;
    kept.clear();
    std::size_t w = 0;
    for (std::size_t i = 0; i < cands.size(); ++i) {
        const double en = std::max(cands[i].en, floor);
        if (kept.covers(cands[i].acc, en)) continue;
        kept.add(cands[i].acc, en);
        cands[w++] = cands[i];
    }
    cands.resize(w);
    merged.clear();
    runs.assign({0, cands.size()});
}

void drop_dominated_by(std::vector<Cand3>& cands, const Label3* begin, const Label3* end, double floor) {
    thread_local AccuracyEnergyStairs before;  // the labels of no more latency than the candidate
    before.clear();
    std::size_t w = 0;
    const Label3* l = begin;
    for (std::size_t i = 0; i < cands.size(); ++i) {
        for (; l < end && l->lat <= cands[i].lat; ++l) before.add(l->acc, std::max(l->en, floor));
        if (!before.covers(cands[i].acc, std::max(cands[i].en, floor))) cands[w++] = cands[i];
    }
    cands.resize(w);
}

}  // namespace eepart
