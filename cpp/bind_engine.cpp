// Python face of the CPU engine: _core.evaluate, _core.sweep, _core.count_configurations.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "bind_tables.hpp"
#include "engine.hpp"

namespace py = pybind11;

namespace eepart {
namespace {

py::tuple evaluate_py(py::object input_cost, py::object compute_cost, py::object forward_cost,
                      py::object result_cost, py::object cum_exit, py::object accuracy,
                      py::object threshold_index, py::object num_partitions, py::object partitions,
                      py::object placement, int threads) {
    TableArrays tables = make_tables(input_cost, compute_cost, forward_cost, result_cost, cum_exit, accuracy);
    ConfigArrays c = make_configs(tables.view, threshold_index, num_partitions, partitions, placement);
    py::array_t<double> latency(static_cast<py::ssize_t>(c.view.n)), acc(static_cast<py::ssize_t>(c.view.n));
    evaluate(tables.view, c.view, latency.mutable_data(), acc.mutable_data(), threads);
    return py::make_tuple(latency, acc);
}

py::dict sweep_py(py::object input_cost, py::object compute_cost, py::object forward_cost,
                  py::object result_cost, py::object cum_exit, py::object accuracy, double max_latency,
                  double min_accuracy, py::object max_rows, int threads, std::uint64_t table_limit,
                  std::uint64_t item_configs) {
    TableArrays tables = make_tables(input_cost, compute_cost, forward_cost, result_cost, cum_exit, accuracy);
    check_bound(max_latency, "max_latency");
    check_bound(min_accuracy, "min_accuracy");
    SweepOptions opt{max_latency, min_accuracy, as_count(max_rows, "max_rows"), threads, table_limit, item_configs};
    Sweep sweep(tables.view, opt);
    const auto rows = static_cast<py::ssize_t>(sweep.count());
    const auto Lmax = static_cast<py::ssize_t>(sweep.max_partitions());
    // The six columns are views of one buffer: one allocation, large enough for numpy to ask the kernel
    // for huge pages, so that first touching the output (most of an unbounded sweep's time) costs less.
    const py::ssize_t n = rows, w = Lmax;
    const py::ssize_t d = sizeof(double), i = sizeof(std::int32_t);
    py::array_t<std::uint8_t> buffer(n * (2 * d + 2 * i + 2 * w * i));
    std::uint8_t* base = buffer.mutable_data();
    py::array_t<double> latency({n}, {d}, reinterpret_cast<double*>(base), buffer);
    py::array_t<double> acc({n}, {d}, reinterpret_cast<double*>(base + n * d), buffer);
    py::array_t<std::int32_t> P({n, w}, {w * i, i}, reinterpret_cast<std::int32_t*>(base + 2 * n * d), buffer);
    py::array_t<std::int32_t> A({n, w}, {w * i, i}, reinterpret_cast<std::int32_t*>(base + 2 * n * d + n * w * i),
                                buffer);
    py::array_t<std::int32_t> t({n}, {i}, reinterpret_cast<std::int32_t*>(base + 2 * n * d + 2 * n * w * i), buffer);
    py::array_t<std::int32_t> L({n}, {i}, reinterpret_cast<std::int32_t*>(base + 2 * n * d + 2 * n * w * i + n * i),
                                buffer);
    if (rows > 0)
        sweep.write(SweepColumns{latency.mutable_data(), acc.mutable_data(), t.mutable_data(), L.mutable_data(),
                                 P.mutable_data(), A.mutable_data()});
    return row_columns(latency, acc, t, L, P, A);
}

py::object count_py(long long N, long long M, long long K) {
    if (N < 0 || M < 0 || K < 0)
        throw std::invalid_argument("count_configurations: N, M, K must be >= 0, got " + std::to_string(N) +
                                    ", " + std::to_string(M) + ", " + std::to_string(K));
    // Exact for any size: Python's integers do the arithmetic.
    py::module_ math = py::module_::import("math");
    py::object total = py::int_(0);
    for (long long L = 1; L <= std::min(M, N); ++L)
        total = total + math.attr("comb")(N, L) * math.attr("perm")(M, L);
    return total * py::int_(K);
}

constexpr const char* kEvaluateDoc =
    "evaluate(<six tables>, threshold_index, num_partitions, partitions, placement, threads=0)\n"
    "-> (latency, accuracy), float64 arrays (n,).\n\n"
    "Rows: t (n,), L (n,), P and A (n, width) int64 with width >= every L (padding ignored), P as block\n"
    "counts, A as tiers. Raises ValueError naming the field, row and value of the first bad entry.";

constexpr const char* kSweepDoc =
    "sweep(<six tables>, max_latency=inf, min_accuracy=-inf, max_rows=2**62, threads=0) -> dict\n\n"
    "Every configuration in canonical order (t, L, P lexicographic, A as itertools.permutations), keeping\n"
    "rows with latency <= max_latency and accuracy >= min_accuracy. Keys: latency, accuracy (f8),\n"
    "threshold_index, num_partitions (i4), partitions, placement (i4, (rows, min(M, N)), -1 pads).\n"
    "Raises ValueError when more than max_rows rows would be kept.";

}  // namespace

void bind_engine(py::module_& m) {
    const double inf = std::numeric_limits<double>::infinity();
    m.def("evaluate", &evaluate_py, kEvaluateDoc, EEPART_TABLE_ARGS, py::arg("threshold_index"),
          py::arg("num_partitions"), py::arg("partitions"), py::arg("placement"), py::arg("threads") = 0);
    m.def(
        "sweep",
        [](py::object ic, py::object cc, py::object fc, py::object rc, py::object ce, py::object ac,
           double max_latency, double min_accuracy, py::object max_rows, int threads) {
            const SweepOptions defaults{0, 0, 0};
            return sweep_py(ic, cc, fc, rc, ce, ac, max_latency, min_accuracy, max_rows, threads,
                            defaults.table_limit, defaults.item_configs);
        },
        kSweepDoc, EEPART_TABLE_ARGS, py::arg("max_latency") = inf, py::arg("min_accuracy") = -inf,
        py::arg("max_rows") = py::int_(std::int64_t(1) << 62), py::arg("threads") = 0);
    // For tests: the same sweep with another limit on tabulated placements (0 walks every placement) and
    // another work item size (small ones split runs of partitionings between items).
    m.def("_sweep_tuned", &sweep_py, EEPART_TABLE_ARGS, py::arg("max_latency"), py::arg("min_accuracy"),
          py::arg("max_rows"), py::arg("threads"), py::arg("table_limit"), py::arg("item_configs"));
    m.def("count_configurations", &count_py, py::arg("N"), py::arg("M"), py::arg("K"),
          "K * sum over L = 1..min(M, N) of C(N, L) * M!/(M-L)!, exact (a Python int).");
}

}  // namespace eepart
