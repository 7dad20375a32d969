// Counting, placements and the rules of a given configuration (configs.hpp).
#include "configs.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace eepart {
namespace {

constexpr std::uint64_t kSat = std::numeric_limits<std::uint64_t>::max();

[[noreturn]] void bad(const std::string& message) { throw std::invalid_argument(message); }

std::string cell(const char* field, std::size_t i, std::size_t k) {
    return std::string(field) + "[" + std::to_string(i) + "][" + std::to_string(k) + "]";
}

// The rules for rows of `c`, named as rows first_row + i.
void validate(const Tables& tb, const ConfigView& c, std::size_t first_row) {
    const int Lmax = tb.max_partitions();
    for (std::size_t r = 0; r < c.n; ++r) {
        const std::size_t i = first_row + r;
        const std::int64_t t = c.threshold_index[r];
        if (t < 0 || t >= tb.K)
            bad("threshold_index[" + std::to_string(i) + "] = " + std::to_string(t) + ": must be in 0.." +
                std::to_string(tb.K - 1));
        const std::int64_t L = c.num_partitions[r];
        if (L < 1 || L > Lmax)
            bad("num_partitions[" + std::to_string(i) + "] = " + std::to_string(L) + ": must be in 1.." +
                std::to_string(Lmax) + " (min(M, N))");
        if (static_cast<std::size_t>(L) > c.width)
            bad("num_partitions[" + std::to_string(i) + "] = " + std::to_string(L) + ": more than the " +
                std::to_string(c.width) + " columns of partitions and placement");
        const std::int64_t* P = c.partitions + r * c.width;
        const std::int64_t* A = c.placement + r * c.width;
        for (std::size_t k = 0; k < static_cast<std::size_t>(L); ++k) {
            if (P[k] < 1 || P[k] > tb.N)
                bad(cell("partitions", i, k) + " = " + std::to_string(P[k]) + ": must be in 1.." + std::to_string(tb.N));
            if (k > 0 && P[k] <= P[k - 1])
                bad(cell("partitions", i, k) + " = " + std::to_string(P[k]) + ": must be > " +
                    cell("partitions", i, k - 1) + " = " + std::to_string(P[k - 1]));
            if (A[k] < 0 || A[k] >= tb.M)
                bad(cell("placement", i, k) + " = " + std::to_string(A[k]) + ": must be in 0.." +
                    std::to_string(tb.M - 1));
            for (std::size_t j = 0; j < k; ++j)
                if (A[j] == A[k])
                    bad(cell("placement", i, k) + " = " + std::to_string(A[k]) + ": repeats " + cell("placement", i, j) +
                        " (tiers of one configuration are distinct)");
        }
    }
}

}  // namespace

std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) { return a != 0 && b > kSat / a ? kSat : a * b; }

std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) { return a > kSat - b ? kSat : a + b; }

std::uint64_t choose(int n, int k) {
    if (k < 0 || k > n) return 0;
    k = std::min(k, n - k);
    std::uint64_t r = 1;
    for (int i = 1; i <= k; ++i) {  // r = C(n-k+i, i), rising with i: once too big, it stays so
        // r * (n-k+i) / i without overflow: i / gcd(r, i) divides n-k+i.
        const std::uint64_t g = std::gcd(r, static_cast<std::uint64_t>(i));
        r = sat_mul(r / g, static_cast<std::uint64_t>(n - k + i) / (static_cast<std::uint64_t>(i) / g));
        if (r == kSat) return kSat;
    }
    return r;
}

std::uint64_t arrangements(int m, int k) {
    std::uint64_t r = 1;
    for (int i = 0; i < k; ++i) r = sat_mul(r, static_cast<std::uint64_t>(m - i));
    return r;
}

std::uint64_t count_configurations(int N, int M, int K) {
    std::uint64_t per_t = 0;
    for (int L = 1; L <= std::min(M, N); ++L) per_t = sat_add(per_t, sat_mul(choose(N, L), arrangements(M, L)));
    return sat_mul(per_t, static_cast<std::uint64_t>(K < 0 ? 0 : K));
}

void tabulate_placements(int m, int k, int width, std::vector<std::int32_t>& rows, std::vector<std::uint8_t>& last) {
    std::int32_t cur[kMaxTiers];
    std::fill(cur, cur + kMaxTiers, -1);
    auto rec = [&](auto&& self, int depth, unsigned used) -> void {
        if (depth == k) {
            rows.insert(rows.end(), cur, cur + width);
            last.push_back(static_cast<std::uint8_t>(cur[k - 1]));
            return;
        }
        for (int b = 0; b < m; ++b) {
            if (used >> b & 1u) continue;
            cur[depth] = b;
            self(self, depth + 1, used | 1u << b);
        }
    };
    rec(rec, 0, 0u);
}

void ConfigRows::copy(const Tables& tables, const ConfigView& from, std::size_t begin, std::size_t end) {
    const std::size_t n = end - begin, w = from.width;
    t_.assign(from.threshold_index + begin, from.threshold_index + end);
    L_.assign(from.num_partitions + begin, from.num_partitions + end);
    P_.assign(from.partitions + begin * w, from.partitions + end * w);
    A_.assign(from.placement + begin * w, from.placement + end * w);
    view_ = ConfigView{n, w, t_.data(), L_.data(), P_.data(), A_.data()};
    validate(tables, view_, begin);
}

}  // namespace eepart
