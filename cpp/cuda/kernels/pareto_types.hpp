// Records the GPU Pareto search keeps in device memory; plain data shared by host and device code.
#pragma once

#include "host_device.hpp"

namespace eepart {
namespace gpu {

typedef unsigned long long u64;
typedef unsigned int u32;

constexpr u32 kNoParent = 0xffffffffu;

// A partial plan that will continue: its last partition ends at block p on tier a, tiers `used` so far.
// lat and acc are every term it owes already, summed in the model's canonical order. `node` is its entry in
// the arena, from which the configuration is read back.
struct Label {
    double lat, acc;
    u32 node, used;
    int t, p, a, pad;
};

// The arena: each partition of each kept label, pointing at the partition before it.
struct Node {
    u32 parent;
    unsigned short q;
    unsigned char tier, pad;
};

// A candidate label or complete plan. Labels: key = ((t*(N+1)+q) << 20) | (used << 4) | tier, where
// used includes the tier. Complete plans: key = ((t*(N+1)+q) << 4) | tier. (key, parent) is unique.
struct Cand {
    u64 key;
    double lat, acc;
    u32 parent, pad;
};

// A run of labels of one threshold, all ending before q, in one chunk of the next layer: its candidates
// are slots [slot, slot + (labels) * (M - L)) of the chunk, its labels start at `lab`.
struct Entry {
    u64 slot, lab;
    int t, q;
};

// A complete plan read back to the host: its point and configuration (L partitions, the rest unused).
struct PlanRow {
    double lat, acc;
    int t, L;
    int P[16], A[16];
};

// The bounds and the frontier found so far, as every kernel of the search reads them (device pointers).
struct SearchView {
    int N, M, K, Lmax, J;
    const double *input, *compT, *fwd, *res, *cum, *acc;  // acc: [K][N], a row per threshold
    const double* phi;     // [(J+1)][K][N+1][M]: j = 0 bounds added latency, j > 0 added lat - lam_j acc
    const double* acc_ub;  // [K][N+1]: added accuracy
    const double* lam;     // [J]
    const double* slack;   // [J+1]
    const double *F_lat, *F_acc;  // the frontier found so far: latency and accuracy strictly rising
    int nF;
    double min_acc, max_lat;
};


// Sort orders: labels by state, then latency rising, accuracy falling; complete plans by latency
// rising, accuracy falling. Ties end on (key, parent), so the order is total and the result does not
// depend on the order candidates were appended in.
struct LabelOrder {
    EEP_HD bool operator()(const Cand& x, const Cand& y) const {
        if (x.key != y.key) return x.key < y.key;
        if (x.lat != y.lat) return x.lat < y.lat;
        if (x.acc != y.acc) return x.acc > y.acc;
        return x.parent < y.parent;
    }
};

struct TerminalOrder {
    EEP_HD bool operator()(const Cand& x, const Cand& y) const {
        if (x.lat != y.lat) return x.lat < y.lat;
        if (x.acc != y.acc) return x.acc > y.acc;
        if (x.key != y.key) return x.key < y.key;
        return x.parent < y.parent;
    }
};

}  // namespace gpu
}  // namespace eepart
