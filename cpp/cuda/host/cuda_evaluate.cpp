// evaluate on the GPU: the tables and the configurations go over in chunks, one thread per row.
// Also what every GPU job shares: the tables on the device, the row columns.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "cuda_engine.hpp"
#include "quantile.hpp"

namespace eepart {
namespace gpu {

namespace {

// compute [a][p][q] as the kernels read it, [p][q][a].
std::vector<double> transposed(const double* compute, std::size_t N, std::size_t M) {
    std::vector<double> compT((N + 1) * (N + 1) * M);
    for (std::size_t a = 0; a < M; ++a)
        for (std::size_t p = 0; p <= N; ++p)
            for (std::size_t q = 0; q <= N; ++q)
                compT[(p * (N + 1) + q) * M + a] = compute[(a * (N + 1) + p) * (N + 1) + q];
    return compT;
}

}  // namespace

TablesOnDevice::TablesOnDevice(const Tables& tb) {
    const std::size_t N = tb.N, M = tb.M, K = tb.K;
    const std::vector<double> compT = transposed(tb.compute_cost, N, M);
    input_.put(tb.input_cost, M);
    compT_.put(compT.data(), compT.size());
    fwd_.put(tb.forward_cost, N * M * M);
    res_.put(tb.result_cost, M);
    cum_.put(tb.cum_exit, K * (N + 1));
    const std::vector<double> acc = tb.accuracy_rows();  // [K][N] on the device, whatever the shape
    acc_.put(acc.data(), K * N);
    view_ = DeviceTables{tb.N, tb.M, tb.K, input_.data(), compT_.data(), fwd_.data(), res_.data(), cum_.data(),
                         acc_.data()};
    if (!tb.has_energy()) return;
    has_energy_ = true;
    const std::vector<double> e_compT = transposed(tb.compute_energy, N, M);
    e_input_.put(tb.input_energy, M);
    e_compT_.put(e_compT.data(), e_compT.size());
    e_fwd_.put(tb.forward_energy, N * M * M);
    e_res_.put(tb.result_energy, M);
    energy_view_ = DeviceTables{tb.N, tb.M, tb.K, e_input_.data(), e_compT_.data(), e_fwd_.data(), e_res_.data(),
                                cum_.data(), acc_.data()};
}

void Rows::resize(std::uint64_t n) {
    const std::size_t w = static_cast<std::size_t>(Lmax);
    latency.resize(n);
    accuracy.resize(n);
    if (with_energy) energy.resize(n);
    threshold_index.resize(n);
    num_partitions.resize(n);
    partitions.resize(n * w);
    placement.resize(n * w);
    rows = n;
}

void evaluate(const Tables& tb, const ConfigView& c, double* latency, double* accuracy, const Poll& poll,
              double quantile, double* energy) {
    check_quantile(quantile);
    if (energy && !tb.has_energy()) throw std::invalid_argument("evaluate: energy asked of tables without energy tables");
    if (c.n == 0) return;
    TablesOnDevice dt(tb);
    constexpr std::size_t kChunk = std::size_t(1) << 20;
    const std::size_t first = std::min(c.n, kChunk);
    Buffer<long long> t(first), L(first), P(first * c.width), A(first * c.width);
    Buffer<double> lat(first), acc(first);
    ConfigRows rows;  // each chunk copied and checked on the host before it goes to the device
    for (std::size_t s = 0; s < c.n; s += kChunk) {
        const std::size_t n = std::min(kChunk, c.n - s);
        rows.copy(tb, c, s, s + n);
        const ConfigView& v = rows.view();
        upload(t.data(), v.threshold_index, n * sizeof(long long));
        upload(L.data(), v.num_partitions, n * sizeof(long long));
        upload(P.data(), v.partitions, n * c.width * sizeof(long long));
        upload(A.data(), v.placement, n * c.width * sizeof(long long));
        launch_evaluate(dt.view(), n, static_cast<int>(c.width), t.data(), L.data(), P.data(), A.data(), lat.data(),
                        acc.data(), quantile, quantile_theta(quantile));
        lat.get(latency + s, n);
        acc.get(accuracy + s, n);
        if (energy) {  // the mean's form on the energy tables, whatever the quantile (the accuracy again)
            launch_evaluate(*dt.energy_view(), n, static_cast<int>(c.width), t.data(), L.data(), P.data(), A.data(),
                            lat.data(), acc.data(), 0.0, 0.0);
            lat.get(energy + s, n);
        }
        poll();
    }
}

}  // namespace gpu
}  // namespace eepart
