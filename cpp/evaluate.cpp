// evaluate: the SPEC formulas applied to given configurations, one straight loop per row.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "engine.hpp"
#include "parallel.hpp"

namespace eepart {
namespace {

[[noreturn]] void bad(const std::string& message) { throw std::invalid_argument(message); }

std::string cell(const char* field, std::size_t i, std::size_t k) {
    return std::string(field) + "[" + std::to_string(i) + "][" + std::to_string(k) + "]";
}

// The order of the additions is SPEC's (CONTEXT.md), so that every backend agrees to the last bits.
void evaluate_row(const Tables& tb, int t, int L, const std::int64_t* P, const std::int64_t* A,
                  double& latency, double& accuracy) {
    double lat = tb.input(static_cast<int>(A[0]));
    double acc = 0.0;
    int prev = 0;
    for (int k = 0; k < L; ++k) {
        const int q = static_cast<int>(P[k]);
        const int a = static_cast<int>(A[k]);
        const double c_prev = tb.cum(t, prev);
        const double in = 1.0 - c_prev;
        const double exit = (k + 1 < L) ? tb.cum(t, q) - c_prev : 1.0 - c_prev;
        lat += in * tb.compute(a, prev, q);
        lat += exit * tb.result(a);
        if (k + 1 < L) {
            const double stay = 1.0 - tb.cum(t, q);
            lat += stay * tb.forward(q, a, static_cast<int>(A[k + 1]));
        }
        acc += tb.acc(q) * exit;
        prev = q;
    }
    latency = lat;
    accuracy = acc;
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

void evaluate(const Tables& tb, const ConfigView& c, double* latency, double* accuracy, int threads) {
    constexpr std::size_t kChunk = 1 << 14;
    const std::size_t n_chunks = (c.n + kChunk - 1) / kChunk;
    parallel_for(n_chunks, threads, [&](std::size_t chunk, const std::atomic<bool>& cancel) {
        const std::size_t end = std::min(c.n, (chunk + 1) * kChunk);
        for (std::size_t i = chunk * kChunk; i < end; ++i) {
            if ((i & 1023) == 0 && cancel.load(std::memory_order_relaxed)) return;
            evaluate_row(tb, static_cast<int>(c.threshold_index[i]), static_cast<int>(c.num_partitions[i]),
                         c.partitions + i * c.width, c.placement + i * c.width, latency[i], accuracy[i]);
        }
    });
}

}  // namespace eepart
