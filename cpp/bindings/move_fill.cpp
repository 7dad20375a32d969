// _core.MoveFill: the model's compiled move-table fill (cpp/model/move_fill.hpp) for Python. A re-plan
// after a link change gives it the new route matrices and gets back, in one call, the three move tables
// as numpy arrays (the Planner's tables) and the engine's Tables built on them.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "move_fill.hpp"
#include "tables.hpp"

namespace eepart {
namespace {

std::string shape_text(const DoubleArray& a) {
    std::string s = "(";
    for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
    return s + (a.ndim() == 1 ? ",)" : ")");
}

DoubleArray checked(py::object obj, const char* name, std::vector<py::ssize_t> shape) {
    auto a = DoubleArray::ensure(obj);
    if (!a) throw py::type_error(std::string(name) + ": expected an array of numbers convertible to float64");
    bool same = a.ndim() == static_cast<py::ssize_t>(shape.size());
    for (std::size_t d = 0; same && d < shape.size(); ++d) same = a.shape(d) == shape[d];
    if (!same) {
        std::string want = "(";
        for (std::size_t d = 0; d < shape.size(); ++d) want += (d ? ", " : "") + std::to_string(shape[d]);
        throw std::invalid_argument(std::string(name) + ": expected shape " + want + (shape.size() == 1 ? ",)" : ")") +
                                    ", got " + shape_text(a));
    }
    return a;
}

MoveForm make_form(py::object bits, py::object send, py::object receive) {
    auto b = DoubleArray::ensure(bits);
    if (!b || b.ndim() != 1 || b.shape(0) < 3 || b.shape(0) - 2 > kMaxBlocks)
        throw std::invalid_argument("bits: expected a 1-D array of N+2 tensors' bits, 1 <= N <= " +
                                    std::to_string(kMaxBlocks));
    MoveForm form;
    form.N = static_cast<int>(b.shape(0)) - 2;
    form.bits.assign(b.data(), b.data() + b.size());
    if (send.is_none() != receive.is_none())
        throw py::type_error("send, receive: give both (seconds per tensor, per tier) or neither");
    if (send.is_none()) throw py::type_error("send, receive: the tiers' (de)serialisation tables are needed for M");
    auto s = DoubleArray::ensure(send);
    if (!s || s.ndim() != 2 || s.shape(0) < 1 || s.shape(0) > kMaxTiers || s.shape(1) != b.shape(0))
        throw std::invalid_argument("send: expected shape (M, N+2) with 1 <= M <= " + std::to_string(kMaxTiers) +
                                    " and N+2 = " + std::to_string(b.shape(0)));
    form.M = static_cast<int>(s.shape(0));
    const DoubleArray r = checked(receive, "receive", {s.shape(0), s.shape(1)});
    bool any = false;
    for (py::ssize_t i = 0; i < s.size(); ++i) any = any || s.data()[i] != 0 || r.data()[i] != 0;
    if (any) {  // MoveFiller's `serialised`: all zero adds nothing, and the terms are skipped
        form.send.assign(s.data(), s.data() + s.size());
        form.receive.assign(r.data(), r.data() + r.size());
    }
    return form;
}

int tier_index(long long a, const char* name, int m) {
    if (a < 0 || a >= m)
        throw std::invalid_argument(std::string(name) + " = " + std::to_string(a) + ": expected a tier index in 0.." +
                                    std::to_string(m - 1));
    return static_cast<int>(a);
}

void read_only(py::array& a) { py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_; }

py::tuple moved(const MoveForm& form, std::shared_ptr<TableData> base, py::object path_latency,
                py::object path_inv_bandwidth, long long source, long long destination, double max_cost) {
    const int n = form.N, m = form.M;
    const Tables& b = base->view();
    if (b.N != n || b.M != m)
        throw std::invalid_argument("base: tables of N = " + std::to_string(b.N) + ", M = " + std::to_string(b.M) +
                                    ", this fill's are N = " + std::to_string(n) + ", M = " + std::to_string(m));
    const DoubleArray pl = checked(path_latency, "path_latency", {m, m});
    const DoubleArray inv = checked(path_inv_bandwidth, "path_inv_bandwidth", {m, m});
    const int s = tier_index(source, "source", m), d = tier_index(destination, "destination", m);
    DoubleArray input(m), forward({n, m, m}), result(m);
    const double largest = fill_moves(form, pl.data(), inv.data(), s, d, input.mutable_data(), forward.mutable_data(),
                                      result.mutable_data());
    py::object tables = py::none();
    if (largest <= max_cost)  // else the caller's rule names the entry (NaN fails the comparison too)
        tables = py::cast(
            std::make_shared<TableData>(std::move(base), input_of(input), input_of(forward), input_of(result)));
    py::array shown[3] = {input, forward, result};
    for (auto& a : shown) read_only(a);
    return py::make_tuple(shown[0], shown[1], shown[2], tables);
}

}  // namespace

void bind_move_fill(py::module_& m) {
    py::class_<MoveForm>(m, "MoveFill", py::module_local(),
                         "MoveFill(bits, send, receive)\n\n"
                         "The move tables' formula (model/tables.py MoveFiller.all, to the bit) for one profile and\n"
                         "one set of tiers: bits (N+2,) per tensor (input, block outputs, result) and the tiers'\n"
                         "seconds to serialise (send) and deserialise (receive) each, (M, N+2).")
        .def(py::init(&make_form), py::arg("bits"), py::arg("send"), py::arg("receive"))
        .def_property_readonly("N", [](const MoveForm& f) { return f.N; })
        .def_property_readonly("M", [](const MoveForm& f) { return f.M; })
        .def("moved", &moved, py::arg("base").none(false), py::arg("path_latency"), py::arg("path_inv_bandwidth"),
             py::arg("source"), py::arg("destination"), py::arg("max_cost"),
             "moved(base, path_latency, path_inv_bandwidth, source, destination, max_cost)\n"
             "-> (input_cost, forward_cost, result_cost, Tables or None)\n\n"
             "The three move tables for these routes (read-only arrays), and `base`'s Tables with them (as\n"
             "base.with_moves builds it), or None when an entry exceeds max_cost or is NaN: the caller's cost\n"
             "rule then names it.");
}

}  // namespace eepart
