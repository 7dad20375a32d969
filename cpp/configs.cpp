// The rules of SPEC for a configuration, checked where Python meets C++ (CPU and GPU modules alike):
// a bad index must never reach the tables.
#include <stdexcept>
#include <string>

#include "engine.hpp"

namespace eepart {
namespace {

[[noreturn]] void bad(const std::string& message) { throw std::invalid_argument(message); }

std::string cell(const char* field, std::size_t i, std::size_t k) {
    return std::string(field) + "[" + std::to_string(i) + "][" + std::to_string(k) + "]";
}

}  // namespace

void validate_configs(const Tables& tb, const ConfigView& c) {
    const int Lmax = tb.max_partitions();
    for (std::size_t i = 0; i < c.n; ++i) {
        const std::int64_t t = c.threshold_index[i];
        if (t < 0 || t >= tb.K)
            bad("threshold_index[" + std::to_string(i) + "] = " + std::to_string(t) + ": must be in 0.." +
                std::to_string(tb.K - 1));
        const std::int64_t L = c.num_partitions[i];
        if (L < 1 || L > Lmax)
            bad("num_partitions[" + std::to_string(i) + "] = " + std::to_string(L) + ": must be in 1.." +
                std::to_string(Lmax) + " (min(M, N))");
        if (static_cast<std::size_t>(L) > c.width)
            bad("num_partitions[" + std::to_string(i) + "] = " + std::to_string(L) +
                ": more than the " + std::to_string(c.width) + " columns of partitions and placement");
        const std::int64_t* P = c.partitions + i * c.width;
        const std::int64_t* A = c.placement + i * c.width;
        for (std::size_t k = 0; k < static_cast<std::size_t>(L); ++k) {
            if (P[k] < 1 || P[k] > tb.N)
                bad(cell("partitions", i, k) + " = " + std::to_string(P[k]) + ": must be in 1.." +
                    std::to_string(tb.N));
            if (k > 0 && P[k] <= P[k - 1])
                bad(cell("partitions", i, k) + " = " + std::to_string(P[k]) + ": must be > " +
                    cell("partitions", i, k - 1) + " = " + std::to_string(P[k - 1]));
            if (A[k] < 0 || A[k] >= tb.M)
                bad(cell("placement", i, k) + " = " + std::to_string(A[k]) + ": must be in 0.." +
                    std::to_string(tb.M - 1));
            for (std::size_t j = 0; j < k; ++j)
                if (A[j] == A[k])
                    bad(cell("placement", i, k) + " = " + std::to_string(A[k]) + ": repeats " +
                        cell("placement", i, j) + " (tiers of one configuration are distinct)");
        }
    }
}

}  // namespace eepart
