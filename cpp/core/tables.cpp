// TableData: the caller's tables copied, then checked on the copy (the rules are in tables.hpp).
#include "tables.hpp"

#include <cmath>
#include <utility>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

namespace eepart {
namespace {

std::string shape_str(const std::vector<std::int64_t>& shape) {
    std::ostringstream s;
    s << "(";
    for (std::size_t d = 0; d < shape.size(); ++d) s << (d ? ", " : "") << shape[d];
    s << (shape.size() == 1 ? ",)" : ")");
    return s.str();
}

void check_shape(const TableInput& a, const char* name, const std::vector<std::int64_t>& want) {
    if (a.shape != want)
        throw std::invalid_argument(std::string(name) + ": expected shape " + shape_str(want) + ", got " +
                                    shape_str(a.shape));
}

std::size_t size_of(const std::vector<std::int64_t>& shape) {
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    return n;
}

std::string index_str(std::size_t flat, const std::vector<std::int64_t>& shape) {
    std::vector<std::size_t> idx(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
        idx[d] = flat % static_cast<std::size_t>(shape[d]);
        flat /= static_cast<std::size_t>(shape[d]);
    }
    std::ostringstream s;
    for (auto i : idx) s << "[" << i << "]";
    return s.str();
}

std::vector<double> taken(TableInput& a, const char* name) {
    if (a.values.size() != size_of(a.shape))
        throw std::invalid_argument(std::string(name) + ": " + std::to_string(a.values.size()) +
                                    " values for shape " + shape_str(a.shape));
    return std::move(a.values);
}

// What a table's entries must be, and how its errors say so: the cost tables (seconds, up to the
// largest double; the latency bound then rules out overflow) and the energy tables (joules, <= 1e300).
struct Rule {
    const char* must;  // the error's reason
    double max;
};
constexpr Rule kCost{"costs must be finite and >= 0", std::numeric_limits<double>::max()};
constexpr Rule kEnergy{"energies must be finite, >= 0 and at most 1e+300 J", 1e300};

[[noreturn]] void bad_entry(const char* name, std::size_t flat, const std::vector<std::int64_t>& shape, double v,
                            const Rule& rule) {
    std::ostringstream s;
    s << name << index_str(flat, shape) << " = " << v << ": " << rule.must;
    throw std::invalid_argument(s.str());
}

bool is_entry(double v, const Rule& rule) {
    return v >= 0.0 && v <= rule.max;  // false for NaN and inf
}

// The largest entry of a table (all >= 0), checking each; the first bad one is named.
double checked_max(const std::vector<double>& v, const char* name, const std::vector<std::int64_t>& shape,
                   const Rule& rule) {
    double m = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (!is_entry(v[i], rule)) bad_entry(name, i, shape, v[i], rule);
        m = v[i] > m ? v[i] : m;
    }
    return m;
}

// The largest input, forward and result entry, each table checked (forward: rows of blocks 1..N-1,
// between two different tiers; the entries never read set to 0).
struct MoveMax {
    double input, forward, result;
};

// The names of one kind's four tables, for its errors.
struct Names {
    const char *input, *compute, *forward, *result;
};
constexpr Names kCostNames{"input_cost", "compute_cost", "forward_cost", "result_cost"};
constexpr Names kEnergyNames{"input_energy", "compute_energy", "forward_energy", "result_energy"};

MoveMax checked_moves(const std::vector<double>& input, const std::vector<std::int64_t>& input_shape,
                      std::vector<double>& forward, const std::vector<std::int64_t>& forward_shape,
                      const std::vector<double>& result, const std::vector<std::int64_t>& result_shape,
                      std::size_t N, std::size_t M, const Names& names = kCostNames, const Rule& rule = kCost) {
    MoveMax m{checked_max(input, names.input, input_shape, rule), 0.0, 0.0};
    for (std::size_t i = 0; i < forward.size(); ++i) {
        const std::size_t q = i / (M * M), a = i / M % M, b = i % M;
        if (q + 1 == N || a == b) {
            forward[i] = 0.0;
            continue;
        }
        if (!is_entry(forward[i], rule)) bad_entry(names.forward, i, forward_shape, forward[i], rule);
        m.forward = forward[i] > m.forward ? forward[i] : m.forward;
    }
    m.result = checked_max(result, names.result, result_shape, rule);
    return m;
}

// compute tables: partitions p < q only. Row by row, each entry tested without a branch (the table has
// M (N+1)^2 entries); only a table that fails is walked again to name the entry. Returns the largest.
double checked_compute(std::vector<double>& compute, const std::vector<std::int64_t>& shape, std::size_t N,
                       std::size_t M, const char* name, const Rule& rule) {
    double max_comp = 0;
    const std::size_t n1 = N + 1;
    bool ok = true;
    for (std::size_t row = 0; row < M * n1; ++row) {
        double* r = compute.data() + row * n1;
        const std::size_t p = row % n1;
        std::fill(r, r + p + 1, 0.0);  // q <= p: never read
        double m = 0;
        for (std::size_t q = p + 1; q < n1; ++q) {
            ok &= is_entry(r[q], rule);
            m = r[q] > m ? r[q] : m;
        }
        max_comp = m > max_comp ? m : max_comp;
    }
    if (!ok)
        for (std::size_t i = 0; i < compute.size(); ++i)
            if (!is_entry(compute[i], rule)) bad_entry(name, i, shape, compute[i], rule);
    return max_comp;
}

// No plan's latency exceeds the bound returned; costs that could overflow float64 are refused.
double latency_bound(const MoveMax& m, double max_comp, int Lmax) {
    const double bound = m.input + Lmax * (max_comp + m.result + m.forward);
    if (!(bound < std::ldexp(1.0, 1021))) {
        std::ostringstream s;
        s << "cost tables: costs too large for float64 (the largest input " << m.input << ", compute " << max_comp
          << ", forward " << m.forward << " and result " << m.result << " s over " << Lmax
          << " partitions could reach " << bound << " s); latencies must stay below 2^1021 s (about 4e307)";
        throw std::invalid_argument(s.str());
    }
    return bound;
}

}  // namespace

