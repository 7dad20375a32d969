// Device code of the exact Pareto search (cuda_pareto.cpp runs it). The search is the CPU's
// (cpp/core/search/): labels (partial plans) per state (last block q, tier a, tiers used), built one
// partition at a time for every threshold at once; dominance within a state; branch and bound against
// the frontier found so far, with the same relaxed bounds (core/search/bounds_math.hpp, the CPU's own
// arithmetic). Every sum of a plan is taken in the model's canonical order with __dadd_rn / __dmul_rn,
// so the points returned are bit for bit those `evaluate` gives.
#pragma once

#include "pareto_types.hpp"
#include "search/bounds_math.hpp"
#include "tables.hpp"

namespace eepart {
namespace gpu {

// A complete plan worth keeping: inside the bounds, and not weakly dominated by a point found, unless
// it ties that point exactly (the host then keeps the configuration first in canonical order).
__device__ __forceinline__ bool eep_terminal_keeps(const double* F_lat, const double* F_acc, int nF, double min_acc,
                                                   double max_lat, double lat, double acc) {
    if (!(lat <= max_lat && acc >= min_acc)) return false;
    const int i = last_at_or_before(F_lat, nF, lat);
    if (i < 0 || F_acc[i] < acc) return true;
    return F_lat[i] == lat && F_acc[i] == acc;
}

__device__ __forceinline__ bool eep_terminal_keeps(const SearchView& v, double lat, double acc) {
    return eep_terminal_keeps(v.F_lat, v.F_acc, v.nF, v.min_acc, v.max_lat, lat, acc);
}

__device__ __forceinline__ bool eep_label_dominated(const SearchView& v, int t, int q, int a, double lat, double acc) {
    const eep_u64 stride = (eep_u64)(v.N + 1) * v.M;
    const eep_u64 s = (eep_u64)t * stride + (eep_u64)q * v.M + a;
    return completions_dominated(v.F_lat, v.F_acc, v.nF, lat, acc, 0.0, v.phi + s, (eep_u64)v.K * stride,
                                 v.acc_ub[(eep_u64)t * (v.N + 1) + q], v.lam, v.slack, v.J, v.min_acc, v.max_lat);
}

// The relaxed backward programmes of the CPU search (core/search/bounds.cpp, its cells from bounds_math.hpp),
// one block per (threshold, lambda), one thread per tier; block (t, 0) also fills the accuracy bound.
__global__ void eep_bounds(SearchView v, double* phi, double* acc_ub) {
    const int t = (int)blockIdx.x, j = (int)blockIdx.y, tid = (int)threadIdx.x;
    const int N = v.N, M = v.M;
    const double lambda = j == 0 ? 0.0 : v.lam[j - 1];
    double* ph = phi + ((eep_u64)j * v.K + t) * (eep_u64)(N + 1) * M;
    const double* c = v.cum + (eep_u64)t * (N + 1);
    __shared__ double psi[kMaxTiers];
    if (tid < M) {
        ph[tid] = kBoundInf;
        ph[(eep_u64)N * M + tid] = kBoundInf;
    }
    __syncthreads();
    for (int q = N - 1; q >= 1; --q) {
        const double Sq = 1.0 - c[q];
        if (tid < M) {
            const int b = tid;
            const double rb = v.res[b];
            double best = kBoundInf;
            for (int q2 = q + 1; q2 <= N; ++q2) {
                const double r = exit_term(rb, lambda, v.acc[(eep_u64)t * N + q2 - 1]);
                best = psi_step(best, Sq, c[q2] - c[q], r, Sq * v.compT[((eep_u64)q * (N + 1) + q2) * M + b],
                                ph[(eep_u64)q2 * M + b], q2 == N);
            }
            psi[b] = best;
        }
        __syncthreads();
        if (tid < M) {
            const int a = tid;
            double best = kBoundInf;
            for (int b = 0; b < M; ++b)
                if (b != a) best = phi_step(best, Sq, v.fwd[((eep_u64)(q - 1) * M + a) * M + b], psi[b]);
            ph[(eep_u64)q * M + a] = best;
        }
        __syncthreads();
    }
    if (j == 0 && tid == 0) {
        double* ub = acc_ub + (eep_u64)t * (N + 1);
        ub[0] = 0.0;
        ub[N] = 0.0;
        for (int q = N - 1; q >= 1; --q) {
            const double Sq = 1.0 - c[q];
            double best = 0.0;
            for (int q2 = q + 1; q2 <= N; ++q2)
                best = acc_ub_step(best, Sq, c[q2] - c[q], v.acc[(eep_u64)t * N + q2 - 1], ub[q2], q2 == N);
            ub[q] = best;
        }
    }
}

// One-partition plans, one thread per (t, q, b), written densely with a keep flag each: the complete
// plan, and (when longer plans exist and q < N) the label that goes on.
__global__ void eep_first_layer(SearchView v, Cand* term, eep_u64* term_flag, Label* lab, eep_u64* lab_flag) {
    const eep_u64 i = (eep_u64)blockIdx.x * blockDim.x + threadIdx.x;
    const int N = v.N, M = v.M;
    if (i >= (eep_u64)v.K * N * M) return;
    const int t = (int)(i / ((eep_u64)N * M));
    const int r = (int)(i % ((eep_u64)N * M));
    const int q = r / M + 1, b = r % M;
    const double* c = v.cum + (eep_u64)t * (N + 1);
    const double S0 = 1.0 - c[0];
    const double accq = v.acc[(eep_u64)t * N + q - 1];
    // lat = input; lat += in_1 * compute; lat += E_1 * result (in_1 = 1 - c_0)
    const double x = eep_add(v.input[b], eep_mul(S0, v.compT[(eep_u64)q * M + b]));
    const double tl = eep_add(x, eep_mul(S0, v.res[b]));
    const double ta = eep_add(0.0, eep_mul(accq, S0));
    Cand ct;
    ct.key = (((eep_u64)t * (N + 1) + q) << 4) | (eep_u64)b;
    ct.lat = tl;
    ct.acc = ta;
    ct.parent = kNoParent;
    ct.pad = 0;
    term[i] = ct;
    term_flag[i] = eep_terminal_keeps(v, tl, ta) ? 1ULL : 0ULL;
    if (v.Lmax > 1 && q < N) {
        const double E = c[q] - c[0];
        Label l;
        l.lat = eep_add(x, eep_mul(E, v.res[b]));
        l.acc = eep_add(0.0, eep_mul(accq, E));
        l.node = kNoParent;
        l.used = 1u << b;
        l.t = t;
        l.p = q;
        l.a = b;
        l.pad = 0;
        lab[i] = l;
        lab_flag[i] = 1ULL;
    } else {
        lab_flag[i] = 0ULL;
    }
}

// Keeps the labels whose completions the frontier does not already dominate.
__global__ void eep_prune(SearchView v, const Label* lab, eep_u64 n, eep_u64* flag) {
    const eep_u64 i = (eep_u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const Label l = lab[i];
    flag[i] = eep_label_dominated(v, l.t, l.p, l.a, l.lat, l.acc) ? 0ULL : 1ULL;
}

// Stable compaction: out[offset[i]] = in[i] where flag[i] (offset = exclusive sum of the flags).
template <class T>
__global__ void eep_scatter(const T* in, const eep_u64* flag, const eep_u64* offset, eep_u64 n, T* out) {
    const eep_u64 i = (eep_u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n && flag[i]) out[offset[i]] = in[i];
}

// Compaction of first-layer labels, each given its arena node.
__global__ void eep_scatter_first(const Label* in, const eep_u64* flag, const eep_u64* offset, eep_u64 n,
                                  eep_u64 node_base, Label* out, Node* nodes) {
    const eep_u64 i = (eep_u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n || !flag[i]) return;
    const eep_u64 o = offset[i];
    Label l = in[i];
    l.node = (u32)(node_base + o);
    out[o] = l;
    Node nd;
    nd.parent = kNoParent;
    nd.q = (unsigned short)l.p;
    nd.tier = (unsigned char)l.a;
    nd.pad = 0;
    nodes[node_base + o] = nd;
}

// Labels per (threshold, last block), for the host to plan the next layer.
__global__ void eep_histogram(const Label* lab, eep_u64 n, int N, unsigned* counts) {
    const eep_u64 i = (eep_u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) atomicAdd(&counts[(eep_u64)lab[i].t * (N + 1) + lab[i].p], 1u);
}

// Reserves one slot per lane that asks, one atomic per warp. Every lane of the warp must call it.
__device__ __forceinline__ eep_u64 eep_append(eep_u64* counter, bool want) {
    const unsigned ballot = __ballot_sync(EEP_FULL_MASK, want);
    if (ballot == 0) return 0;
    const int lane = (int)(threadIdx.x & 31u);
    const int leader = __ffs(ballot) - 1;
    eep_u64 base = 0;
    if (lane == leader) base = atomicAdd(counter, (eep_u64)__popc(ballot));
    base = __shfl_sync(EEP_FULL_MASK, base, leader);
    return base + (eep_u64)__popc(ballot & ((1u << lane) - 1u));
}

__device__ __forceinline__ int eep_nth_free(unsigned used, int s, int M) {
    for (int m = 0; m < M; ++m) {
        if (!((used >> m) & 1u)) {
            if (s == 0) return m;
            --s;
        }
    }
    return -1;
}

// One more partition for the labels of layer L (plans of L partitions): thread g of the chunk is one
// (label, free tier b, next end q). Entry e of the chunk covers threshold e.t and end e.q: the labels
// [e.lab, e.lab + (slots of e) / F) of that threshold, all with p < q, F = M - L free tiers each. The complete plan and the label that goes on are appended where they survive the bounds.
__global__ void __launch_bounds__(256)
    eep_generate(SearchView v, int L, const Label* lab, const Entry* entry, int n_entries, eep_u64 n_slots,
                 Cand* term, eep_u64* term_count, Cand* cand, eep_u64* cand_count) {
    const eep_u64 g = (eep_u64)blockIdx.x * blockDim.x + threadIdx.x;
    const int N = v.N, M = v.M;
    bool want_t = false, want_c = false;
    Cand ct, cc;
    if (g < n_slots) {
        int lo = 0, hi = n_entries;
        while (hi - lo > 1) {
            const int mid = (lo + hi) >> 1;
            if (entry[mid].slot <= g) lo = mid;
            else hi = mid;
        }
        const eep_u64 F = (eep_u64)(M - L);
        const Entry e = entry[lo];
        const eep_u64 local = g - e.slot;
        const Label l = lab[e.lab + local / F];
        const int b = eep_nth_free(l.used, (int)(local % F), M);
        const int t = e.t, q = e.q, p = l.p, a = l.a;
        const double* c = v.cum + (eep_u64)t * (N + 1);
        const double Sp = 1.0 - c[p];
        const double E = c[q] - c[p];
        const double accq = v.acc[(eep_u64)t * N + q - 1];
        // lat += S_k forward; lat += in_{k+1} compute; lat += E_{k+1} result (in_{k+1} = S_k = 1 - c_p)
        const double sf = eep_mul(Sp, v.fwd[((eep_u64)(p - 1) * M + a) * M + b]);
        const double sc = eep_mul(Sp, v.compT[((eep_u64)p * (N + 1) + q) * M + b]);
        const double x = eep_add(eep_add(l.lat, sf), sc);
        const double tl = eep_add(x, eep_mul(Sp, v.res[b]));
        const double ta = eep_add(l.acc, eep_mul(accq, Sp));
        if (eep_terminal_keeps(v, tl, ta)) {
            want_t = true;
            ct.key = (((eep_u64)t * (N + 1) + q) << 4) | (eep_u64)b;
            ct.lat = tl;
            ct.acc = ta;
            ct.parent = l.node;
            ct.pad = 0;
        }
        if (L + 1 < v.Lmax && q < N) {
            const double cl = eep_add(x, eep_mul(E, v.res[b]));
            const double ca = eep_add(l.acc, eep_mul(accq, E));
            if (!eep_label_dominated(v, t, q, b, cl, ca)) {
                want_c = true;
                const unsigned used = l.used | (1u << b);
                cc.key = (((eep_u64)t * (N + 1) + q) << 20) | ((eep_u64)used << 4) | (eep_u64)b;
                cc.lat = cl;
                cc.acc = ca;
                cc.parent = l.node;
                cc.pad = 0;
            }
        }
    }
    const eep_u64 pt = eep_append(term_count, want_t);
    if (want_t) term[pt] = ct;
    const eep_u64 pc = eep_append(cand_count, want_c);
    if (want_c) cand[pc] = cc;
}

__global__ void eep_extract(const Cand* c, eep_u64 n, double* acc, eep_u64* key) {
    const eep_u64 i = (eep_u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    acc[i] = c[i].acc;
    key[i] = c[i].key;
}

// Sorted by latency rising, accuracy falling: a plan is on the batch's staircase when it is more accurate
// than every plan before it (pm: running maximum of the accuracy). Exact repeats of the plan before are
// kept too, so that the host can keep the configuration first in canonical order (it drops the rest).
__global__ void eep_flag_terminals(const Cand* c, const double* pm, eep_u64 n, eep_u64* flag) {
    const eep_u64 i = (eep_u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    bool keep = i == 0 || c[i].acc > pm[i - 1];
    if (!keep) keep = c[i].acc == pm[i - 1] && c[i].acc == c[i - 1].acc && c[i].lat == c[i - 1].lat;
    flag[i] = keep ? 1ULL : 0ULL;
}

// Sorted by state, then latency rising, accuracy falling: the same within each state (pm runs per key).
__global__ void eep_flag_labels(const eep_u64* key, const double* acc, const double* pm, eep_u64 n,
                                eep_u64* flag) {
    const eep_u64 i = (eep_u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) flag[i] = (i == 0 || key[i] != key[i - 1] || acc[i] > pm[i - 1]) ? 1ULL : 0ULL;
}

// The kept candidates become the next layer's labels, each with its arena node.
__global__ void eep_make_labels(const Cand* c, const eep_u64* flag, const eep_u64* offset, eep_u64 n, int N,
                                eep_u64 label_base, eep_u64 node_base, Label* out, Node* nodes) {
    const eep_u64 i = (eep_u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n || !flag[i]) return;
    const eep_u64 o = offset[i];
    const Cand x = c[i];
    const eep_u64 tq = x.key >> 20;
    Label l;
    l.lat = x.lat;
    l.acc = x.acc;
    l.node = (u32)(node_base + o);
    l.used = (unsigned)((x.key >> 4) & 0xffffULL);
    l.t = (int)(tq / (eep_u64)(N + 1));
    l.p = (int)(tq % (eep_u64)(N + 1));
    l.a = (int)(x.key & 15ULL);
    l.pad = 0;
    out[label_base + o] = l;
    Node nd;
    nd.parent = x.parent;
    nd.q = (unsigned short)l.p;
    nd.tier = (unsigned char)l.a;
    nd.pad = 0;
    nodes[node_base + o] = nd;
}

// The configuration of each complete plan, read back through the arena.
__global__ void eep_reconstruct(const Cand* c, eep_u64 n, const Node* nodes, int N, PlanRow* out) {
    const eep_u64 i = (eep_u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const Cand x = c[i];
    const eep_u64 tq = x.key >> 4;
    int rq[16], ra[16];
    int L = 0;
    rq[0] = (int)(tq % (eep_u64)(N + 1));
    ra[0] = (int)(x.key & 15ULL);
    L = 1;
    for (u32 nd = x.parent; nd != kNoParent && L < 16; nd = nodes[nd].parent) {
        rq[L] = nodes[nd].q;
        ra[L] = nodes[nd].tier;
        ++L;
    }
    PlanRow& r = out[i];
    r.lat = x.lat;
    r.acc = x.acc;
    r.t = (int)(tq / (eep_u64)(N + 1));
    r.L = L;
    for (int k = 0; k < 16; ++k) {
        r.P[k] = k < L ? rq[L - 1 - k] : -1;
        r.A[k] = k < L ? ra[L - 1 - k] : -1;
    }
}

}  // namespace gpu
}  // namespace eepart
