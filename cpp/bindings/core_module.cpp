// eepart_fast._core: the CPU engine (cpp/core) for Python.
#include <pybind11/pybind11.h>

#include "options.hpp"
#include "tables.hpp"

namespace py = pybind11;

namespace eepart {
void bind_engine(py::module_& m);
void bind_search(py::module_& m);
}  // namespace eepart

#define EEPART_STR_(x) #x
#define EEPART_STR(x) EEPART_STR_(x)

PYBIND11_MODULE(_core, m) {
    m.doc() = "eepart_fast's CPU engine: works on the cost tables of docs/model.md only (private; use eepart_fast).";
    eepart::bind_tables_class(m);
    eepart::bind_options(m);
    eepart::bind_engine(m);
    eepart::bind_search(m);
    m.attr("__version__") = EEPART_STR(VERSION_INFO);
}
