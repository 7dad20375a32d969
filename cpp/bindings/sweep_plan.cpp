// _core.plan_sweep: the GPU sweep's plan (core/sweep_plan.hpp) as plain arrays, for the CuPy backend,
// which launches the same kernels as _cuda and must cut the work exactly as cuda_sweep.cpp does.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "sweep_plan.hpp"
#include "tables.hpp"

namespace eepart {
namespace {

template <class T>
py::array_t<T> array_of(const std::vector<T>& v, std::vector<py::ssize_t> shape) {
    py::array_t<T> a(shape);
    if (!v.empty()) std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(T));
    return a;
}

py::dict plan_sweep_py(py::object N, py::object M, py::object K, py::object chunk_items, py::object table_limit) {
    const auto dimension = [](py::object v, const char* name) {
        const std::uint64_t n = as_count(v, name);
        return static_cast<int>(std::min<std::uint64_t>(n, std::uint64_t(1) << 30));  // plan_sweep names the limit
    };
    const SweepPlan p = plan_sweep(dimension(N, "N"), dimension(M, "M"), dimension(K, "K"),
                                   as_count(chunk_items, "chunk_items"), as_count(table_limit, "table_limit"));
    constexpr int kSegmentColumns = 9;
    std::vector<std::int64_t> segments;
    for (const SweepSegment& s : p.segments)
        for (std::uint64_t x : {std::uint64_t(s.L), s.nperm, s.ncomb, s.W, s.splits, s.items,
                                static_cast<std::uint64_t>(s.codes), s.radix, s.offset})
            segments.push_back(static_cast<std::int64_t>(x));  // all below 2^63; codes -1 stays -1
    std::vector<long long> ip;
    std::vector<std::int64_t> nt, first, items;
    for (const SweepChunk& c : p.chunks) {
        first.push_back(static_cast<std::int64_t>(nt.size()));
        items.push_back(static_cast<std::int64_t>(c.items));
        for (const SweepLaunch& l : c.launches) {
            ip.resize(ip.size() + kSweepIpSize);
            p.launch_params(l, &ip[ip.size() - kSweepIpSize]);
            nt.push_back(l.nt);
        }
    }
    first.push_back(static_cast<std::int64_t>(nt.size()));
    const auto n_launches = static_cast<py::ssize_t>(nt.size());
    py::dict out;
    out["total"] = py::int_(p.total);
    out["per_t"] = py::int_(p.per_t);
    out["binom"] = array_of(p.binom, {p.N + 1, p.Lmax + 1});
    out["codes"] = array_of(p.codes, {static_cast<py::ssize_t>(p.codes.size())});
    out["radix"] = array_of(p.radix, {static_cast<py::ssize_t>(p.radix.size())});
    out["segments"] = array_of(segments, {p.Lmax, kSegmentColumns});
    out["ip"] = array_of(ip, {n_launches, kSweepIpSize});
    out["grid_y"] = array_of(nt, {n_launches});
    out["chunk_first"] = array_of(first, {static_cast<py::ssize_t>(first.size())});
    out["chunk_items"] = array_of(items, {static_cast<py::ssize_t>(items.size())});
    return out;
}

}  // namespace

void bind_sweep_plan(py::module_& m) {
    m.def("plan_sweep", &plan_sweep_py, py::arg("N"), py::arg("M"), py::arg("K"), py::arg("chunk_items") = 0,
          py::arg("table_limit") = 0,
          "plan_sweep(N, M, K, chunk_items=0, table_limit=0) -> dict\n\n"
          "How the GPU sweep cuts N blocks x M tiers x K thresholds into warp items and chunks (cuda_sweep.cpp's\n"
          "plan, for the CuPy backend). chunk_items (0: SWEEP_CHUNK_ITEMS) caps the items of a chunk, table_limit\n"
          "(0: SWEEP_MAX_CODES) the placements of one L that are tabulated. Keys: total, per_t (items of one\n"
          "threshold), binom uint64 (N+1, Lmax+1), codes uint64 (tabulated placements, 4 bits a tier), radix\n"
          "uint64, segments int64 (Lmax, 9): L, nperm, ncomb, W, splits, items, codes offset (-1: none), radix\n"
          "offset, first item; ip int64 (launches, SWEEP_IP_SIZE): each launch's descriptor (EEP_IP_* of\n"
          "kernels.cuh); grid_y int64 (launches,): its thresholds; chunk_first int64 (chunks + 1,): chunk c is\n"
          "launches chunk_first[c]:chunk_first[c+1]; chunk_items int64 (chunks,). ValueError past 2^63\n"
          "configurations or the engine's limits.");
}

}  // namespace eepart
