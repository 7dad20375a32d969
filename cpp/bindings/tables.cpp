#include "tables.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine.hpp"

namespace eepart {
namespace {

DoubleArray as_array(py::object obj, const char* name) {
    auto a = DoubleArray::ensure(obj);
    if (!a) throw py::type_error(std::string(name) + ": expected an array of numbers convertible to float64");
    return a;
}

IntArray as_ints(py::object obj, const char* name, py::ssize_t ndim) {
    auto a = IntArray::ensure(obj);
    if (!a) throw py::type_error(std::string(name) + ": expected an array of integers");
    if (a.ndim() != ndim)
        throw std::invalid_argument(std::string(name) + ": expected a " + std::to_string(ndim) + "-D array, got " +
                                    std::to_string(a.ndim()) + "-D");
    return a;
}

// The engine's copy of a table as a read-only numpy array that keeps the Tables object alive.
py::array shown(py::object self, const std::vector<double>& v, std::vector<py::ssize_t> shape) {
    py::array a(py::dtype::of<double>(), shape, v.data(), self);
    py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
    return a;
}

// The four energy tables of an EnergyTables-like object: a sequence in EnergyTables' order or an object
// with them by name; nullptr for None.
std::unique_ptr<EnergyInput> energy_input(py::object energy) {
    if (energy.is_none()) return nullptr;
    static const char* names[4] = {"input_energy", "compute_energy", "forward_energy", "result_energy"};
    py::object t[4];
    if (py::isinstance<py::sequence>(energy) && !py::isinstance<py::str>(energy) && py::len(energy) == 4) {
        py::sequence s = py::reinterpret_borrow<py::sequence>(energy);
        for (int i = 0; i < 4; ++i) t[i] = s[i];
    } else {
        for (int i = 0; i < 4; ++i) {
            if (!py::hasattr(energy, names[i]))
                throw py::type_error("energy: expected an EnergyTables (input_energy, compute_energy, "
                                     "forward_energy, result_energy), got " +
                                     std::string(py::str(py::type::handle_of(energy).attr("__name__"))));
            t[i] = energy.attr(names[i]);
        }
    }
    auto in = std::make_unique<EnergyInput>();
    in->input = input_of(as_array(t[0], names[0]));
    in->compute = input_of(as_array(t[1], names[1]));
    in->forward = input_of(as_array(t[2], names[2]));
    in->result = input_of(as_array(t[3], names[3]));
    return in;
}

// The shapes of the cost (and energy) tables: per tier (M,), compute (M, N+1, N+1), forward (N, M, M).
enum class Shape { kTier, kCompute, kForward };

// A property showing one of the engine's tables; an energy table is None where the tables carry none.
auto table_property(const std::vector<double>& (TableData::*table)() const, Shape shape, bool energy = false) {
    return [=](py::object self) -> py::object {
        const auto& t = self.cast<const TableData&>();
        const Tables& v = t.view();
        if (energy && !v.has_energy()) return py::none();
        const std::vector<py::ssize_t> dims = shape == Shape::kTier      ? std::vector<py::ssize_t>{v.M}
                                              : shape == Shape::kCompute ? std::vector<py::ssize_t>{v.M, v.N + 1, v.N + 1}
                                                                         : std::vector<py::ssize_t>{v.N, v.M, v.M};
        return shown(self, (t.*table)(), dims);
    };
}

constexpr const char* kTablesDoc =
    "Tables(input_cost, compute_cost, forward_cost, result_cost, cum_exit, accuracy, energy=None)\n\n"
    "The six cost tables of the engine form (docs/model.md), copied into the engine's memory and checked\n"
    "once: later changes to the arrays given do not reach it. Immutable, so one object serves any number of\n"
    "calls and threads. accuracy is (N,) or (K, N) (a row per threshold). Entries no configuration reads\n"
    "(compute_cost[a][p][q] with p >= q, forward_cost[q][a][a], forward_cost[N-1]) are ignored and 0 in the\n"
    "copy; every other cost must be finite and >= 0, and small enough that no latency overflows float64.\n"
    "energy: an EnergyTables (input_energy, compute_energy, forward_energy, result_energy; docs/model.md\n"
    "\"Energy\"), the cost tables' shapes and ignored entries, every other entry finite, >= 0 and at most\n"
    "1e300 J; evaluate and sweep then return an energy column. Raises ValueError naming the table, the index\n"
    "and the value.";

}  // namespace

// A copy of the array, taken while the GIL is held: a writer that holds it (any Python code, numpy on
// small arrays) never interleaves with it.
TableInput input_of(const DoubleArray& a) {
    TableInput in;
    in.values.assign(a.data(), a.data() + a.size());
    for (py::ssize_t d = 0; d < a.ndim(); ++d) in.shape.push_back(static_cast<std::int64_t>(a.shape(d)));
    return in;
}

TablesHandle make_tables(py::object input_cost, py::object compute_cost, py::object forward_cost,
                         py::object result_cost, py::object cum_exit, py::object accuracy, py::object energy) {
    const DoubleArray a[6] = {as_array(input_cost, "input_cost"),   as_array(compute_cost, "compute_cost"),
                              as_array(forward_cost, "forward_cost"), as_array(result_cost, "result_cost"),
                              as_array(cum_exit, "cum_exit"),         as_array(accuracy, "accuracy")};
    TableInput in[6];
    for (int i = 0; i < 6; ++i) in[i] = input_of(a[i]);
    std::unique_ptr<EnergyInput> e = energy_input(energy);
    py::gil_scoped_release release;  // the checks read the engine's copies only
    return std::make_shared<const TableData>(std::move(in[0]), std::move(in[1]), std::move(in[2]), std::move(in[3]),
                                             std::move(in[4]), std::move(in[5]), std::move(e));
}

TablesHandle as_tables(py::handle obj, py::object energy) {
    if (py::isinstance<TableData>(obj) && energy.is_none()) return obj.cast<std::shared_ptr<TableData>>();
    if (py::isinstance<py::sequence>(obj) && !py::isinstance<py::str>(obj) && py::len(obj) == 6) {
        py::sequence s = py::reinterpret_borrow<py::sequence>(obj);
        return make_tables(s[0], s[1], s[2], s[3], s[4], s[5], energy);
    }
    // Another module's Tables (say _cuda's given to _core), or any object with the six tables by name.
    static const char* names[6] = {"input_cost", "compute_cost", "forward_cost", "result_cost", "cum_exit", "accuracy"};
    bool named = true;
    for (const char* n : names) named = named && py::hasattr(obj, n);
    // Another module's Tables keeps its energy tables (read by name, as an EnergyTables' are).
    if (named && energy.is_none() && py::hasattr(obj, "has_energy") && py::bool_(obj.attr("has_energy")))
        energy = py::reinterpret_borrow<py::object>(obj);
    if (named)
        return make_tables(obj.attr(names[0]), obj.attr(names[1]), obj.attr(names[2]), obj.attr(names[3]),
                           obj.attr(names[4]), obj.attr(names[5]), energy);
    throw py::type_error("tables: expected a Tables object or the six tables (input_cost, compute_cost, "
                         "forward_cost, result_cost, cum_exit, accuracy), got " +
                         std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
}

void bind_tables_class(py::module_& m) {
    py::class_<TableData, std::shared_ptr<TableData>>(m, "Tables", py::module_local(), kTablesDoc)
        .def(py::init([](py::object ic, py::object cc, py::object fc, py::object rc, py::object ce, py::object ac,
                         py::object energy) {
                 return std::const_pointer_cast<TableData>(make_tables(ic, cc, fc, rc, ce, ac, energy));
             }),
             py::arg("input_cost"), py::arg("compute_cost"), py::arg("forward_cost"), py::arg("result_cost"),
             py::arg("cum_exit"), py::arg("accuracy"), py::kw_only(), py::arg("energy") = py::none())
        .def_property_readonly("has_energy", [](const TableData& t) { return t.view().has_energy(); })
        .def_property_readonly("input_energy", table_property(&TableData::input_energy, Shape::kTier, true))
        .def_property_readonly("compute_energy", table_property(&TableData::compute_energy, Shape::kCompute, true))
        .def_property_readonly("forward_energy", table_property(&TableData::forward_energy, Shape::kForward, true))
        .def_property_readonly("result_energy", table_property(&TableData::result_energy, Shape::kTier, true))
        .def_property_readonly("N", [](const TableData& t) { return t.view().N; })
        .def_property_readonly("M", [](const TableData& t) { return t.view().M; })
        .def_property_readonly("K", [](const TableData& t) { return t.view().K; })
        .def_property_readonly("input_cost", table_property(&TableData::input_cost, Shape::kTier))
        .def_property_readonly("compute_cost", table_property(&TableData::compute_cost, Shape::kCompute))
        .def_property_readonly("forward_cost", table_property(&TableData::forward_cost, Shape::kForward))
        .def_property_readonly("result_cost", table_property(&TableData::result_cost, Shape::kTier))
        .def_property_readonly("cum_exit", [](py::object self) {
            const auto& t = self.cast<const TableData&>();
            return shown(self, t.cum_exit(), {t.view().K, t.view().N + 1});
        })
        .def_property_readonly("accuracy", [](py::object self) {
            const auto& t = self.cast<const TableData&>();
            std::vector<py::ssize_t> shape(t.accuracy_shape().begin(), t.accuracy_shape().end());
            return shown(self, t.accuracy(), shape);
        })
        .def(
            "with_moves",
            [](std::shared_ptr<TableData> self, py::object ic, py::object fc, py::object rc, py::object ie,
               py::object fe, py::object re) {
                const DoubleArray a[3] = {as_array(ic, "input_cost"), as_array(fc, "forward_cost"),
                                          as_array(rc, "result_cost")};
                const int given = !ie.is_none() + !fe.is_none() + !re.is_none();
                if (given != 0 && given != 3)
                    throw py::type_error("with_moves: give input_energy, forward_energy and result_energy together, "
                                         "or none of them (the tables' own are kept)");
                std::unique_ptr<EnergyInput> e;
                if (given) {
                    e = std::make_unique<EnergyInput>();
                    e->input = input_of(as_array(ie, "input_energy"));
                    e->forward = input_of(as_array(fe, "forward_energy"));
                    e->result = input_of(as_array(re, "result_energy"));
                }
                // The GIL kept: three small tables are checked in less time than a release and re-take.
                return std::make_shared<TableData>(std::move(self), input_of(a[0]), input_of(a[1]), input_of(a[2]),
                                                   std::move(e));
            },
            py::arg("input_cost"), py::arg("forward_cost"), py::arg("result_cost"), py::kw_only(),
            py::arg("input_energy") = py::none(), py::arg("forward_energy") = py::none(),
            py::arg("result_energy") = py::none(),
            "with_moves(input_cost, forward_cost, result_cost, *, input_energy=None, forward_energy=None,\n"
            "result_energy=None) -> Tables\n\n"
            "These tables with new move tables (copied and checked as the constructor checks them), sharing\n"
            "this object's compute_cost, cum_exit and accuracy (kept alive; neither copied nor checked again):\n"
            "what a change of links, bandwidths or latencies needs. The energy tables are kept, or their three\n"
            "move tables replaced when given (all three; the compute_energy is shared). Raises ValueError as the\n"
            "constructor does.")
        .def("__repr__", [](const TableData& t) {
            return "Tables(N=" + std::to_string(t.view().N) + ", M=" + std::to_string(t.view().M) +
                   ", K=" + std::to_string(t.view().K) + (t.view().has_energy() ? ", energy" : "") + ")";
        });
    py::register_local_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const TimeLimitExceeded& e) {
            PyErr_SetString(PyExc_TimeoutError, e.what());
        } catch (const RowLimitExceeded& e) {
            // The package's one class (and message) for it, whichever backend hit the cap: callers (the CLI)
            // tell it apart by type.
            try {
                py::object error = py::module_::import("eepart_fast.errors").attr("RowLimitError")(e.max_rows, e.total);
                PyErr_SetObject(error.get_type().ptr(), error.ptr());
            } catch (py::error_already_set& failed) {  // the package cannot be imported: say that
                failed.restore();
            }
        }
    });
}

