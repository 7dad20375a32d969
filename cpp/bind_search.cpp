#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace eepart {
void bind_search(py::module_& m) { (void)m; }  // filled in by the search work
}  // namespace eepart
