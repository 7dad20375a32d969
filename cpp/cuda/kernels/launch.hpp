// Host-callable launchers of every kernel (launch.cu), so that the orchestration stays plain C++.
// All pointers are device pointers; launches are asynchronous on the default stream.
#pragma once

#include "fused_types.hpp"
#include "pareto_types.hpp"

namespace eepart {
namespace gpu {

// The six tables in device layout (kernels.cuh): compute_cost transposed to [p][q][a], accuracy [K][N].
struct DeviceTables {
    int N, M, K;
    const double *input, *compT, *fwd, *res, *cum, *acc;
};

// quantile 0: the mean latency; q > 0: the q-quantile, its tallies reaching theta (core/quantile.hpp).
void launch_evaluate(const DeviceTables& d, u64 n, int width, const long long* t, const long long* L,
                     const long long* P, const long long* A, double* lat, double* acc, double quantile, double theta);

struct SweepArgs {
    DeviceTables tb;
    const u64 *binom, *codes, *radix;
    const long long* ip;  // the launch descriptor (EEP_IP_* of kernels.cuh)
    double max_lat, min_acc;
    double quantile, theta;  // as launch_evaluate's
    u64* counts;
    const u64* offsets;
    u64 lo, hi;
    double *o_lat, *o_acc;
    int *o_t, *o_L, *o_P, *o_A;
    // The energy (the kernels' ENERGY instantiations) when energy is set: tb's cum and acc, energy tables
    // in the cost tables' places (TablesOnDevice::energy_view); rows kept at most max_energy, into o_energy.
    const DeviceTables* energy;
    double max_energy;
    double* o_energy;
};
// One launch of the count (write = false) or write pass for plans of L partitions: grid_x blocks of
// eight warps over the warp items, grid_y thresholds.
void launch_sweep(int L, bool write, unsigned grid_x, unsigned grid_y, const SweepArgs& a);
constexpr unsigned kSweepWarpsPerBlock = 8;

void launch_bounds(const SearchView& v, double* phi, double* acc_ub);
void launch_first_layer(const SearchView& v, Cand* term, u64* term_flag, Label* lab, u64* lab_flag);
void launch_prune(const SearchView& v, const Label* lab, u64 n, u64* flag);
void launch_scatter(const Cand* in, const u64* flag, const u64* offset, u64 n, Cand* out);
void launch_scatter(const Label* in, const u64* flag, const u64* offset, u64 n, Label* out);
void launch_scatter_first(const Label* in, const u64* flag, const u64* offset, u64 n, u64 node_base, Label* out,
                          Node* nodes);
void launch_histogram(const Label* lab, u64 n, int N, unsigned* counts);
void launch_generate(const SearchView& v, int L, const Label* lab, const Entry* entry, int n_entries, u64 n_slots,
                     Cand* term, u64* term_count, Cand* cand, u64* cand_count);
void launch_extract(const Cand* c, u64 n, double* acc, u64* key);
void launch_flag_terminals(const Cand* c, const double* pm, u64 n, u64* flag);
void launch_flag_labels(const u64* key, const double* acc, const double* pm, u64 n, u64* flag);
void launch_make_labels(const Cand* c, const u64* flag, const u64* offset, u64 n, int N, u64 label_base,
                        u64 node_base, Label* out, Node* nodes);
void launch_reconstruct(const Cand* c, u64 n, const Node* nodes, int N, PlanRow* out);
// The one-launch search: `blocks` blocks of kFusedThreads, each taking thresholds blockIdx.x + k * blocks.
void launch_fused(const FusedArgs& a, unsigned blocks);

}  // namespace gpu
}  // namespace eepart
