// Configurations (t, P, A) of the model: how many there are, the rules a given one must follow, and the
// placements of L partitions in canonical order. One copy of each, for the CPU and GPU engines.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tables.hpp"

namespace eepart {

// Saturating arithmetic of counts: UINT64_MAX stands for "does not fit".
std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b);
std::uint64_t sat_add(std::uint64_t a, std::uint64_t b);
std::uint64_t choose(int n, int k);        // C(n, k)
std::uint64_t arrangements(int m, int k);  // m! / (m-k)!
// K · Σ_{L=1}^{min(M,N)} C(N, L) · M!/(M−L)!, or UINT64_MAX when it does not fit in 64 bits.
std::uint64_t count_configurations(int N, int M, int K);

// All k-permutations of 0..m-1 in the order of itertools.permutations(range(m), k), the canonical order
// of placements: rows of `width` tiers padded with -1, and each row's last tier.
void tabulate_placements(int m, int k, int width, std::vector<std::int32_t>& rows, std::vector<std::uint8_t>& last);

// Configurations as the caller passes them: row i is (t[i], L[i], P[i][0..L-1], A[i][0..L-1]), P and A
// padded to `width` columns (the padding is never read).
struct ConfigView {
    std::size_t n = 0;
    std::size_t width = 0;
    const std::int64_t* threshold_index = nullptr;  // [n]
    const std::int64_t* num_partitions = nullptr;   // [n]
    const std::int64_t* partitions = nullptr;       // [n][width], block counts 1..N
    const std::int64_t* placement = nullptr;        // [n][width], tiers 0..M-1
};

// Rows [begin, end) of a caller's configurations, copied into memory the engine owns and checked there,
// so that no index an engine reads can change after its check. Throws std::invalid_argument naming the
// field, the row (numbered as in the caller's arrays) and the value of the first bad entry.
class ConfigRows {
   public:
    void copy(const Tables& tables, const ConfigView& from, std::size_t begin, std::size_t end);
    const ConfigView& view() const { return view_; }

   private:
    std::vector<std::int64_t> t_, L_, P_, A_;
    ConfigView view_;
};

}  // namespace eepart
