// eepart_fast._core: the CPU engine (cpp/core) for Python, and the engine's constants and limits, which
// the Python layer reads from here rather than writing them again.
#include <pybind11/pybind11.h>

#include "engine.hpp"
#include "options.hpp"
#include "quantile.hpp"
#include "search/constants.hpp"
#include "search/search.hpp"
#include "sweep_plan.hpp"
#include "tables.hpp"

namespace py = pybind11;

namespace eepart {
void bind_engine(py::module_& m);
void bind_search(py::module_& m);
void bind_batch(py::module_& m);
void bind_sweep_plan(py::module_& m);
void bind_move_fill(py::module_& m);

namespace {

void bind_constants(py::module_& m) {
    m.attr("MAX_TIERS") = kMaxTiers;
    m.attr("MAX_BLOCKS") = kMaxBlocks;
    m.attr("MAX_THRESHOLDS") = kMaxThresholds;
    m.attr("MAX_THREADS") = kMaxThreads;
    m.attr("QUANTILE_SLACK") = kQuantileSlack;
    m.attr("FRONTIER_RTOL") = kRtol;
    m.attr("DEFAULT_MAX_ROWS") = py::int_(SweepOptions{}.max_rows);
    m.attr("DEFAULT_MAX_MEMORY") = py::int_(SearchOptions{}.max_memory);
    m.attr("DEFAULT_DEVICE_MEMORY") = py::int_(kDefaultDeviceMemory);
    m.attr("SWEEP_SPLIT") = py::int_(kSweepSplit);
    m.attr("SWEEP_IP_SIZE") = kSweepIpSize;
    m.attr("SWEEP_BLOCK_WARPS") = kSweepBlockWarps;
    m.attr("SWEEP_MAX_CODES") = py::int_(kSweepMaxCodes);
    m.attr("SWEEP_CHUNK_ITEMS") = py::int_(kSweepChunkItems);
    m.attr("SWEEP_WINDOW_ROWS") = py::int_(kSweepWindowRows);
    m.attr("SWEEP_MAX_TOTAL") = py::int_(kSweepMaxTotal);
}

}  // namespace
}  // namespace eepart

#define EEPART_STR_(x) #x
#define EEPART_STR(x) EEPART_STR_(x)

PYBIND11_MODULE(_core, m) {
    m.doc() = "eepart_fast's CPU engine: works on the cost tables of docs/model.md only (private; use eepart_fast).";
    eepart::bind_tables_class(m);
    eepart::bind_options(m);
    eepart::bind_engine(m);
    eepart::bind_search(m);
    eepart::bind_batch(m);
    eepart::bind_sweep_plan(m);
    eepart::bind_move_fill(m);
    eepart::bind_constants(m);
    m.def(
        "check_max_memory", [](py::object max_memory) { return eepart::as_memory(max_memory); }, py::arg("max_memory"),
        "check_max_memory(max_memory) -> int\n\n"
        "max_memory checked as every engine checks it (bytes, an integer > 0; TypeError / ValueError naming\n"
        "it), for the Python backends. One too large for 64 bits is no cap.");
    // Private: eepart_fast.errors.RowLimitError's message, the engines' own (any Python ints).
    m.def("_row_limit_message", [](py::int_ max_rows, py::int_ total) {
        return eepart::row_limit_message(py::str(max_rows), py::str(total));
    });
    m.attr("__version__") = EEPART_STR(VERSION_INFO);
}
