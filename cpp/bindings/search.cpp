// _core.pareto: the exact search (core/search) on a Tables object, columns out like _core.sweep.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <limits>
#include <stdexcept>
#include <string>

#include "options.hpp"
#include "points.hpp"
#include "search/search.hpp"
#include "tables.hpp"

namespace eepart {

py::dict point_columns(const SearchPoint* pts, std::size_t count, int max_partitions, bool energy) {
    const auto n = static_cast<py::ssize_t>(count);
    const py::ssize_t lmax = max_partitions;
    py::array_t<double> lat(n), acc(n);
    py::array_t<std::int32_t> thr(n), num(n), parts({n, lmax}), place({n, lmax});
    auto L = lat.mutable_unchecked<1>();
    auto Ac = acc.mutable_unchecked<1>();
    auto Th = thr.mutable_unchecked<1>();
    auto Nu = num.mutable_unchecked<1>();
    auto P = parts.mutable_unchecked<2>();
    auto A = place.mutable_unchecked<2>();
    for (py::ssize_t i = 0; i < n; ++i) {
        const SearchPoint& p = pts[i];
        L(i) = p.latency;
        Ac(i) = p.accuracy;
        Th(i) = p.threshold_index;
        Nu(i) = p.num_partitions;
        for (py::ssize_t k = 0; k < lmax; ++k) {
            P(i, k) = k < p.num_partitions ? p.partitions[k] : -1;
            A(i, k) = k < p.num_partitions ? p.placement[k] : -1;
        }
    }
    py::dict out = row_columns(lat, acc, thr, num, parts, place);
    if (energy) {
        py::array_t<double> en(n);
        auto E = en.mutable_unchecked<1>();
        for (py::ssize_t i = 0; i < n; ++i) E(i) = pts[i].energy;
        out["energy"] = en;
    }
    return out;
}

namespace {

py::dict pareto(py::object tables_arg, py::object energy, const SearchOptions& opt, bool stats) {
    const TablesHandle tables = as_tables(tables_arg, energy);
    const Tables& T = tables->view();
    SearchStats st;
    std::vector<SearchPoint> pts = without_gil([&] { return pareto_search(T, opt, poll_python, &st); });
    py::dict out = point_columns(pts.data(), pts.size(), T.max_partitions(), T.has_energy());
    if (stats) {
        py::dict s;
        s["labels"] = st.labels;
        s["candidates"] = st.candidates;
        s["pruned"] = st.pruned;
        s["terminals"] = st.terminals;
        s["peak_bytes"] = st.peak_bytes;
        out["stats"] = s;
    }
    return out;
}

}  // namespace

void bind_search(py::module_& m) {
    const py::none unset;
    m.def(
        "pareto",
        [](py::object tables, py::object min_accuracy, py::object max_latency, py::object threads, py::object max_memory,
           py::object time_limit, py::object quantile, py::object max_energy, py::object objectives,
           py::object energy, py::object options, bool stats) {
            return pareto(tables, energy,
                          search_options(options, min_accuracy, max_latency, threads, max_memory, time_limit, quantile,
                                         max_energy, objectives),
                          stats);
        },
        py::arg("tables"), py::kw_only(), py::arg("min_accuracy") = unset, py::arg("max_latency") = unset,
        py::arg("threads") = unset, py::arg("max_memory") = unset, py::arg("time_limit") = unset,
        py::arg("quantile") = unset, py::arg("max_energy") = unset, py::arg("objectives") = unset,
        py::arg("energy") = unset, py::arg("options") = unset, py::arg("stats") = false,
        "pareto(tables, *, min_accuracy=-inf, max_latency=inf, threads=0, max_memory=2**31, time_limit=inf,\n"
        "quantile=None, max_energy=inf, objectives=2, energy=None, options=None, stats=False) -> dict\n\n"
        "The frontier of the configurations with accuracy >= min_accuracy, latency <= max_latency and\n"
        "energy <= max_energy, by exact search (no sweep). Returns the columns of _core.sweep for the\n"
        "frontier rows, latency rising (and 'energy' where the tables carry energy tables); 'stats' adds the\n"
        "search's counters. Raises ValueError when the search would need more than max_memory bytes (its\n"
        "buffers, counted before they grow), TimeoutError past time_limit seconds.\n"
        "quantile: None for the mean latency, q in (0, 1] for its q-quantile (the frontier of (q-quantile,\n"
        "accuracy), by the quantile search; not with max_energy or objectives=3).\n"
        "objectives: 2, the frontier of (latency, accuracy); 3, of (latency, accuracy, energy), as\n"
        "engine.frontier.frontier3_indices gives it over the sweep, in its order. max_energy and objectives=3\n"
        "need energy tables: Tables built with energy=, or energy= (an EnergyTables) here.\n"
        "options: a SearchOptions holding the same fields (then give none of them as keywords).");
    m.def(
        "min_energy",
        [](py::object tables, py::object min_accuracy, py::object max_latency, py::object threads, py::object max_memory,
           py::object time_limit, py::object energy, py::object options, bool stats) {
            SearchOptions o =
                search_options(options, min_accuracy, max_latency, threads, max_memory, time_limit, py::none());
            if (o.goal == SearchGoal::Frontier3)
                throw std::invalid_argument("objectives = 3: min_energy finds one plan; give options with objectives=2");
            o.goal = SearchGoal::MinEnergy;
            return pareto(tables, energy, o, stats);
        },
        py::arg("tables"), py::kw_only(), py::arg("min_accuracy") = unset, py::arg("max_latency") = unset,
        py::arg("threads") = unset, py::arg("max_memory") = unset, py::arg("time_limit") = unset,
        py::arg("energy") = unset, py::arg("options") = unset, py::arg("stats") = false,
        "min_energy(tables, *, min_accuracy=-inf, max_latency=inf, threads=0, max_memory=2**31,\n"
        "time_limit=inf, energy=None, options=None, stats=False) -> dict\n\n"
        "The plan of least energy with accuracy >= min_accuracy and (mean) latency <= max_latency, by exact\n"
        "search: _core.pareto's columns with one row, or none when no plan meets the bounds. Of plans of\n"
        "equal energy, the least latency, then the most accuracy, then the first in canonical order. Needs\n"
        "energy tables (Tables built with energy=, or energy= here); the options' max_energy applies too.");
}

}  // namespace eepart
