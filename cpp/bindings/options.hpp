// The engine options as bound classes (pycolmap style): SweepOptions and SearchOptions, built and checked
// once (each field when it is set), and the functions' keyword arguments read into the same structs.
#pragma once
#include <pybind11/pybind11.h>

#include "engine.hpp"
#include "search/search.hpp"

namespace eepart {

namespace py = pybind11;

void bind_options(py::module_& m);

// `options` (a bound object or None) with the keyword arguments that are not None laid over it; giving
// both an options object and a keyword is a TypeError naming the keyword. Checked (std::invalid_argument).
// `quantile` None leaves the options' own (0, the mean, unless set).
SweepOptions sweep_options(py::object options, py::object max_latency, py::object min_accuracy, py::object max_rows,
                           py::object threads, py::object time_limit, py::object quantile = py::none(),
                           py::object max_energy = py::none());
SearchOptions search_options(py::object options, py::object min_accuracy, py::object max_latency, py::object threads,
                             py::object max_memory, py::object time_limit, py::object quantile = py::none());

}  // namespace eepart
