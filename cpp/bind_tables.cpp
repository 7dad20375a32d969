#include "bind_tables.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace eepart {
namespace {

std::string shape_str(const DoubleArray& a) {
    std::ostringstream s;
    s << "(";
    for (py::ssize_t d = 0; d < a.ndim(); ++d) s << (d ? ", " : "") << a.shape(d);
    s << (a.ndim() == 1 ? ",)" : ")");
    return s.str();
}

DoubleArray as_array(py::object obj, const char* name) {
    auto a = DoubleArray::ensure(obj);
    if (!a) throw py::type_error(std::string(name) + ": expected an array of numbers convertible to float64");
    return a;
}

void check_shape(const DoubleArray& a, const char* name, std::vector<py::ssize_t> want) {
    bool ok = a.ndim() == static_cast<py::ssize_t>(want.size());
    for (std::size_t d = 0; ok && d < want.size(); ++d) ok = a.shape(d) == want[d];
    if (!ok) {
        std::ostringstream s;
        s << name << ": expected shape (";
        for (std::size_t d = 0; d < want.size(); ++d) s << (d ? ", " : "") << want[d];
        s << (want.size() == 1 ? ",)" : ")") << ", got " << shape_str(a);
        throw std::invalid_argument(s.str());
    }
}

std::string index_str(py::ssize_t flat, const DoubleArray& a) {
    std::vector<py::ssize_t> idx(a.ndim());
    for (py::ssize_t d = a.ndim() - 1; d >= 0; --d) {
        idx[d] = flat % a.shape(d);
        flat /= a.shape(d);
    }
    std::ostringstream s;
    for (auto i : idx) s << "[" << i << "]";
    return s.str();
}

// Every cost is a finite, non-negative number of seconds: the search's bounds rely on it. The first pass
// has no branch, so it vectorises (compute_cost has M (N+1)^2 entries, checked on every call); only a
// table that fails is walked again to name the entry.
void check_costs(const DoubleArray& a, const char* name) {
    const double* d = a.data();
    const py::ssize_t n = a.size();
    constexpr double kMax = std::numeric_limits<double>::max();
    bool ok = true;
    for (py::ssize_t i = 0; i < n; ++i) ok &= (d[i] >= 0.0) & (d[i] <= kMax);  // false for NaN and inf
    if (ok) return;
    for (py::ssize_t i = 0; i < n; ++i) {
        if (!std::isfinite(d[i]) || d[i] < 0) {
            std::ostringstream s;
            s << name << index_str(i, a) << " = " << d[i] << ": costs must be finite and >= 0";
            throw std::invalid_argument(s.str());
        }
    }
}

// The largest of r[0, n): four running maxima, so that the comparisons do not wait on each other.
double largest(const double* r, py::ssize_t n) {
    double m[4] = {0, 0, 0, 0};
    py::ssize_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; ++k) m[k] = r[i + k] > m[k] ? r[i + k] : m[k];
    for (; i < n; ++i) m[0] = r[i] > m[0] ? r[i] : m[0];
    return std::max(std::max(m[0], m[1]), std::max(m[2], m[3]));
}

// check_costs for compute_cost, which also returns the largest cost of a partition (p < q): it scales the
// searches' slack, and taking it row by row while the row is in the cache saves a second pass over the
// table (M (N+1)^2 entries, read on every call).
double check_compute_costs(const DoubleArray& a, py::ssize_t N) {
    const double* d = a.data();
    const py::ssize_t rows = a.size() / (N + 1);
    constexpr double kMax = std::numeric_limits<double>::max();
    bool ok = true;
    double top = 0;
    for (py::ssize_t row = 0; row < rows; ++row) {
        const double* r = d + row * (N + 1);
        for (py::ssize_t q = 0; q <= N; ++q) ok &= (r[q] >= 0.0) & (r[q] <= kMax);
        const py::ssize_t p = row % (N + 1);
        top = std::max(top, largest(r + p + 1, N - p));
    }
    if (!ok) check_costs(a, "compute_cost");  // names the entry and throws
    return top;
}

}  // namespace

