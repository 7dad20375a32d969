#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace eepart {
void bind_engine(py::module_& m) { (void)m; }  // filled in by the engine work
}  // namespace eepart
