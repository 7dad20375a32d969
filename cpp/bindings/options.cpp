#include "options.hpp"

#include <limits>
#include <sstream>
#include <string>

#include "tables.hpp"

namespace eepart {
namespace {

double as_bound(py::object v, const char* name) {
    if (PyBool_Check(v.ptr()) || PyUnicode_Check(v.ptr()))
        throw py::type_error(std::string(name) + ": expected a number, got " + std::string(py::repr(v)));
    const double x = PyFloat_AsDouble(v.ptr());
    if (x == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        throw py::type_error(std::string(name) + ": expected a number, got " + std::string(py::repr(v)));
    }
    check_bound(x, name);
    return x;
}

// 0 (the mean) shows as None, as it is given.
py::object quantile_of(double q) { return q > 0 ? py::object(py::float_(q)) : py::object(py::none()); }

std::string str(double x) {
    std::ostringstream s;
    s << x;
    return s.str();
}

// Lays keyword `value` over the options' field, unless it is None.
template <class Set>
void lay(bool from_object, py::object value, const char* name, Set set) {
    if (value.is_none()) return;
    if (from_object)
        throw py::type_error(std::string(name) + ": given both as a keyword and in `options`; give one");
    set(value);
}

}  // namespace

void bind_options(py::module_& m) {
    const double inf = std::numeric_limits<double>::infinity();
    py::class_<SweepOptions>(m, "SweepOptions", py::module_local(),
                             "The options of sweep, each checked when set (ValueError/TypeError naming it).")
        .def(py::init([](py::object max_latency, py::object min_accuracy, py::object max_rows, py::object threads,
                         py::object time_limit, py::object quantile, py::object max_energy) {
                 return sweep_options(py::none(), max_latency, min_accuracy, max_rows, threads, time_limit, quantile,
                                      max_energy);
             }),
             py::kw_only(), py::arg("max_latency") = inf, py::arg("min_accuracy") = -inf,
             py::arg("max_rows") = py::int_(SweepOptions{}.max_rows), py::arg("threads") = 0, py::arg("time_limit") = inf,
             py::arg("quantile") = py::none(), py::arg("max_energy") = inf)
        .def_property("max_latency", [](const SweepOptions& o) { return o.max_latency; },
                      [](SweepOptions& o, py::object v) { o.max_latency = as_bound(v, "max_latency"); })
        .def_property("min_accuracy", [](const SweepOptions& o) { return o.min_accuracy; },
                      [](SweepOptions& o, py::object v) { o.min_accuracy = as_bound(v, "min_accuracy"); })
        .def_property("max_energy", [](const SweepOptions& o) { return o.max_energy; },
                      [](SweepOptions& o, py::object v) { o.max_energy = as_bound(v, "max_energy"); })
        .def_property("max_rows", [](const SweepOptions& o) { return o.max_rows; },
                      [](SweepOptions& o, py::object v) { o.max_rows = as_count(v, "max_rows"); })
        .def_property("threads", [](const SweepOptions& o) { return o.threads; },
                      [](SweepOptions& o, py::object v) { o.threads = as_threads(v); })
        .def_property("time_limit", [](const SweepOptions& o) { return o.time_limit; },
                      [](SweepOptions& o, py::object v) { o.time_limit = as_time_limit(v); })
        .def_property("quantile", [](const SweepOptions& o) { return quantile_of(o.quantile); },
                      [](SweepOptions& o, py::object v) { o.quantile = as_quantile(v); })
        .def("__repr__", [](const SweepOptions& o) {
            return "SweepOptions(max_latency=" + str(o.max_latency) + ", min_accuracy=" + str(o.min_accuracy) +
                   ", max_rows=" + std::to_string(o.max_rows) + ", threads=" + std::to_string(o.threads) +
                   ", time_limit=" + str(o.time_limit) +
                   ", quantile=" + std::string(py::repr(quantile_of(o.quantile))) +
                   ", max_energy=" + str(o.max_energy) + ")";
        });
    py::class_<SearchOptions>(m, "SearchOptions", py::module_local(),
                              "The options of pareto, each checked when set (ValueError/TypeError naming it).")
        .def(py::init([](py::object min_accuracy, py::object max_latency, py::object threads, py::object max_memory,
                         py::object time_limit, py::object quantile) {
                 return search_options(py::none(), min_accuracy, max_latency, threads, max_memory, time_limit,
                                       quantile);
             }),
             py::kw_only(), py::arg("min_accuracy") = -inf, py::arg("max_latency") = inf, py::arg("threads") = 0,
             py::arg("max_memory") = py::int_(SearchOptions{}.max_memory), py::arg("time_limit") = inf, py::arg("quantile") = py::none())
        .def_property("min_accuracy", [](const SearchOptions& o) { return o.min_accuracy; },
                      [](SearchOptions& o, py::object v) { o.min_accuracy = as_bound(v, "min_accuracy"); })
        .def_property("max_latency", [](const SearchOptions& o) { return o.max_latency; },
                      [](SearchOptions& o, py::object v) { o.max_latency = as_bound(v, "max_latency"); })
        .def_property("threads", [](const SearchOptions& o) { return o.threads; },
                      [](SearchOptions& o, py::object v) { o.threads = as_threads(v); })
        .def_property("max_memory", [](const SearchOptions& o) { return o.max_memory; },
                      [](SearchOptions& o, py::object v) { o.max_memory = as_memory(v); })
        .def_property("time_limit", [](const SearchOptions& o) { return o.time_limit; },
                      [](SearchOptions& o, py::object v) { o.time_limit = as_time_limit(v); })
        .def_property("quantile", [](const SearchOptions& o) { return quantile_of(o.quantile); },
                      [](SearchOptions& o, py::object v) { o.quantile = as_quantile(v); })
        .def("__repr__", [](const SearchOptions& o) {
            return "SearchOptions(min_accuracy=" + str(o.min_accuracy) + ", max_latency=" + str(o.max_latency) +
                   ", threads=" + std::to_string(o.threads) + ", max_memory=" + std::to_string(o.max_memory) +
                   ", time_limit=" + str(o.time_limit) +
                   ", quantile=" + std::string(py::repr(quantile_of(o.quantile))) + ")";
        });
}

SweepOptions sweep_options(py::object options, py::object max_latency, py::object min_accuracy, py::object max_rows,
                           py::object threads, py::object time_limit, py::object quantile, py::object max_energy) {
    const bool given = !options.is_none();
    if (given && !py::isinstance<SweepOptions>(options))
        throw py::type_error("options: expected a SweepOptions, got " + std::string(py::repr(options)));
    SweepOptions o = given ? options.cast<SweepOptions>() : SweepOptions{};
    lay(given, max_latency, "max_latency", [&](py::object v) { o.max_latency = as_bound(v, "max_latency"); });
    lay(given, min_accuracy, "min_accuracy", [&](py::object v) { o.min_accuracy = as_bound(v, "min_accuracy"); });
    lay(given, max_rows, "max_rows", [&](py::object v) { o.max_rows = as_count(v, "max_rows"); });
    lay(given, threads, "threads", [&](py::object v) { o.threads = as_threads(v); });
    lay(given, time_limit, "time_limit", [&](py::object v) { o.time_limit = as_time_limit(v); });
    lay(given, quantile, "quantile", [&](py::object v) { o.quantile = as_quantile(v); });
    lay(given, max_energy, "max_energy", [&](py::object v) { o.max_energy = as_bound(v, "max_energy"); });
    o.check();
    return o;
}

SearchOptions search_options(py::object options, py::object min_accuracy, py::object max_latency, py::object threads,
                             py::object max_memory, py::object time_limit, py::object quantile) {
    const bool given = !options.is_none();
    if (given && !py::isinstance<SearchOptions>(options))
        throw py::type_error("options: expected a SearchOptions, got " + std::string(py::repr(options)));
    SearchOptions o = given ? options.cast<SearchOptions>() : SearchOptions{};
    lay(given, min_accuracy, "min_accuracy", [&](py::object v) { o.min_accuracy = as_bound(v, "min_accuracy"); });
    lay(given, max_latency, "max_latency", [&](py::object v) { o.max_latency = as_bound(v, "max_latency"); });
    lay(given, threads, "threads", [&](py::object v) { o.threads = as_threads(v); });
    lay(given, max_memory, "max_memory", [&](py::object v) { o.max_memory = as_memory(v); });
    lay(given, time_limit, "time_limit", [&](py::object v) { o.time_limit = as_time_limit(v); });
    lay(given, quantile, "quantile", [&](py::object v) { o.quantile = as_quantile(v); });
    o.check();
    return o;
}

}  // namespace eepart