TableArrays make_tables(py::object input_cost, py::object compute_cost, py::object forward_cost,
                        py::object result_cost, py::object cum_exit, py::object accuracy) {
    TableArrays t{as_array(input_cost, "input_cost"),     as_array(compute_cost, "compute_cost"),
                  as_array(forward_cost, "forward_cost"), as_array(result_cost, "result_cost"),
                  as_array(cum_exit, "cum_exit"),         as_array(accuracy, "accuracy"),
                  Tables{}};
    if (t.input_cost.ndim() != 1) throw std::invalid_argument("input_cost: expected shape (M,), got " + shape_str(t.input_cost));
    if (t.accuracy.ndim() != 1 && t.accuracy.ndim() != 2)
        throw std::invalid_argument("accuracy: expected shape (N,) or (K, N), got " + shape_str(t.accuracy));
    if (t.cum_exit.ndim() != 2) throw std::invalid_argument("cum_exit: expected shape (K, N+1), got " + shape_str(t.cum_exit));
    const bool per_threshold = t.accuracy.ndim() == 2;
    const auto M = t.input_cost.shape(0);
    const auto N = t.accuracy.shape(per_threshold ? 1 : 0);
    const auto K = t.cum_exit.shape(0);
    if (M < 1 || M > kMaxTiers)
        throw std::invalid_argument("input_cost: number of tiers M = " + std::to_string(M) + " must be in 1.." + std::to_string(kMaxTiers));
    if (N < 1 || N > kMaxBlocks)
        throw std::invalid_argument("accuracy: number of blocks N = " + std::to_string(N) + " must be in 1.." + std::to_string(kMaxBlocks));
    if (K < 1 || K > kMaxThresholds)
        throw std::invalid_argument("cum_exit: number of thresholds K = " + std::to_string(K) + " must be in 1.." + std::to_string(kMaxThresholds));
    check_shape(t.compute_cost, "compute_cost", {M, N + 1, N + 1});
    check_shape(t.forward_cost, "forward_cost", {N, M, M});
    check_shape(t.result_cost, "result_cost", {M});
    check_shape(t.cum_exit, "cum_exit", {K, N + 1});
    if (per_threshold) check_shape(t.accuracy, "accuracy", {K, N});
    check_costs(t.input_cost, "input_cost");
    const double max_compute = check_compute_costs(t.compute_cost, N);
    check_costs(t.forward_cost, "forward_cost");
    check_costs(t.result_cost, "result_cost");

    const double* acc = t.accuracy.data();
    for (py::ssize_t i = 0; i < t.accuracy.size(); ++i) {
        if (!(acc[i] >= 0.0 && acc[i] <= 1.0)) {
            std::ostringstream s;
            s << "accuracy" << index_str(i, t.accuracy) << " = " << acc[i] << ": must be in [0, 1]";
            throw std::invalid_argument(s.str());
        }
    }
    const double* c = t.cum_exit.data();
    for (py::ssize_t k = 0; k < K; ++k) {
        const double* row = c + k * (N + 1);
        if (row[0] != 0.0 || row[N] != 1.0) {
            std::ostringstream s;
            s << "cum_exit[" << k << "]: must start at 0 and end at 1, got " << row[0] << " and " << row[N];
            throw std::invalid_argument(s.str());
        }
        for (py::ssize_t i = 1; i <= N; ++i) {
            if (!std::isfinite(row[i]) || row[i] < row[i - 1] || row[i] > 1.0) {
                std::ostringstream s;
                s << "cum_exit[" << k << "][" << i << "] = " << row[i]
                  << ": must be finite, non-decreasing along the row and <= 1";
                throw std::invalid_argument(s.str());
            }
        }
    }
    Tables& v = t.view;
    v.N = static_cast<int>(N);
    v.M = static_cast<int>(M);
    v.K = static_cast<int>(K);
    v.input_cost = t.input_cost.data();
    v.compute_cost = t.compute_cost.data();
    v.forward_cost = t.forward_cost.data();
    v.result_cost = t.result_cost.data();
    v.cum_exit = t.cum_exit.data();
    v.accuracy = t.accuracy.data();
    v.acc_stride = per_threshold ? static_cast<std::size_t>(N) : 0;
    v.max_compute = max_compute;
    return t;
}

}  // namespace eepart

namespace eepart {
namespace {

IntArray as_ints(py::object obj, const char* name, py::ssize_t ndim) {
    auto a = IntArray::ensure(obj);
    if (!a) throw py::type_error(std::string(name) + ": expected an array of integers");
    if (a.ndim() != ndim)
        throw std::invalid_argument(std::string(name) + ": expected a " + std::to_string(ndim) +
                                    "-D array, got " + std::to_string(a.ndim()) + "-D");
    return a;
}

}  // namespace

std::uint64_t as_count(py::object obj, const char* name) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(obj.ptr(), &overflow);
    if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
    if (overflow > 0) return std::numeric_limits<std::uint64_t>::max();
    if (overflow < 0 || v < 0)
        throw std::invalid_argument(std::string(name) + " = " + py::str(obj).cast<std::string>() + ": must be >= 0");
    return static_cast<std::uint64_t>(v);
}

py::dict row_columns(py::object latency, py::object accuracy, py::object threshold_index,
                     py::object num_partitions, py::object partitions, py::object placement) {
    py::dict out;
    out["latency"] = latency;
    out["accuracy"] = accuracy;
    out["threshold_index"] = threshold_index;
    out["num_partitions"] = num_partitions;
    out["partitions"] = partitions;
    out["placement"] = placement;
    return out;
}

void check_bound(double value, const char* name) {
    if (std::isnan(value))
        throw std::invalid_argument(std::string(name) + " = nan: must be a number (or +-inf)");
}

ConfigArrays make_configs(const Tables& tables, py::object threshold_index, py::object num_partitions,
                          py::object partitions, py::object placement) {
    ConfigArrays c{as_ints(threshold_index, "threshold_index", 1), as_ints(num_partitions, "num_partitions", 1),
                   as_ints(partitions, "partitions", 2), as_ints(placement, "placement", 2), ConfigView{}};
    const py::ssize_t n = c.threshold_index.shape(0);
    auto rows = [&](const IntArray& a, const char* name) {
        if (a.shape(0) != n)
            throw std::invalid_argument(std::string(name) + ": " + std::to_string(a.shape(0)) +
                                        " rows, threshold_index has " + std::to_string(n));
    };
    rows(c.num_partitions, "num_partitions");
    rows(c.partitions, "partitions");
    rows(c.placement, "placement");
    if (c.partitions.shape(1) != c.placement.shape(1))
        throw std::invalid_argument("partitions and placement: column counts differ (" +
                                    std::to_string(c.partitions.shape(1)) + " and " +
                                    std::to_string(c.placement.shape(1)) + ")");
    ConfigView& v = c.view;
    v.n = static_cast<std::size_t>(n);
    v.width = static_cast<std::size_t>(c.partitions.shape(1));
    v.threshold_index = c.threshold_index.data();
    v.num_partitions = c.num_partitions.data();
    v.partitions = c.partitions.data();
    v.placement = c.placement.data();
    {
        py::gil_scoped_release release;
        validate_configs(tables, v);
    }
    return c;
}

}  // namespace eepart
