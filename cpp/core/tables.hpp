// The engine form of the model (docs/model.md, "Engine form"): six cost tables, the only thing every
// backend sees. Tiers, links and bits stay in Python.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace eepart {

// Hard limits of the engine, stated in the docs; checked when tables are built.
constexpr int kMaxTiers = 16;
constexpr int kMaxBlocks = 1000;
constexpr int kMaxThresholds = 1000;

// A read-only view of the six cost tables (row-major float64). Engines read only through it.
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
    double max_compute = 0;    // the largest compute cost of a partition (p < q)
    double latency_bound = 0;  // no plan's latency exceeds it (see TableData): the scale of the searches' slack
    // The optional energy tables (docs/model.md "Energy"): the cost tables' shapes, joules per sample that
    // takes the step; all null when the tables carry none.
    const double* input_energy = nullptr;
    const double* compute_energy = nullptr;
    const double* forward_energy = nullptr;
    const double* result_energy = nullptr;
    double max_compute_energy = 0;  // as max_compute, of compute_energy
    double energy_bound = 0;        // no plan's energy exceeds it

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
    int max_partitions() const { return N < M ? N : M; }
    bool has_energy() const { return input_energy != nullptr; }
    // The energy tables in the cost tables' places (and their bounds in the latency's): the energy has the
    // latency's engine form, so the latency's code run on this view computes it, term for term.
    Tables energy_view() const {
        Tables e = *this;
        e.input_cost = input_energy;
        e.compute_cost = compute_energy;
        e.forward_cost = forward_energy;
        e.result_cost = result_energy;
        e.max_compute = max_compute_energy;
        e.latency_bound = energy_bound;
        e.input_energy = e.compute_energy = e.forward_energy = e.result_energy = nullptr;
        return e;
    }
    // The (K, N) table, a row per threshold, whichever shape the caller gave (the devices take this one).
    std::vector<double> accuracy_rows() const {
        std::vector<double> rows(static_cast<std::size_t>(K) * N);
        for (int t = 0; t < K; ++t) std::copy(acc_row(t), acc_row(t) + N, rows.begin() + static_cast<std::size_t>(t) * N);
        return rows;
    }
};

// One table, already copied out of the caller's memory: row-major values of the given shape.
struct TableInput {
    std::vector<double> values;
    std::vector<std::int64_t> shape;
};

// The four energy tables as given (input_energy, compute_energy, forward_energy, result_energy), or the
// three move tables of a network change (compute empty: kept from the base).
struct EnergyInput {
    TableInput input, compute, forward, result;
};

// The six tables in memory the engine owns, checked there: what is checked is what every engine reads,
// whatever the caller does to its arrays meanwhile (the engines run without the GIL; the bindings copy
// the arrays while they hold it). Immutable once built, so one TableData may serve any number of
// threads and calls.
//
// The rules (std::invalid_argument names the table, the index and the value of the first entry that
// breaks one):
// - shapes: input_cost (M,), compute_cost (M, N+1, N+1), forward_cost (N, M, M), result_cost (M,),
//   cum_exit (K, N+1), accuracy (N,) or (K, N); 1 <= M <= 16, 1 <= N <= 1000, 1 <= K <= 1000;
// - every cost a configuration can read is finite and >= 0 (seconds). The entries no configuration reads
//   are ignored, whatever they hold, and are 0 in the engine's copy: compute_cost[a][p][q] with p >= q,
//   forward_cost[q][a][a] (no move within a tier) and forward_cost[N-1] (block N's output is never sent);
// - the costs are small enough that no plan's latency can overflow: input + min(M, N) * (compute +
//   forward + result), each term its table's largest, must stay below 2^1021 s (about 4e307). So every
//   latency an engine returns is finite, never inf or NaN;
// - accuracy in [0, 1]; each cum_exit row starts at 0, ends at 1, and never falls;
// - the optional energy tables (input_energy, compute_energy, forward_energy, result_energy) have the
//   shapes of the four cost tables, the same entries ignored, and every other entry finite, >= 0 and at
//   most 1e300 J (the Python layer's rule: no energy sum of min(M, N) partitions' terms can overflow).
class TableData {
   public:
    TableData(TableInput input_cost, TableInput compute_cost, TableInput forward_cost, TableInput result_cost,
              TableInput cum_exit, TableInput accuracy, std::unique_ptr<EnergyInput> energy = nullptr);
    // `base`'s tables with new move tables (input, forward, result: copied and checked here, by the same
    // rules), sharing base's compute_cost, cum_exit and accuracy (kept alive, never copied or checked
    // again): a network change re-derives only these three. Base's energy tables are kept, or with
    // `move_energy` (its compute left empty) its move energies replaced, checked likewise.
    TableData(std::shared_ptr<const TableData> base, TableInput input_cost, TableInput forward_cost,
              TableInput result_cost, std::unique_ptr<EnergyInput> move_energy = nullptr);
    TableData(const TableData&) = delete;
    TableData& operator=(const TableData&) = delete;

    const Tables& view() const { return view_; }
    // The engine's copies, for the bindings to show (shape as given).
    const std::vector<double>& input_cost() const { return input_; }
    const std::vector<double>& compute_cost() const { return shared().compute_; }
    const std::vector<double>& forward_cost() const { return forward_; }
    const std::vector<double>& result_cost() const { return result_; }
    const std::vector<double>& cum_exit() const { return shared().cum_; }
    const std::vector<double>& accuracy() const { return shared().acc_; }
    const std::vector<std::int64_t>& accuracy_shape() const { return shared().acc_shape_; }
    const std::vector<double>& input_energy() const { return input_e_; }
    const std::vector<double>& compute_energy() const { return shared().compute_e_; }
    const std::vector<double>& forward_energy() const { return forward_e_; }
    const std::vector<double>& result_energy() const { return result_e_; }

   private:
    const TableData& shared() const { return base_ ? *base_ : *this; }
    // The checks and the latency bound of the move tables (moved into input_, forward_, result_), given
    // the view's N, M and max_compute.
    void take_moves(TableInput& input_cost, TableInput& forward_cost, TableInput& result_cost);
    // The energy tables' checks and bound; compute_energy from `energy` when it has one (else shared).
    void take_energy(EnergyInput& energy);

    std::shared_ptr<const TableData> base_;  // owns compute_, cum_, acc_, compute_e_ when set (never derived)
    std::vector<double> input_, compute_, forward_, result_, cum_, acc_;
    std::vector<double> input_e_, compute_e_, forward_e_, result_e_;  // empty: no energy tables
    std::vector<std::int64_t> acc_shape_;
    Tables view_;
};

}  // namespace eepart
