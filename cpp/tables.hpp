// The engine form of SPEC.md: the only thing every backend sees. Tiers, links and bits stay in Python.
#pragma once
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <vector>

namespace eepart {

// Hard limits of the engine, stated in the docs; checked where Python meets C++.
constexpr int kMaxTiers = 16;
constexpr int kMaxBlocks = 1000;
constexpr int kMaxThresholds = 1000;

// A read-only view of the six cost tables (row-major float64, owned by the caller).
struct Tables {
    int N = 0;  // blocks
    int M = 0;  // tiers
    int K = 0;  // thresholds
    const double* input_cost = nullptr;    // [M]
    const double* compute_cost = nullptr;  // [M][N+1][N+1], p < q
    const double* forward_cost = nullptr;  // [N][M][M]; block q (1..N) is row q-1
    const double* result_cost = nullptr;   // [M]
    const double* cum_exit = nullptr;      // [K][N+1], c_0 = 0, c_N = 1
    // Branch i (1..N) at threshold t is accuracy[t * acc_stride + i - 1]: one row for every threshold
    // (acc_stride 0, a table of shape (N,)) or a row per threshold (acc_stride N, shape (K, N)).
    const double* accuracy = nullptr;
    std::size_t acc_stride = 0;
    double max_compute = -1;               // the largest compute cost with p < q, or -1: not known yet

    double input(int a) const { return input_cost[a]; }
    double compute(int a, int p, int q) const {
        return compute_cost[(static_cast<std::size_t>(a) * (N + 1) + p) * (N + 1) + q];
    }
    double forward(int q, int a, int b) const {
        return forward_cost[(static_cast<std::size_t>(q - 1) * M + a) * M + b];
    }
    double result(int a) const { return result_cost[a]; }
    double cum(int t, int i) const { return cum_exit[static_cast<std::size_t>(t) * (N + 1) + i]; }
    // Threshold t's accuracies, branch q at entry q - 1.
    const double* acc_row(int t) const { return accuracy + static_cast<std::size_t>(t) * acc_stride; }
    double acc(int t, int q) const { return acc_row(t)[q - 1]; }
    // The (K, N) table, a row per threshold, whichever shape the caller gave (the devices take this one).
    std::vector<double> accuracy_rows() const {
        std::vector<double> rows(static_cast<std::size_t>(K) * N);
        for (int t = 0; t < K; ++t) std::copy(acc_row(t), acc_row(t) + N, rows.begin() + static_cast<std::size_t>(t) * N);
        return rows;
    }
    int max_partitions() const { return N < M ? N : M; }
    // The largest compute cost of any partition (p < q): known from the checks of make_tables, or found.
    double largest_compute() const {
        if (max_compute >= 0) return max_compute;
        double m = 0;
        for (int a = 0; a < M; ++a)
            for (int p = 0; p < N; ++p)
                for (int q = p + 1; q <= N; ++q) m = compute(a, p, q) > m ? compute(a, p, q) : m;
        return m;
    }
};

}  // namespace eepart
