// The launchers of launch.hpp. Built by nvcc; or, with EEPART_EMULATE (launch_emu.cpp), by the host
// compiler, the kernels then running on the SIMT emulator of emu.hpp.
#ifdef EEPART_EMULATE
#include "emu.hpp"
#endif

#include "kernels.cuh"
#include "launch.hpp"
#include "pareto_kernels.cuh"
#include "fused_kernels.cuh"
#include "device.hpp"

namespace eepart {
namespace gpu {
namespace {

constexpr unsigned kThreads = 256;

template <class Kernel, class... Args>
void go(const char* name, Kernel kernel, dim3 grid, dim3 block, Args... args) {
    if (grid.x == 0 || grid.y == 0 || grid.z == 0) return;
#ifdef EEPART_EMULATE
    emu::launch(grid, block, [&] { kernel(args...); });
#else
    kernel<<<grid, block>>>(args...);
#endif
    check_launch(name);
}

unsigned blocks_for(u64 n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

template <int LC, int WRITE, int ENERGY>
void sweep_at(unsigned gx, unsigned gy, const SweepArgs& a) {
    const DeviceTables& e = ENERGY ? *a.energy : a.tb;  // unread by the latency-only kernels
    go("sweep", eep_sweep<LC, WRITE, ENERGY>, dim3(gx, gy), dim3(kSweepWarpsPerBlock * 32), a.tb.input, a.tb.compT,
       a.tb.fwd, a.tb.res, a.tb.cum, a.tb.acc, a.binom, a.codes, a.radix, a.ip, a.max_lat, a.min_acc, a.quantile,
       a.theta, a.counts, a.offsets, a.lo, a.hi, a.o_lat, a.o_acc, a.o_t, a.o_L, a.o_P, a.o_A, e.input, e.compT,
       e.fwd, e.res, a.max_energy, a.o_energy);
}

template <int WRITE, int ENERGY>
void sweep_dispatch(int L, unsigned gx, unsigned gy, const SweepArgs& a) {
    switch (L) {
        case 1: return sweep_at<1, WRITE, ENERGY>(gx, gy, a);
        case 2: return sweep_at<2, WRITE, ENERGY>(gx, gy, a);
        case 3: return sweep_at<3, WRITE, ENERGY>(gx, gy, a);
        case 4: return sweep_at<4, WRITE, ENERGY>(gx, gy, a);
        case 5: return sweep_at<5, WRITE, ENERGY>(gx, gy, a);
        case 6: return sweep_at<6, WRITE, ENERGY>(gx, gy, a);
        case 7: return sweep_at<7, WRITE, ENERGY>(gx, gy, a);
        case 8: return sweep_at<8, WRITE, ENERGY>(gx, gy, a);
        default: return sweep_at<16, WRITE, ENERGY>(gx, gy, a);
    }
}

}  // namespace

void launch_evaluate(const DeviceTables& d, u64 n, int width, const long long* t, const long long* L,
                     const long long* P, const long long* A, double* lat, double* acc, double quantile, double theta) {
    go("evaluate", eep_evaluate, dim3(blocks_for(n)), dim3(kThreads), d.input, d.compT, d.fwd, d.res, d.cum, d.acc,
       d.N, d.M, static_cast<eep_u64>(n), width, t, L, P, A, quantile, theta, lat, acc);
}

void launch_sweep(int L, bool write, unsigned grid_x, unsigned grid_y, const SweepArgs& a) {
    if (a.energy) {
        if (write) sweep_dispatch<1, 1>(L, grid_x, grid_y, a);
        else sweep_dispatch<0, 1>(L, grid_x, grid_y, a);
    } else {
        if (write) sweep_dispatch<1, 0>(L, grid_x, grid_y, a);
        else sweep_dispatch<0, 0>(L, grid_x, grid_y, a);
    }
}

void launch_bounds(const SearchView& v, double* phi, double* acc_ub) {
    go("bounds", eep_bounds, dim3(v.K, v.J + 1), dim3(32), v, phi, acc_ub);
}

void launch_first_layer(const SearchView& v, Cand* term, u64* term_flag, Label* lab, u64* lab_flag) {
    const u64 n = static_cast<u64>(v.K) * v.N * v.M;
    go("first layer", eep_first_layer, dim3(blocks_for(n)), dim3(kThreads), v, term, term_flag, lab, lab_flag);
}

void launch_prune(const SearchView& v, const Label* lab, u64 n, u64* flag) {
    go("prune", eep_prune, dim3(blocks_for(n)), dim3(kThreads), v, lab, n, flag);
}

void launch_scatter(const Cand* in, const u64* flag, const u64* offset, u64 n, Cand* out) {
    go("scatter", eep_scatter<Cand>, dim3(blocks_for(n)), dim3(kThreads), in, flag, offset, n, out);
}

void launch_scatter(const Label* in, const u64* flag, const u64* offset, u64 n, Label* out) {
    go("scatter", eep_scatter<Label>, dim3(blocks_for(n)), dim3(kThreads), in, flag, offset, n, out);
}

void launch_scatter_first(const Label* in, const u64* flag, const u64* offset, u64 n, u64 node_base, Label* out,
                          Node* nodes) {
    go("scatter first", eep_scatter_first, dim3(blocks_for(n)), dim3(kThreads), in, flag, offset, n, node_base, out,
       nodes);
}

void launch_histogram(const Label* lab, u64 n, int N, unsigned* counts) {
    go("histogram", eep_histogram, dim3(blocks_for(n)), dim3(kThreads), lab, n, N, counts);
}

void launch_generate(const SearchView& v, int L, const Label* lab, const Entry* entry, int n_entries, u64 n_slots,
                     Cand* term, u64* term_count, Cand* cand, u64* cand_count) {
    go("generate", eep_generate, dim3(blocks_for(n_slots)), dim3(kThreads), v, L, lab, entry, n_entries, n_slots,
       term, term_count, cand, cand_count);
}

void launch_extract(const Cand* c, u64 n, double* acc, u64* key) {
    go("extract", eep_extract, dim3(blocks_for(n)), dim3(kThreads), c, n, acc, key);
}

void launch_flag_terminals(const Cand* c, const double* pm, u64 n, u64* flag) {
    go("flag plans", eep_flag_terminals, dim3(blocks_for(n)), dim3(kThreads), c, pm, n, flag);
}

void launch_flag_labels(const u64* key, const double* acc, const double* pm, u64 n, u64* flag) {
    go("flag labels", eep_flag_labels, dim3(blocks_for(n)), dim3(kThreads), key, acc, pm, n, flag);
}

void launch_make_labels(const Cand* c, const u64* flag, const u64* offset, u64 n, int N, u64 label_base,
                        u64 node_base, Label* out, Node* nodes) {
    go("make labels", eep_make_labels, dim3(blocks_for(n)), dim3(kThreads), c, flag, offset, n, N, label_base,
       node_base, out, nodes);
}

void launch_reconstruct(const Cand* c, u64 n, const Node* nodes, int N, PlanRow* out) {
    go("reconstruct", eep_reconstruct, dim3(blocks_for(n)), dim3(kThreads), c, n, nodes, N, out);
}

void launch_fused(const FusedArgs& a, unsigned blocks) {
    go("fused search", eep_fused_search, dim3(blocks), dim3(kFusedThreads), a);
}

}  // namespace gpu
}  // namespace eepart
