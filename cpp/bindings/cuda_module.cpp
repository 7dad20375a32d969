// eepart_fast._cuda (and the emulated _cuda_emu): the GPU engine's evaluate, sweep and pareto with the
// signatures and results of _core, plus device_count() and device_name(), which never raise (0 and ""
// without a GPU). Tables and arguments go through the same bindings/tables.hpp as _core. Device work
// runs with the GIL released; between chunks the engine takes the GIL just long enough to ask Python
// for Ctrl-C, and looks at the clock.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "tables.hpp"
#include "cuda_engine.hpp"
#include "engine.hpp"

#ifndef EEPART_CUDA_MODULE
#define EEPART_CUDA_MODULE _cuda
#endif
#ifndef EEPART_CUDA_EMULATED
#define EEPART_CUDA_EMULATED 0
#endif

namespace py = pybind11;
using eepart::as_count;
using eepart::as_quantile;
using eepart::as_tables;
using eepart::as_threads;
using eepart::as_time_limit;
using eepart::check_bound;
using eepart::ConfigArrays;
using eepart::make_configs;
using eepart::TablesHandle;
using eepart::without_gil;  // Ctrl-C, seen by the poll, comes back as KeyboardInterrupt
using eepart::as_memory;

namespace {

// Called by the engine, without the GIL, between chunks: Ctrl-C, then the time limit.
eepart::gpu::Poll poll_of(const eepart::Control& control) {
    return [&control] {
        if (eepart::poll_python()) throw eepart::gpu::Interrupted{};
        if (control.over_time()) control.time_out();
    };
}

// The arguments every search and sweep shares, checked as _core checks them; the control of the call.
eepart::Control checked(const char* what, double max_latency, double min_accuracy, py::object threads,
                        py::object time_limit) {
    check_bound(max_latency, "max_latency");
    check_bound(min_accuracy, "min_accuracy");
    as_threads(threads);  // the device needs no host threads, but the argument means what it means elsewhere
    eepart::Control control;
    control.what = what;
    control.time_limit = as_time_limit(time_limit);
    return control;
}

// A numpy array that owns the column's memory: no copy of the rows.
template <class T>
py::array_t<T> to_numpy(eepart::gpu::HostArray<T>& a, std::vector<py::ssize_t> shape) {
    if (a.size() == 0) return py::array_t<T>(shape);
    T* p = a.release();
    py::capsule owner(p, [](void* q) { std::free(q); });
    return py::array_t<T>(shape, p, owner);
}

py::dict to_dict(eepart::gpu::Rows&& r) {
    const auto n = static_cast<py::ssize_t>(r.rows);
    const auto w = static_cast<py::ssize_t>(r.Lmax);
    py::dict columns = eepart::row_columns(to_numpy(r.latency, {n}), to_numpy(r.accuracy, {n}),
                                           to_numpy(r.threshold_index, {n}), to_numpy(r.num_partitions, {n}),
                                           to_numpy(r.partitions, {n, w}), to_numpy(r.placement, {n, w}));
    if (r.with_energy) columns["energy"] = to_numpy(r.energy, {n});
    return columns;
}

// As _core.evaluate: (latency, accuracy), and the energy when the tables carry energy tables.
py::tuple evaluate_py(py::object tables_arg, py::object threshold_index, py::object num_partitions,
                      py::object partitions, py::object placement, py::object threads, py::object quantile_arg,
                      py::object energy_arg) {
    const TablesHandle tables = as_tables(tables_arg, energy_arg);
    as_threads(threads);  // checked as everywhere; the device needs no host threads
    const double quantile = as_quantile(quantile_arg);
    ConfigArrays configs = make_configs(threshold_index, num_partitions, partitions, placement);
    const auto n = static_cast<py::ssize_t>(configs.view.n);
    const bool with_energy = tables->view().has_energy();
    py::array_t<double> latency(n), accuracy(n), energy(with_energy ? n : 0);
    double* lat = latency.mutable_data();
    double* acc = accuracy.mutable_data();
    double* spent = with_energy ? energy.mutable_data() : nullptr;
    eepart::Control control;
    control.what = "evaluate";
    without_gil([&] {
        eepart::gpu::evaluate(tables->view(), configs.view, lat, acc, poll_of(control), quantile, spent);
        return 0;
    });
    if (with_energy) return py::make_tuple(latency, accuracy, energy);
    return py::make_tuple(latency, accuracy);
}

py::dict sweep_py(py::object tables_arg, double max_latency, double min_accuracy, py::object max_rows,
                  py::object threads, py::object time_limit, py::object chunk_items, py::object window_rows,
                  py::object table_limit, py::object quantile, double max_energy, py::object energy) {
    const TablesHandle tables = as_tables(tables_arg, energy);
    const eepart::Control control = checked("sweep", max_latency, min_accuracy, threads, time_limit);
    check_bound(max_energy, "max_energy");
    eepart::gpu::SweepOptions opt;
    opt.max_energy = max_energy;
    opt.max_latency = max_latency;
    opt.min_accuracy = min_accuracy;
    opt.max_rows = as_count(max_rows, "max_rows");
    opt.chunk_items = as_count(chunk_items, "chunk_items");
    opt.window_rows = as_count(window_rows, "window_rows");
    opt.table_limit = as_count(table_limit, "table_limit");
    opt.quantile = as_quantile(quantile);
    return to_dict(without_gil([&] { return eepart::gpu::sweep(tables->view(), opt, poll_of(control)); }));
}

eepart::gpu::ParetoEngine engine_of(const std::string& name) {
    if (name == "auto") return eepart::gpu::ParetoEngine::Auto;
    if (name == "fused") return eepart::gpu::ParetoEngine::Fused;
    if (name == "layered") return eepart::gpu::ParetoEngine::Layered;
    throw std::invalid_argument("engine = '" + name + "': must be 'auto', 'fused' or 'layered'");
}

py::object pareto_py(py::object tables_arg, double min_accuracy, double max_latency, py::object threads,
                     py::object max_memory, py::object time_limit, py::object chunk_slots, const std::string& engine,
                     py::object fused_room, bool with_stats) {
    const TablesHandle tables = as_tables(tables_arg);
    const eepart::Control control = checked("pareto", max_latency, min_accuracy, threads, time_limit);
    eepart::gpu::ParetoOptions opt;
    opt.min_accuracy = min_accuracy;
    opt.max_latency = max_latency;
    opt.max_memory = as_memory(max_memory);
    opt.chunk_slots = as_count(chunk_slots, "chunk_slots");
    opt.engine = engine_of(engine);
    const std::uint64_t room = as_count(fused_room, "fused_room");
    if (room > (std::uint64_t(1) << 26))
        throw std::invalid_argument("fused_room = " + std::to_string(room) + ": must be at most 2**26 labels");
    opt.fused_room = static_cast<std::uint32_t>(room);
    eepart::gpu::ParetoStats stats;
    py::dict rows = to_dict(without_gil([&] { return eepart::gpu::pareto(tables->view(), opt, poll_of(control), &stats); }));
    if (!with_stats) return std::move(rows);
    py::dict s;
    s["engine"] = stats.engine;
    s["labels"] = stats.labels;
    s["candidates"] = stats.candidates;
    s["terminals"] = stats.terminals;
    s["chunks"] = stats.chunks;
    s["staircase_points"] = stats.staircase_points;
    s["peak_bytes"] = stats.peak_bytes;
    s["step_seconds"] = stats.step_seconds;
    py::dict cycles;
    for (const auto& kv : stats.phase_cycles) cycles[py::str(kv.first)] = kv.second;
    s["phase_cycles"] = cycles;
    return py::make_tuple(rows, s);
}

constexpr const char* kDoc =
    "eepart_fast's CUDA engine (private; use eepart_fast with backend='cuda'). The same evaluate, sweep and\n"
    "pareto as eepart_fast._core, on the device, in float64, bit for bit the same sums.";

}  // namespace

