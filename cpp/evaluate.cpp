// evaluate: the SPEC formulas applied to given configurations, one straight loop per row.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "engine.hpp"
#include "parallel.hpp"

namespace eepart {
namespace {

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
        acc += tb.acc(t, q) * exit;
        prev = q;
    }
    latency = lat;
    accuracy = acc;
}

}  // namespace

void evaluate(const Tables& tb, const ConfigView& c, double* latency, double* accuracy, int threads) {
    constexpr std::size_t kChunk = 1 << 14;
    auto rows = [&](std::size_t begin, std::size_t end, const std::atomic<bool>* cancel) {
        for (std::size_t i = begin; i < end; ++i) {
            if (cancel && (i & 1023) == 0 && cancel->load(std::memory_order_relaxed)) return;
            evaluate_row(tb, static_cast<int>(c.threshold_index[i]), static_cast<int>(c.num_partitions[i]),
                         c.partitions + i * c.width, c.placement + i * c.width, latency[i], accuracy[i]);
        }
    };
    if (c.n <= kChunk) return rows(0, c.n, nullptr);  // a millisecond at most: a thread would cost more
    const std::size_t n_chunks = (c.n + kChunk - 1) / kChunk;
    parallel_for(n_chunks, threads, [&](std::size_t chunk, const std::atomic<bool>& cancel) {
        rows(chunk * kChunk, std::min(c.n, (chunk + 1) * kChunk), &cancel);
    });
}

}  // namespace eepart
