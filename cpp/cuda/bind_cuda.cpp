#include <pybind11/pybind11.h>

namespace py = pybind11;

PYBIND11_MODULE(_cuda, m) {
    m.doc() = "eepart_fast's CUDA engine (private; use eepart_fast).";
}