ConfigArrays make_configs(py::object threshold_index, py::object num_partitions, py::object partitions,
                          py::object placement) {
    ConfigArrays c{as_ints(threshold_index, "threshold_index", 1), as_ints(num_partitions, "num_partitions", 1),
                   as_ints(partitions, "partitions", 2), as_ints(placement, "placement", 2), ConfigView{}};
    const py::ssize_t n = c.threshold_index.shape(0);
    auto rows = [&](const IntArray& a, const char* name) {
        if (a.shape(0) != n)
            throw std::invalid_argument(std::string(name) + ": " + std::to_string(a.shape(0)) +
                                        " rows, threshold_index has " + std::to_string(n));
    };
    rows(c.num_partitions, "num_partitions");
    rows(c.partitions, "partitions");
    rows(c.placement, "placement");
    if (c.partitions.shape(1) != c.placement.shape(1))
        throw std::invalid_argument("partitions and placement: column counts differ (" +
                                    std::to_string(c.partitions.shape(1)) + " and " +
                                    std::to_string(c.placement.shape(1)) + ")");
    ConfigView& v = c.view;
    v.n = static_cast<std::size_t>(n);
    v.width = static_cast<std::size_t>(c.partitions.shape(1));
    v.threshold_index = c.threshold_index.data();
    v.num_partitions = c.num_partitions.data();
    v.partitions = c.partitions.data();
    v.placement = c.placement.data();
    return c;
}

