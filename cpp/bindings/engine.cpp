// _core.evaluate and _core.sweep: the CPU engine's evaluate and sweep on a Tables object.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <limits>
#include <string>

#include "engine.hpp"
#include "options.hpp"
#include "tables.hpp"

namespace eepart {
namespace {

py::tuple evaluate_py(py::object tables_arg, py::object threshold_index, py::object num_partitions,
                      py::object partitions, py::object placement, py::object threads_arg, py::object quantile_arg,
                      py::object energy_arg) {
    const TablesHandle tables = as_tables(tables_arg, energy_arg);
    const int threads = as_threads(threads_arg);
    const double quantile = as_quantile(quantile_arg);
    ConfigArrays c = make_configs(threshold_index, num_partitions, partitions, placement);
    py::array_t<double> latency(static_cast<py::ssize_t>(c.view.n)), acc(static_cast<py::ssize_t>(c.view.n));
    double* lat_out = latency.mutable_data();
    double* acc_out = acc.mutable_data();
    if (!tables->view().has_energy()) {
        without_gil([&] { evaluate(tables->view(), c.view, lat_out, acc_out, threads, poll_python, quantile); });
        return py::make_tuple(latency, acc);
    }
    py::array_t<double> energy(static_cast<py::ssize_t>(c.view.n));
    double* energy_out = energy.mutable_data();
    without_gil([&] { evaluate(tables->view(), c.view, lat_out, acc_out, threads, poll_python, quantile, energy_out); });
    return py::make_tuple(latency, acc, energy);
}

py::dict sweep_py(py::object tables_arg, const SweepOptions& opt, py::object energy_arg) {
    const TablesHandle tables = as_tables(tables_arg, energy_arg);
    const bool with_energy = tables->view().has_energy();
    Sweep sweep(tables->view(), opt, poll_python);
    const auto rows = static_cast<py::ssize_t>(without_gil([&] { return sweep.count(); }));
    const auto Lmax = static_cast<py::ssize_t>(sweep.max_partitions());
    // The six columns are views of one buffer: one allocation, large enough for numpy to ask the kernel
    // for huge pages, so that first touching the output (most of an unbounded sweep's time) costs less.
    const py::ssize_t n = rows, w = Lmax;
    const py::ssize_t d = sizeof(double), i = sizeof(std::int32_t);
    py::array_t<std::uint8_t> buffer(n * ((with_energy ? 3 : 2) * d + 2 * i + 2 * w * i));
    std::uint8_t* base = buffer.mutable_data();
    py::array_t<double> latency({n}, {d}, reinterpret_cast<double*>(base), buffer);
    py::array_t<double> acc({n}, {d}, reinterpret_cast<double*>(base + n * d), buffer);
    py::array_t<std::int32_t> P({n, w}, {w * i, i}, reinterpret_cast<std::int32_t*>(base + 2 * n * d), buffer);
    py::array_t<std::int32_t> A({n, w}, {w * i, i}, reinterpret_cast<std::int32_t*>(base + 2 * n * d + n * w * i),
                                buffer);
    py::array_t<std::int32_t> t({n}, {i}, reinterpret_cast<std::int32_t*>(base + 2 * n * d + 2 * n * w * i), buffer);
    py::array_t<std::int32_t> L({n}, {i}, reinterpret_cast<std::int32_t*>(base + 2 * n * d + 2 * n * w * i + n * i),
                                buffer);
    // The energy column last, so that the other columns lie as they do without it.
    py::object energy = py::none();
    double* energy_out = nullptr;
    if (with_energy) {
        py::array_t<double> e({n}, {d}, reinterpret_cast<double*>(base + 2 * n * d + 2 * n * w * i + 2 * n * i), buffer);
        energy_out = e.mutable_data();
        energy = e;
    }
    if (rows > 0) {
        SweepColumns out{latency.mutable_data(), acc.mutable_data(), t.mutable_data(),
                         L.mutable_data(),       P.mutable_data(),   A.mutable_data()};
        out.energy = energy_out;
        without_gil([&] { sweep.write(out); });
    }
    py::dict columns = row_columns(latency, acc, t, L, P, A);
    if (with_energy) columns["energy"] = energy;
    return columns;
}

constexpr const char* kEvaluateDoc =
    "evaluate(tables, threshold_index, num_partitions, partitions, placement, threads=0, quantile=None,\n"
    "energy=None) -> (latency, accuracy), or (latency, accuracy, energy) when the tables carry energy tables,\n"
    "float64 arrays (n,).\n\n"
    "latency: the mean, or with quantile = q in (0, 1] the q-quantile of the latency over the exits\n"
    "(docs/model.md \"Tail latency\"); energy (J) the mean's form on the energy tables (docs/model.md\n"
    "\"Energy\"), whatever the quantile. energy: an EnergyTables to build the tables with (or carried by a\n"
    "Tables object). "
    "tables: a Tables object (or the six tables, built into one now). Rows: t (n,), L (n,), P and A\n"
    "(n, width) int64 with width >= every L (padding ignored), P as block counts, A as tiers. The rows are\n"
    "copied a chunk at a time and checked there. Raises ValueError naming the field, row and value of the\n"
    "first bad entry; threads in 0..1024 (0: one per core).";

constexpr const char* kSweepDoc =
    "sweep(tables, max_latency=inf, min_accuracy=-inf, max_rows=2**62, threads=0, time_limit=inf, quantile=None,\n"
    "options=None, max_energy=inf, energy=None)\n"
    "-> dict\n\n"
    "Every configuration in canonical order (t, L, P lexicographic, A as itertools.permutations), keeping\n"
    "rows with latency <= max_latency and accuracy >= min_accuracy. Keys: latency, accuracy (f8),\n"
    "threshold_index, num_partitions (i4), partitions, placement (i4, (rows, min(M, N)), -1 pads).\n"
    "With quantile = q in (0, 1], the latency column and max_latency are the q-quantile of the latency.\n"
    "With energy tables (energy=, or carried by a Tables object) the rows also have an energy column (J),\n"
    "and max_energy keeps rows of at most that energy (it needs energy tables).\n"
    "Raises ValueError when more than max_rows rows would be kept, TimeoutError past time_limit seconds.\n"
    "options: a SweepOptions holding the same fields (then give none of them as keywords).";

}  // namespace

void bind_engine(py::module_& m) {
    const py::none unset;
    m.def("evaluate", &evaluate_py, kEvaluateDoc, py::arg("tables"), py::arg("threshold_index"),
          py::arg("num_partitions"), py::arg("partitions"), py::arg("placement"), py::arg("threads") = 0,
          py::arg("quantile") = unset, py::arg("energy") = unset);
    m.def(
        "sweep",
        [](py::object tables, py::object max_latency, py::object min_accuracy, py::object max_rows, py::object threads,
           py::object time_limit, py::object quantile, py::object options, py::object max_energy, py::object energy) {
            return sweep_py(tables,
                            sweep_options(options, max_latency, min_accuracy, max_rows, threads, time_limit, quantile,
                                          max_energy),
                            energy);
        },
        kSweepDoc, py::arg("tables"), py::arg("max_latency") = unset, py::arg("min_accuracy") = unset,
        py::arg("max_rows") = unset, py::arg("threads") = unset, py::arg("time_limit") = unset,
        py::arg("quantile") = unset, py::arg("options") = unset, py::arg("max_energy") = unset,
        py::arg("energy") = unset);
    // For tests: the same sweep with another limit on tabulated placements (0 walks every placement) and
    // another work item size (small ones split runs of partitionings between items).
    m.def(
        "_sweep_tuned",
        [](py::object tables, py::object max_latency, py::object min_accuracy, py::object max_rows, py::object threads,
           py::object time_limit, std::uint64_t table_limit, std::uint64_t item_configs, py::object quantile,
           py::object max_energy, py::object energy) {
            SweepOptions opt = sweep_options(py::none(), max_latency, min_accuracy, max_rows, threads, time_limit,
                                             quantile, max_energy);
            opt.table_limit = table_limit;
            opt.item_configs = item_configs;
            return sweep_py(tables, opt, energy);
        },
        py::arg("tables"), py::arg("max_latency"), py::arg("min_accuracy"), py::arg("max_rows"), py::arg("threads"),
        py::arg("time_limit"), py::arg("table_limit"), py::arg("item_configs"), py::arg("quantile") = unset,
        py::arg("max_energy") = unset, py::arg("energy") = unset);
}

}  // namespace eepart