TableData::TableData(TableInput input_cost, TableInput compute_cost, TableInput forward_cost, TableInput result_cost,
                     TableInput cum_exit, TableInput accuracy, std::unique_ptr<EnergyInput> energy) {
    if (input_cost.shape.size() != 1)
        throw std::invalid_argument("input_cost: expected shape (M,), got " + shape_str(input_cost.shape));
    if (accuracy.shape.size() != 1 && accuracy.shape.size() != 2)
        throw std::invalid_argument("accuracy: expected shape (N,) or (K, N), got " + shape_str(accuracy.shape));
    if (cum_exit.shape.size() != 2)
        throw std::invalid_argument("cum_exit: expected shape (K, N+1), got " + shape_str(cum_exit.shape));
    const bool per_threshold = accuracy.shape.size() == 2;
    const std::int64_t M = input_cost.shape[0];
    const std::int64_t N = accuracy.shape.back();
    const std::int64_t K = cum_exit.shape[0];
    if (M < 1 || M > kMaxTiers)
        throw std::invalid_argument("input_cost: number of tiers M = " + std::to_string(M) + " must be in 1.." +
                                    std::to_string(kMaxTiers));
    if (N < 1 || N > kMaxBlocks)
        throw std::invalid_argument("accuracy: number of blocks N = " + std::to_string(N) + " must be in 1.." +
                                    std::to_string(kMaxBlocks));
    if (K < 1 || K > kMaxThresholds)
        throw std::invalid_argument("cum_exit: number of thresholds K = " + std::to_string(K) + " must be in 1.." +
                                    std::to_string(kMaxThresholds));
    check_shape(compute_cost, "compute_cost", {M, N + 1, N + 1});
    check_shape(forward_cost, "forward_cost", {N, M, M});
    check_shape(result_cost, "result_cost", {M});
    check_shape(cum_exit, "cum_exit", {K, N + 1});
    if (per_threshold) check_shape(accuracy, "accuracy", {K, N});

    input_ = taken(input_cost, "input_cost");
    compute_ = taken(compute_cost, "compute_cost");
    forward_ = taken(forward_cost, "forward_cost");
    result_ = taken(result_cost, "result_cost");
    cum_ = taken(cum_exit, "cum_exit");
    acc_ = taken(accuracy, "accuracy");
    acc_shape_ = accuracy.shape;

    const MoveMax moves = checked_moves(input_, input_cost.shape, forward_, forward_cost.shape, result_,
                                        result_cost.shape, static_cast<std::size_t>(N), static_cast<std::size_t>(M));
    const double max_comp = checked_compute(compute_, compute_cost.shape, static_cast<std::size_t>(N),
                                            static_cast<std::size_t>(M), "compute_cost", kCost);
    const double bound = latency_bound(moves, max_comp, static_cast<int>(std::min(M, N)));

    for (std::size_t i = 0; i < acc_.size(); ++i) {
        if (!(acc_[i] >= 0.0 && acc_[i] <= 1.0)) {
            std::ostringstream s;
            s << "accuracy" << index_str(i, accuracy.shape) << " = " << acc_[i] << ": must be in [0, 1]";
            throw std::invalid_argument(s.str());
        }
    }
    for (std::int64_t k = 0; k < K; ++k) {
        const double* row = cum_.data() + k * (N + 1);
        if (row[0] != 0.0 || row[N] != 1.0) {
            std::ostringstream s;
            s << "cum_exit[" << k << "]: must start at 0 and end at 1, got " << row[0] << " and " << row[N];
            throw std::invalid_argument(s.str());
        }
        for (std::int64_t i = 1; i <= N; ++i) {
            if (!std::isfinite(row[i]) || row[i] < row[i - 1] || row[i] > 1.0) {
                std::ostringstream s;
                s << "cum_exit[" << k << "][" << i << "] = " << row[i]
                  << ": must be finite, non-decreasing along the row and <= 1";
                throw std::invalid_argument(s.str());
            }
        }
    }

    Tables& v = view_;
    v.N = static_cast<int>(N);
    v.M = static_cast<int>(M);
    v.K = static_cast<int>(K);
    v.input_cost = input_.data();
    v.compute_cost = compute_.data();
    v.forward_cost = forward_.data();
    v.result_cost = result_.data();
    v.cum_exit = cum_.data();
    v.accuracy = acc_.data();
    v.acc_stride = per_threshold ? static_cast<std::size_t>(N) : 0;
    v.max_compute = max_comp;
    v.latency_bound = bound;
    if (energy) take_energy(*energy);
}

