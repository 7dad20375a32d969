// Where Python's arrays become a Tables view: shapes, dtypes and values checked once, with messages that
// name the table, the index and the value.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "engine.hpp"
#include "tables.hpp"

namespace eepart {

namespace py = pybind11;
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

// Keeps the (possibly converted) arrays alive for as long as the view is used.
struct TableArrays {
    DoubleArray input_cost, compute_cost, forward_cost, result_cost, cum_exit, accuracy;
    Tables view;
};

TableArrays make_tables(py::object input_cost, py::object compute_cost, py::object forward_cost,
                        py::object result_cost, py::object cum_exit, py::object accuracy);

using IntArray = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

// Given configurations as int64 arrays (kept alive here) and their view, checked against the tables
// with SPEC's rules (validate_configs) before any engine reads them.
struct ConfigArrays {
    IntArray threshold_index, num_partitions, partitions, placement;
    ConfigView view;
};

ConfigArrays make_configs(const Tables& tables, py::object threshold_index, py::object num_partitions,
                          py::object partitions, py::object placement);

// A count (max_rows, ...) as uint64: a Python int >= 0; one too large for 64 bits means "no cap".
std::uint64_t as_count(py::object obj, const char* name);

// The row columns every engine returns, under the names the Python layer reads.
py::dict row_columns(py::object latency, py::object accuracy, py::object threshold_index,
                     py::object num_partitions, py::object partitions, py::object placement);

// A bound (max_latency, min_accuracy) may be +-inf but never NaN.
void check_bound(double value, const char* name);

// Adds the six table arguments, in SPEC order, to a binding's argument list.
#define EEPART_TABLE_ARGS                                                                  \
    py::arg("input_cost"), py::arg("compute_cost"), py::arg("forward_cost"),              \
        py::arg("result_cost"), py::arg("cum_exit"), py::arg("accuracy")

}  // namespace eepart
