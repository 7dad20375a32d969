// Search points as the row columns every engine returns (_core.pareto's, _core.pareto_many's).
#pragma once
#include <pybind11/pybind11.h>

#include <cstddef>

#include "search/staircase.hpp"

namespace eepart {

namespace py = pybind11;

// latency, accuracy, threshold_index, num_partitions and the (count, max_partitions) partitions and
// placement, padded with -1; with `energy`, the points' energy column too.
py::dict point_columns(const SearchPoint* pts, std::size_t count, int max_partitions, bool energy = false);

}  // namespace eepart