void TableData::take_energy(EnergyInput& e) {
    const std::int64_t N = view_.N, M = view_.M;
    const bool own_compute = !base_;
    check_shape(e.input, "input_energy", {M});
    if (own_compute) check_shape(e.compute, "compute_energy", {M, N + 1, N + 1});
    check_shape(e.forward, "forward_energy", {N, M, M});
    check_shape(e.result, "result_energy", {M});
    input_e_ = taken(e.input, "input_energy");
    forward_e_ = taken(e.forward, "forward_energy");
    result_e_ = taken(e.result, "result_energy");
    const MoveMax moves = checked_moves(input_e_, e.input.shape, forward_e_, e.forward.shape, result_e_, e.result.shape,
                                        static_cast<std::size_t>(N), static_cast<std::size_t>(M), kEnergyNames, kEnergy);
    if (own_compute) {
        compute_e_ = taken(e.compute, "compute_energy");
        view_.max_compute_energy = checked_compute(compute_e_, e.compute.shape, static_cast<std::size_t>(N),
                                                   static_cast<std::size_t>(M), "compute_energy", kEnergy);
    }
    // Each entry at most 1e300 J and at most 3 * 16 + 1 terms: the bound is finite, no check needed.
    view_.energy_bound = moves.input + view_.max_partitions() * (view_.max_compute_energy + moves.result + moves.forward);
    view_.input_energy = input_e_.data();
    view_.compute_energy = shared().compute_e_.data();
    view_.forward_energy = forward_e_.data();
    view_.result_energy = result_e_.data();
}

TableData::TableData(std::shared_ptr<const TableData> base, TableInput input_cost, TableInput forward_cost,
                     TableInput result_cost, std::unique_ptr<EnergyInput> move_energy) {
    if (!base) throw std::invalid_argument("tables: no base tables to share");
    if (move_energy && !base->view().has_energy())
        throw std::invalid_argument("input_energy: move energies given, but these tables carry no energy tables "
                                    "(build them with energy= first)");
    // Kept as they are unless replaced: small tables, copied (the base given may itself be derived).
    input_e_ = base->input_e_;
    forward_e_ = base->forward_e_;
    result_e_ = base->result_e_;
    const Tables given = base->view();
    base_ = base->base_ ? base->base_ : std::move(base);  // the owner of the shared tables: no chains
    const Tables& b = base_->view();
    check_shape(input_cost, "input_cost", {b.M});
    check_shape(forward_cost, "forward_cost", {b.N, b.M, b.M});
    check_shape(result_cost, "result_cost", {b.M});
    input_ = taken(input_cost, "input_cost");
    forward_ = taken(forward_cost, "forward_cost");
    result_ = taken(result_cost, "result_cost");
    const MoveMax moves = checked_moves(input_, input_cost.shape, forward_, forward_cost.shape, result_,
                                        result_cost.shape, static_cast<std::size_t>(b.N), static_cast<std::size_t>(b.M));
    view_ = b;
    view_.input_cost = input_.data();
    view_.forward_cost = forward_.data();
    view_.result_cost = result_.data();
    view_.latency_bound = latency_bound(moves, b.max_compute, b.max_partitions());
    if (move_energy) {
        take_energy(*move_energy);
    } else if (given.has_energy()) {
        view_.input_energy = input_e_.data();
        view_.forward_energy = forward_e_.data();
        view_.result_energy = result_e_.data();
        view_.energy_bound = given.energy_bound;
    }
}

}  // namespace eepart
