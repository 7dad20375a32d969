// evaluate on the GPU: the tables and the configurations go over in chunks, one thread per row.
// Also what every GPU job shares: the tables on the device, the row columns, the configuration count.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "cuda_engine.hpp"

namespace eepart {
namespace gpu {
namespace {

std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) {
    if (a && b > std::numeric_limits<std::uint64_t>::max() / a) return std::numeric_limits<std::uint64_t>::max();
    return a * b;
}

}  // namespace

TablesOnDevice::TablesOnDevice(const Tables& tb) {
    const std::size_t N = tb.N, M = tb.M, K = tb.K;
    std::vector<double> compT((N + 1) * (N + 1) * M);
    for (std::size_t a = 0; a < M; ++a)
        for (std::size_t p = 0; p <= N; ++p)
            for (std::size_t q = 0; q <= N; ++q)
                compT[(p * (N + 1) + q) * M + a] = tb.compute_cost[(a * (N + 1) + p) * (N + 1) + q];
    input_.put(tb.input_cost, M);
    compT_.put(compT.data(), compT.size());
    fwd_.put(tb.forward_cost, N * M * M);
    res_.put(tb.result_cost, M);
    cum_.put(tb.cum_exit, K * (N + 1));
    const std::vector<double> acc = tb.accuracy_rows();  // [K][N] on the device, whatever the shape
    acc_.put(acc.data(), K * N);
    view_ = DeviceTables{tb.N, tb.M, tb.K, input_.data(), compT_.data(), fwd_.data(), res_.data(), cum_.data(),
                         acc_.data()};
}

void Rows::resize(std::uint64_t n) {
    const std::size_t w = static_cast<std::size_t>(Lmax);
    latency.resize(n);
    accuracy.resize(n);
    threshold_index.resize(n);
    num_partitions.resize(n);
    partitions.resize(n * w);
    placement.resize(n * w);
    rows = n;
}

std::uint64_t count_configurations(int N, int M, int K) {
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t per_t = 0;
    for (int L = 1; L <= std::min(M, N); ++L) {
        std::uint64_t comb = 1;  // C(N, L), exact while it fits
        for (int i = 1; i <= L && comb != max; ++i) {
            const std::uint64_t num = static_cast<std::uint64_t>(N - L + i);
            comb = (comb > max / num) ? max : comb * num / static_cast<std::uint64_t>(i);
        }
        std::uint64_t arr = 1;
        for (int i = 0; i < L; ++i) arr = sat_mul(arr, static_cast<std::uint64_t>(M - i));
        const std::uint64_t n = sat_mul(comb, arr);
        per_t = (per_t > max - n) ? max : per_t + n;
    }
    return sat_mul(per_t, static_cast<std::uint64_t>(K));
}

void evaluate(const Tables& tb, const Configs& c, double* latency, double* accuracy, const Poll& poll) {
    if (c.n == 0) return;
    TablesOnDevice dt(tb);
    constexpr std::size_t kChunk = std::size_t(1) << 22;
    const std::size_t first = std::min(c.n, kChunk);
    Buffer<long long> t(first), L(first), P(first * c.width), A(first * c.width);
    Buffer<double> lat(first), acc(first);
    for (std::size_t s = 0; s < c.n; s += kChunk) {
        const std::size_t n = std::min(kChunk, c.n - s);
        upload(t.data(), c.t + s, n * sizeof(long long));
        upload(L.data(), c.L + s, n * sizeof(long long));
        upload(P.data(), c.P + s * c.width, n * c.width * sizeof(long long));
        upload(A.data(), c.A + s * c.width, n * c.width * sizeof(long long));
        launch_evaluate(dt.view(), n, static_cast<int>(c.width), t.data(), L.data(), P.data(), A.data(), lat.data(),
                        acc.data());
        lat.get(latency + s, n);
        acc.get(accuracy + s, n);
        poll();
    }
}

}  // namespace gpu
}  // namespace eepart
