// evaluate: the model's formulas (docs/model.md) applied to given configurations, one straight loop per row.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>

#include "engine.hpp"
#include "exact_sums.hpp"
#include "quantile.hpp"

namespace eepart {
namespace {

// The order of the additions is the model's canonical one (docs/model.md), so that every backend agrees
// to the last bits.
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

void evaluate(const Tables& tb, const ConfigView& c, double* latency, double* accuracy, int threads,
              const Poll& poll, double quantile, double* energy) {
    check_quantile(quantile);
    if (energy && !tb.has_energy()) throw std::invalid_argument("evaluate: energy asked of tables without energy tables");
    const Tables energy_tables = energy ? tb.energy_view() : tb;
    const double theta = quantile_theta(quantile);
    constexpr std::size_t kChunk = 1 << 14;
    const std::size_t n_chunks = (c.n + kChunk - 1) / kChunk;
    // A bad row stops the chunks after its own; those before run on, so the error names the first bad
    // row whatever the timing.
    std::atomic<std::size_t> first_bad{n_chunks};
    std::mutex mu;
    std::string message;
    auto chunk_rows = [&](std::size_t chunk, const std::atomic<bool>* cancel) {
        if (chunk > first_bad.load()) return;
        const std::size_t begin = chunk * kChunk, end = std::min(c.n, begin + kChunk);
        ConfigRows rows;
        try {
            rows.copy(tb, c, begin, end);
        } catch (const std::invalid_argument& e) {
            std::lock_guard<std::mutex> lock(mu);
            if (chunk < first_bad.load()) {
                first_bad = chunk;
                message = e.what();
            }
            return;
        }
        const ConfigView& v = rows.view();
        for (std::size_t r = 0; r < v.n; ++r) {
            if (cancel && (r & 1023) == 0 && cancel->load(std::memory_order_relaxed)) return;
            const int t = static_cast<int>(v.threshold_index[r]), L = static_cast<int>(v.num_partitions[r]);
            const std::int64_t* P = v.partitions + r * v.width;
            const std::int64_t* A = v.placement + r * v.width;
            evaluate_row(tb, t, L, P, A, latency[begin + r], accuracy[begin + r]);
            if (quantile > 0) latency[begin + r] = latency_quantile(tb, t, L, P, A, theta);
            double same_accuracy;
            if (energy) evaluate_row(energy_tables, t, L, P, A, energy[begin + r], same_accuracy);
        }
    };
    if (n_chunks == 1) {
        chunk_rows(0, nullptr);  // a millisecond at most: a thread would cost more
    } else if (n_chunks > 1) {
        Control control;
        control.interrupted = poll;
        control.what = "evaluate";
        parallel_for(n_chunks, threads, [&](std::size_t chunk, const std::atomic<bool>& cancel) {
            chunk_rows(chunk, &cancel);
        }, control);
    }
    if (first_bad.load() < n_chunks) throw std::invalid_argument(message);
}

}  // namespace eepart
