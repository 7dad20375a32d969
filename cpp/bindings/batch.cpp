// _core.pareto_many: many exact searches in one call (core/search/batch.hpp), the GIL released for the
// whole batch, the answers as one set of row columns with each row's scenario.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "options.hpp"
#include "points.hpp"
#include "search/batch.hpp"
#include "tables.hpp"

namespace eepart {
namespace {

BatchAnswer answer_of(const std::string& answer) {
    if (answer == "frontier") return BatchAnswer::Frontier;
    if (answer == "min_latency") return BatchAnswer::MinLatency;
    if (answer == "max_accuracy") return BatchAnswer::MaxAccuracy;
    if (answer == "min_energy") return BatchAnswer::MinEnergy;
    throw std::invalid_argument("answer = '" + answer +
                                "': must be 'frontier', 'min_latency', 'max_accuracy' or 'min_energy'");
}

DoubleArray bounds_of(py::object obj, const char* name, py::ssize_t S) {
    auto a = DoubleArray::ensure(obj);
    if (!a) throw py::type_error(std::string(name) + ": expected an array of numbers");
    if (a.ndim() != 1 || a.shape(0) != S)
        throw std::invalid_argument(std::string(name) + ": expected " + std::to_string(S) +
                                    " values (one per scenario), got shape " + std::string(py::str(obj.attr("shape"))));
    return a;
}

py::dict pareto_many(py::sequence tables_arg, py::object table_index, py::object min_accuracy,
                     py::object max_latency, py::object max_energy, const std::string& answer,
                     const SearchOptions& opt) {
    const BatchAnswer which = answer_of(answer);
    std::vector<TablesHandle> tables;
    tables.reserve(py::len(tables_arg));
    for (py::size_t u = 0; u < py::len(tables_arg); ++u) {
        try {
            tables.push_back(as_tables(tables_arg[u]));
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("tables[" + std::to_string(u) + "]: " + e.what());
        }
    }
    auto index = IntArray::ensure(table_index);
    if (!index || index.ndim() != 1) throw py::type_error("table_index: expected a 1-D array of integers");
    const py::ssize_t S = index.shape(0);
    const DoubleArray lo = bounds_of(min_accuracy, "min_accuracy", S), hi = bounds_of(max_latency, "max_latency", S);
    const bool bounded = !max_energy.is_none();
    const DoubleArray en = bounded ? bounds_of(max_energy, "max_energy", S) : DoubleArray();
    // The energy column where the tables carry energy tables: all of them, or none (a column with holes
    // would read as 0 J).
    const bool energy = !tables.empty() && tables[0]->view().has_energy();
    for (std::size_t u = 1; u < tables.size(); ++u)
        if (tables[u]->view().has_energy() != energy)
            throw std::invalid_argument("tables[" + std::to_string(u) + "]: " +
                                        (energy ? "carries no energy tables, and tables[0] does"
                                                : "carries energy tables, and tables[0] does not") +
                                        ": give every scenario's tables with energy, or none");
    std::vector<BatchScenario> scenarios(static_cast<std::size_t>(S));
    int lmax = 0;
    for (py::ssize_t s = 0; s < S; ++s) {
        const std::int64_t u = index.at(s);
        if (u < 0 || u >= static_cast<std::int64_t>(tables.size()))
            throw std::invalid_argument("table_index[" + std::to_string(s) + "] = " + std::to_string(u) +
                                        ": must be in 0.." + std::to_string(tables.size() - 1));
        const Tables& T = tables[static_cast<std::size_t>(u)]->view();
        scenarios[s] = {&T, lo.at(s), hi.at(s)};
        if (std::isnan(lo.at(s))) check_bound(lo.at(s), ("min_accuracy[" + std::to_string(s) + "]").c_str());
        if (std::isnan(hi.at(s))) check_bound(hi.at(s), ("max_latency[" + std::to_string(s) + "]").c_str());
        if (bounded) {
            scenarios[s].max_energy = en.at(s);
            if (std::isnan(en.at(s))) check_bound(en.at(s), ("max_energy[" + std::to_string(s) + "]").c_str());
        }
        lmax = std::max(lmax, T.max_partitions());
    }
    BatchResult r = without_gil([&] { return batch_search(scenarios, which, opt, poll_python); });

    py::dict out = point_columns(r.points.data(), r.points.size(), lmax, energy);
    py::array_t<std::int64_t> scenario(static_cast<py::ssize_t>(r.points.size())), counts(S);
    auto sc = scenario.mutable_unchecked<1>();
    auto co = counts.mutable_unchecked<1>();
    for (py::ssize_t s = 0; s < S; ++s) {
        co(s) = static_cast<std::int64_t>(r.offsets[s + 1] - r.offsets[s]);
        for (std::size_t i = r.offsets[s]; i < r.offsets[s + 1]; ++i) sc(static_cast<py::ssize_t>(i)) = s;
    }
    out["scenario"] = scenario;
    out["counts"] = counts;
    return out;
}

}  // namespace

void bind_batch(py::module_& m) {
    const py::none unset;
    m.def(
        "pareto_many",
        [](py::sequence tables, py::object table_index, py::object min_accuracy, py::object max_latency,
           const std::string& answer, py::object threads, py::object max_memory, py::object time_limit,
           py::object quantile, py::object max_energy) {
            return pareto_many(tables, table_index, min_accuracy, max_latency, max_energy, answer,
                               search_options(py::none(), py::none(), py::none(), threads, max_memory, time_limit, quantile));
        },
        py::arg("tables"), py::arg("table_index"), py::arg("min_accuracy"), py::arg("max_latency"), py::kw_only(),
        py::arg("answer") = "frontier", py::arg("threads") = unset, py::arg("max_memory") = unset,
        py::arg("time_limit") = unset, py::arg("quantile") = unset, py::arg("max_energy") = unset,
        "pareto_many(tables, table_index, min_accuracy, max_latency, *, answer='frontier', threads=0,\n"
        "max_memory=2**31, time_limit=inf, quantile=None, max_energy=None) -> dict\n\n"
        "Many exact searches in one call, the GIL released for all of them: scenario s searches\n"
        "tables[table_index[s]] (a Tables object, or the six tables, built once here) with its bounds\n"
        "min_accuracy[s], max_latency[s], on one thread; the scenarios are spread over `threads` workers.\n"
        "answer: 'frontier' (every point), 'min_latency' (P_lat's plan: the first point), 'max_accuracy'\n"
        "(P_acc's: the last) or 'min_energy' (_core.min_energy's plan). max_energy: None, or one bound (J)\n"
        "per scenario, as _core.pareto's. Energy needs tables built with energy tables; then (all tables\n"
        "with them, or none) the rows have an 'energy' column. Returns _core.pareto's columns for all scenarios' rows, one scenario's rows\n"
        "contiguous and in scenario order, with 'scenario' (each row's) and 'counts' (rows per scenario; 0:\n"
        "no plan meets its bounds). Each answer is exactly _core.pareto's on the same tables and bounds.\n"
        "max_memory caps each scenario's search (so at most `threads` times it at once); time_limit the\n"
        "whole call (TimeoutError); quantile applies to every scenario. Scenarios with the same tables and\n"
        "bounds are searched once.");
}

}  // namespace eepart
