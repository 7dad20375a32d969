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

[[noreturn]] void bad_cost(const char* name, std::size_t flat, const std::vector<std::int64_t>& shape, double v) {
    std::ostringstream s;
    s << name << index_str(flat, shape) << " = " << v << ": costs must be finite and >= 0";
    throw std::invalid_argument(s.str());
}

bool is_cost(double v) {
    return v >= 0.0 && v <= std::numeric_limits<double>::max();  // false for NaN and inf
}

// The largest entry of a table (all >= 0), checking each; the first bad one is named.
double checked_max(const std::vector<double>& v, const char* name, const std::vector<std::int64_t>& shape) {
    double m = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (!is_cost(v[i])) bad_cost(name, i, shape, v[i]);
        m = v[i] > m ? v[i] : m;
    }
    return m;
}

// The largest input, forward and result cost, each table checked (forward_cost: rows of blocks 1..N-1,
// between two different tiers; the entries never read set to 0).
struct MoveMax {
    double input, forward, result;
};

MoveMax checked_moves(const std::vector<double>& input, const std::vector<std::int64_t>& input_shape,
                      std::vector<double>& forward, const std::vector<std::int64_t>& forward_shape,
                      const std::vector<double>& result, const std::vector<std::int64_t>& result_shape,
                      std::size_t N, std::size_t M) {
    MoveMax m{checked_max(input, "input_cost", input_shape), 0.0, 0.0};
    for (std::size_t i = 0; i < forward.size(); ++i) {
        const std::size_t q = i / (M * M), a = i / M % M, b = i % M;
        if (q + 1 == N || a == b) {
            forward[i] = 0.0;
            continue;
        }
        if (!is_cost(forward[i])) bad_cost("forward_cost", i, forward_shape, forward[i]);
        m.forward = forward[i] > m.forward ? forward[i] : m.forward;
    }
    m.result = checked_max(result, "result_cost", result_shape);
    return m;
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
                     TableInput cum_exit, TableInput accuracy) {
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
    // compute_cost: partitions p < q only. Row by row, each entry tested without a branch (the table has
    // M (N+1)^2 entries); only a table that fails is walked again to name the entry.
    double max_comp = 0;
    {
        const std::size_t n1 = static_cast<std::size_t>(N) + 1;
        bool ok = true;
        for (std::size_t row = 0; row < static_cast<std::size_t>(M) * n1; ++row) {
            double* r = compute_.data() + row * n1;
            const std::size_t p = row % n1;
            std::fill(r, r + p + 1, 0.0);  // q <= p: never read
            double m = 0;
            for (std::size_t q = p + 1; q < n1; ++q) {
                ok &= is_cost(r[q]);
                m = r[q] > m ? r[q] : m;
            }
            max_comp = m > max_comp ? m : max_comp;
        }
        if (!ok)
            for (std::size_t i = 0; i < compute_.size(); ++i)
                if (!is_cost(compute_[i])) bad_cost("compute_cost", i, compute_cost.shape, compute_[i]);
    }
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
}

TableData::TableData(std::shared_ptr<const TableData> base, TableInput input_cost, TableInput forward_cost,
                     TableInput result_cost) {
    if (!base) throw std::invalid_argument("tables: no base tables to share");
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
}

}  // namespace eepart