// An integer argument (Python int, numpy integer; never a bool) as long long, `overflow` its sign when
// it does not fit.
static long long integer_of(py::object obj, const char* name, int& overflow) {
    PyObject* index = PyBool_Check(obj.ptr()) ? nullptr : PyNumber_Index(obj.ptr());
    if (index == nullptr) {
        PyErr_Clear();
        throw py::type_error(std::string(name) + ": expected an integer, got " + std::string(py::repr(obj)));
    }
    py::object i = py::reinterpret_steal<py::object>(index);
    overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);
    if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
    return v;
}

std::uint64_t as_count(py::object obj, const char* name) {
    int overflow = 0;
    const long long v = integer_of(obj, name, overflow);
    if (overflow > 0) return std::numeric_limits<std::uint64_t>::max();
    if (overflow < 0 || v < 0)
        throw std::invalid_argument(std::string(name) + " = " + py::str(obj).cast<std::string>() + ": must be >= 0");
    return static_cast<std::uint64_t>(v);
}

std::size_t as_memory(py::object obj) {
    // Half the address space stands for "no cap": the searches add to it without overflowing.
    constexpr std::size_t kNoCap = std::numeric_limits<std::size_t>::max() / 2;
    int overflow = 0;
    const long long v = integer_of(obj, "max_memory", overflow);
    if (overflow > 0) return kNoCap;
    if (overflow < 0 || v <= 0)
        throw std::invalid_argument("max_memory = " + py::str(obj).cast<std::string>() +
                                    ": must be a positive number of bytes");
    return std::min<std::size_t>(static_cast<std::size_t>(v), kNoCap);
}

