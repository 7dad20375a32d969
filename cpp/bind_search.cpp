// _core.pareto: the exact search of search.cpp on the six cost tables, columns out like _core.sweep.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "bind_tables.hpp"
#include "search.hpp"

namespace py = pybind11;

namespace eepart {
namespace {

py::dict pareto(py::object input_cost, py::object compute_cost, py::object forward_cost, py::object result_cost,
                py::object cum_exit, py::object accuracy, double min_accuracy, double max_latency, int threads,
                long long max_memory, bool stats) {
    if (max_memory <= 0)
        throw std::invalid_argument("max_memory = " + std::to_string(max_memory) + ": must be a positive number of bytes");
    TableArrays t = make_tables(input_cost, compute_cost, forward_cost, result_cost, cum_exit, accuracy);
    SearchOptions opt;
    opt.min_accuracy = min_accuracy;
    opt.max_latency = max_latency;
    opt.threads = threads;
    opt.max_memory = static_cast<std::size_t>(max_memory);
    SearchStats st;
    std::vector<SearchPoint> pts = pareto_search(t.view, opt, &st);

    const py::ssize_t n = static_cast<py::ssize_t>(pts.size());
    const py::ssize_t lmax = t.view.max_partitions();
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
    m.def("pareto", &pareto, EEPART_TABLE_ARGS, py::kw_only(),
          py::arg("min_accuracy") = -std::numeric_limits<double>::infinity(),
          py::arg("max_latency") = std::numeric_limits<double>::infinity(), py::arg("threads") = 0,
          py::arg("max_memory") = 1LL << 31, py::arg("stats") = false,
          "SPEC's frontier of the configurations with accuracy >= min_accuracy and latency <= max_latency, by\n"
          "exact search (no sweep). Returns the columns of _core.sweep for the frontier rows, latency rising;\n"
          "'stats' adds the search's counters. Raises ValueError when the search would need more than\n"
          "max_memory bytes.");
}

}  // namespace eepart