PYBIND11_MODULE(EEPART_CUDA_MODULE, m) {
    m.doc() = kDoc;
    const double inf = std::numeric_limits<double>::infinity();
    eepart::bind_tables_class(m);
    m.def("device_count", &eepart::gpu::device_count, "CUDA devices visible (0 without a driver or a device).");
    m.def("device_name", &eepart::gpu::device_name, "Name of the current CUDA device (\"\" without one).");
    m.def("evaluate", &evaluate_py,
          "evaluate(tables, threshold_index, num_partitions, partitions, placement, threads=0, quantile=None,\n"
          "energy=None) -> (latency, accuracy), or (latency, accuracy, energy) when the tables carry energy\n"
          "tables: as _core.evaluate, on the device.",
          py::arg("tables"), py::arg("threshold_index"), py::arg("num_partitions"), py::arg("partitions"),
          py::arg("placement"), py::arg("threads") = 0, py::arg("quantile") = py::none(),
          py::arg("energy") = py::none());
    m.def("sweep", &sweep_py,
          "sweep(tables, max_latency=inf, min_accuracy=-inf, max_rows=2**62, threads=0, time_limit=inf,\n"
          "quantile=None, max_energy=inf, energy=None) -> dict\n"
          "As _core.sweep (canonical order, bounds, max_rows, quantile, the energy column and max_energy),\n"
          "generated, filtered and compacted on the device.\n"
          "chunk_items, window_rows and table_limit (0: defaults) size the device work, for tests. The time\n"
          "limit is checked between chunks.",
          py::arg("tables"), py::arg("max_latency") = inf, py::arg("min_accuracy") = -inf,
          py::arg("max_rows") = py::int_(eepart::SweepOptions{}.max_rows), py::arg("threads") = 0, py::arg("time_limit") = inf,
          py::arg("chunk_items") = 0, py::arg("window_rows") = 0, py::arg("table_limit") = 0,
          py::arg("quantile") = py::none(), py::arg("max_energy") = inf, py::arg("energy") = py::none());
    m.def("pareto",
          [](py::object tables, double min_accuracy, double max_latency, py::object threads, py::object max_memory,
             py::object time_limit, py::object chunk_slots, const std::string& engine, py::object fused_room) {
              return pareto_py(tables, min_accuracy, max_latency, threads, max_memory, time_limit, chunk_slots,
                               engine, fused_room, false);
          },
          "pareto(tables, min_accuracy=-inf, max_latency=inf, threads=0, max_memory=4 GiB, time_limit=inf) -> dict\n"
          "As _core.pareto: the exact frontier, latency rising, found by the search on the device.\n"
          "max_memory caps the device memory of the search. engine: 'fused' runs each threshold's search in\n"
          "one thread block, in one launch, with fused_room labels per layer (0: default); 'layered' runs\n"
          "every threshold at once, layer by layer, in steps of chunk_slots candidates (0: default); 'auto'\n"
          "runs the first, and the second where a threshold outgrows its room. The time limit is checked\n"
          "between steps (layered) or while the launch runs (fused).",
          py::arg("tables"), py::arg("min_accuracy") = -inf, py::arg("max_latency") = inf, py::arg("threads") = 0,
          py::arg("max_memory") = py::int_(eepart::kDefaultDeviceMemory), py::arg("time_limit") = inf,
          py::arg("chunk_slots") = 0, py::arg("engine") = "auto", py::arg("fused_room") = 0);
    m.def("_pareto_stats",
          [](py::object tables, double min_accuracy, double max_latency, py::object max_memory,
             py::object time_limit, py::object chunk_slots, const std::string& engine, py::object fused_room) {
              return pareto_py(tables, min_accuracy, max_latency, py::int_(0), max_memory, time_limit, chunk_slots,
                               engine, fused_room, true);
          },
          "pareto, and the search's counters (engine, labels, candidates, plans, chunks, peak device bytes,\n"
          "seconds per step).",
          py::arg("tables"), py::arg("min_accuracy") = -inf, py::arg("max_latency") = inf,
          py::arg("max_memory") = py::int_(eepart::kDefaultDeviceMemory), py::arg("time_limit") = inf,
          py::arg("chunk_slots") = 0, py::arg("engine") = "auto", py::arg("fused_room") = 0);
    m.attr("EMULATED") = py::bool_(EEPART_CUDA_EMULATED != 0);
}
