// Where Python meets the engines (_core and _cuda alike): the tables as a bound object built and checked
// once, the given configurations, counts, thread counts and time limits read with messages that name
// them, the GIL released around engine work, and Ctrl-C and time limits turned into Python errors.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <utility>

#include "configs.hpp"
#include "parallel.hpp"
#include "tables.hpp"

namespace eepart {

namespace py = pybind11;
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IntArray = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using TablesHandle = std::shared_ptr<const TableData>;

// The `Tables` class of a module (module-local: _core and _cuda each have their own), and the error
// translations (TimeLimitExceeded: TimeoutError).
void bind_tables_class(py::module_& m);

// The six tables copied into a TableData and checked (without the GIL), with the energy tables when
// `energy` is not None (an EnergyTables: the four tables in order, or an object holding them by name).
TablesHandle make_tables(py::object input_cost, py::object compute_cost, py::object forward_cost,
                         py::object result_cost, py::object cum_exit, py::object accuracy,
                         py::object energy = py::none());

// A table's values and shape copied out of the array (while the GIL is held), as the engine takes it.
TableInput input_of(const DoubleArray& a);

// An engine's `tables` argument: a Tables object, or the six arrays in order (a CostTables), built now.
// With `energy` (not None), the tables are built again with those energy tables; another module's Tables
// (_core's given to _cuda) is built with its own energy tables, if it has them.
TablesHandle as_tables(py::handle obj, py::object energy = py::none());

// Given configurations as int64 arrays, kept alive here, shapes checked; the engines copy them a chunk
// at a time and check each row there (ConfigRows).
struct ConfigArrays {
    IntArray threshold_index, num_partitions, partitions, placement;
    ConfigView view;
};
ConfigArrays make_configs(py::object threshold_index, py::object num_partitions, py::object partitions,
                          py::object placement);

// A count (max_rows, ...) as uint64: a Python int >= 0; one too large for 64 bits means "no cap".
std::uint64_t as_count(py::object obj, const char* name);
// `max_memory` (bytes): a count > 0, the one check of every engine's max_memory argument (the Python
// backends call _core.check_max_memory). One too large for 64 bits means "no cap".
std::size_t as_memory(py::object obj);
// `threads`: an int in 0..kMaxThreads.
int as_threads(py::object obj);
// `time_limit`: seconds > 0, or inf.
double as_time_limit(py::object obj);
// `quantile`: None (the mean) is 0, as the engines' options hold it; else a number in (0, 1] (python's
// eepart_fast.quantile.check_quantile, same errors: TypeError for a non-number, ValueError out of range).
double as_quantile(py::object obj);
// A bound (max_latency, min_accuracy) may be +-inf but never NaN.
void check_bound(double value, const char* name);

// The row columns every engine returns, under the names the Python layer reads.
py::dict row_columns(py::object latency, py::object accuracy, py::object threshold_index,
                     py::object num_partitions, py::object partitions, py::object placement);

// Asks Python for pending signals (takes the GIL for it); true when Ctrl-C was pressed.
bool poll_python();

// Runs engine work without the GIL; Interrupted (Ctrl-C seen by poll_python) comes back as the pending
// KeyboardInterrupt.
template <class F>
auto without_gil(F&& f) -> decltype(f()) {
    try {
        py::gil_scoped_release release;
        return f();
    } catch (const Interrupted&) {
        throw py::error_already_set();
    }
}

}  // namespace eepart