int as_threads(py::object obj) {
    int overflow = 0;
    const long long v = integer_of(obj, "threads", overflow);
    if (overflow != 0)
        throw std::invalid_argument("threads = " + py::str(obj).cast<std::string>() + ": must be in 0.." +
                                    std::to_string(kMaxThreads) + " (0: one per core)");
    check_threads(v);
    return static_cast<int>(v);
}

double as_time_limit(py::object obj) {
    const double v = PyBool_Check(obj.ptr()) || PyUnicode_Check(obj.ptr()) ? -1.0 : PyFloat_AsDouble(obj.ptr());
    if (v == -1.0 && (PyErr_Occurred() || PyBool_Check(obj.ptr()) || PyUnicode_Check(obj.ptr()))) {
        PyErr_Clear();
        throw py::type_error("time_limit: expected a number of seconds, got " + std::string(py::repr(obj)));
    }
    check_time_limit(v);
    return v;
}

double as_quantile(py::object obj) {
    if (obj.is_none()) return 0.0;  // the mean
    const bool not_number = PyBool_Check(obj.ptr()) || PyUnicode_Check(obj.ptr()) || PyBytes_Check(obj.ptr()) ||
                            PyComplex_Check(obj.ptr());
    const double q = not_number ? -1.0 : PyFloat_AsDouble(obj.ptr());
    if (not_number || (q == -1.0 && PyErr_Occurred())) {
        PyErr_Clear();
        throw py::type_error("quantile: expected a number in (0, 1], got " + std::string(py::repr(obj)));
    }
    // 0 is the engines' "mean", never a quantile a caller may ask for: None asks for the mean.
    if (!(q > 0.0 && q <= 1.0))
        throw std::invalid_argument("quantile = " + std::string(py::repr(obj)) + ": must be in (0, 1] (0.99 for p99)");
    return q;
}

void check_bound(double value, const char* name) {
    if (std::isnan(value)) throw std::invalid_argument(std::string(name) + " = nan: must be a number (or +-inf)");
}

py::dict row_columns(py::object latency, py::object accuracy, py::object threshold_index,
                     py::object num_partitions, py::object partitions, py::object placement) {
    py::dict out;
    out["latency"] = latency;
    out["accuracy"] = accuracy;
    out["threshold_index"] = threshold_index;
    out["num_partitions"] = num_partitions;
    out["partitions"] = partitions;
    out["placement"] = placement;
    return out;
}

bool poll_python() {
    py::gil_scoped_acquire acquire;
    return PyErr_CheckSignals() != 0;
}

}  // namespace eepart
