// The exact Pareto search in one launch: each block takes a threshold at a time (the next one free)
// and searches it alone, from the relaxed bounds to its staircase, in a scratch region of its own, with no trip to the host between
// layers. It is the CPU's search (cpp/core/search/) (labels per state, dominance within a state, branch and bound with
// the same relaxed bounds and the same per-next-tier test), laid out for a block of threads:
//   bounds     the backward programmes, one step per block q, the ends q' spread over a group of lanes;
//   layer L    a scan over the labels gives each (label, next end q, next tier b) that the bounds leave
//              a slot; one thread per slot forms the complete plan and the label that goes on, and keeps
//              each where the staircase found so far (or the bound) does not rule it out;
//   plans      sorted (latency rising, accuracy falling, ties in canonical order) and merged into the
//              staircase, whose running maximum of accuracy says which points stay;
//   labels     sorted by state, and a running maximum per state keeps those no other label dominates.
// The layer starts from one root label, the empty plan, whose slots are the single-partition plans.
// Sorts order indices in shared memory; the records stay where they are, read through the L1 cache.
// Beside the CPU's search, what is left out, as pruning that does not pay for its barriers here: the dominance
// of a label by one with a subset of its tiers, and the lambdas from the single-partition hull (these
// are multiples of the whole network's latency, as in the layered search). Neither changes the answer.
// Every sum is the CPU search's, in the model's canonical order with __dadd_rn / __dmul_rn: the points are bit
// for bit those `evaluate` gives. A block that runs out of room (FusedRoom) stops and says so in the
// header; the host then runs the layered search (cuda_pareto.cpp), which has no such limit.
#pragma once

#include "block_primitives.cuh"
#include "fused_types.hpp"
#include "pareto_kernels.cuh"

namespace eepart {
namespace gpu {

struct FusedShared {
    u32 n_cur, n_cand, n_term, n_stair, n_nodes;
    int cur, cc;  // which of lab[2] holds the layer, which of cand[2] the gathered candidates
    int stop;     // out of room, or cancelled
    u64 labels, candidates, terminals;
};

__device__ __forceinline__ double eepf_fwd(const FusedArgs& A, int q, int a, int b) {
    return A.fwd[((u64)(q - 1) * A.M + a) * A.M + b];
}
__device__ __forceinline__ double eepf_comp(const FusedArgs& A, int b, int p, int q) {
    return A.comp[((u64)b * (A.N + 1) + p) * (A.N + 1) + q];
}

// The configuration of a plan whose last partition is `leaf` ((q << 4) | tier, and the node before):
// P and A in order, returns L.
__device__ int eepf_config(const Node* nodes, u64 key, u32 parent, int* P, int* A) {
    int rq[16], ra[16], L = 0;
    rq[L] = (int)(key >> 4);
    ra[L++] = (int)(key & 15u);
    for (u32 nd = parent; nd != kNoParent && L < 16; nd = nodes[nd].parent) {
        rq[L] = nodes[nd].q;
        ra[L++] = nodes[nd].tier;
    }
    for (int k = 0; k < L; ++k) P[k] = rq[L - 1 - k], A[k] = ra[L - 1 - k];
    return L;
}

// Two complete plans of one threshold in the sweep's canonical order: L, then P, then A.
__device__ bool eepf_canonical_less(const Node* nodes, const Cand& x, const Cand& y) {
    int xP[16], xA[16], yP[16], yA[16];
    const int xL = eepf_config(nodes, x.key, x.parent, xP, xA);
    const int yL = eepf_config(nodes, y.key, y.parent, yP, yA);
    if (xL != yL) return xL < yL;
    for (int k = 0; k < xL; ++k)
        if (xP[k] != yP[k]) return xP[k] < yP[k];
    for (int k = 0; k < xL; ++k)
        if (xA[k] != yA[k]) return xA[k] < yA[k];
    return false;
}

// Complete plans: latency rising, accuracy falling, exact ties in canonical order (the staircase keeps
// the first of a tie, as the CPU search does).
struct EepfPlanLess {
    const Node* nodes;
    __device__ bool operator()(const Cand& x, const Cand& y) const {
        if (x.lat != y.lat) return x.lat < y.lat;
        if (x.acc != y.acc) return x.acc > y.acc;
        return eepf_canonical_less(nodes, x, y);
    }
};

// Is every completion of a partial plan (lat, acc) ending at q dominated, given lower bounds `bound` (one
// per lambda lane) on what its completions add beyond `add`? bounds_math.hpp's test on this block's region.
__device__ __forceinline__ bool eepf_dominated(const FusedArgs& A, const FusedRegion& R, const double* lam,
                                               const double* slack, int nF, double lat, double acc, int q, double add,
                                               const double* bound) {
    return completions_dominated(R.F_lat, R.F_acc, nF, lat, acc, add, bound, 1, R.acc_ub[q], lam, slack, A.J,
                                 A.min_acc, A.max_lat);
}

// One slot per asking lane of the warp, from a counter in shared memory. Every lane must call it.
__device__ __forceinline__ u32 eepf_append(u32* counter, bool want) {
    const unsigned ballot = __ballot_sync(0xffffffffu, want);
    if (ballot == 0) return 0;
    const int lane = (int)(threadIdx.x & 31u);
    const int leader = __ffs((int)ballot) - 1;
    u32 base = 0;
    if (lane == leader) base = atomicAdd(counter, (u32)__popc(ballot));
    base = __shfl_sync(0xffffffffu, base, leader);
    return base + (u32)__popc(ballot & ((1u << lane) - 1u));
}

// core/search/bounds.cpp's RelaxedBounds::compute for threshold (c, S), its cells from bounds_math.hpp:
// phi, psi and acc_ub of this block's region. One step per block q, from N - 1 down, and one barrier per
// step: lane (b, j) takes phi(q + 1, b, j) from the psi of the step before (kept in shared memory, two
// buffers by parity) at the start of step q, where it needs it first, instead of in a phase of its own.
__device__ void eepf_bounds(const FusedArgs& A, const FusedRegion& R, int t, const double* c, const double* S,
                            const double* lam) {
    const int N = A.N, M = A.M, W = A.J + 1, lanes = M * W;
    const double* acc = A.acc + (u64)t * N;  // this threshold's row
    const int tid = (int)threadIdx.x, nthreads = (int)blockDim.x;
    int G = 1;  // lanes of one group, which splits the ends q' of one (tier, lambda) lane
    while (G < 32 && 2 * G * lanes <= nthreads) G *= 2;
    const int lane_id = tid / G, g = tid % G;
    const bool active = lane_id < lanes;
    const int b = active ? lane_id / W : 0, j = active ? lane_id % W : 0;
    const double lambda = j == 0 ? 0.0 : lam[j - 1];
    __shared__ double psi_at[2][kMaxTiers * kBoundLanes];  // psi of the step before and of this one
    auto phi_of = [&](int q, int a, int jj, const double* psi) {
        double out = kBoundInf;
        for (int bb = 0; bb < M; ++bb)
            if (bb != a) out = phi_step(out, S[q], eepf_fwd(A, q, a, bb), psi[bb * W + jj]);
        return out;
    };
    for (int i = tid; i < M * W; i += nthreads) {
        R.phi[(u64)N * M * W + i] = kBoundInf;
        R.psi[(u64)N * M * W + i] = kBoundInf;
    }
    if (tid == 0) R.acc_ub[0] = 0.0, R.acc_ub[N] = 0.0;
    __syncthreads();
    const bool acc_warp = tid >= nthreads - 32;
    for (int q = N - 1; q >= 1; --q) {
        const double Sq = S[q];
        double best = kBoundInf;
        if (active) {
            double phi_next = kBoundInf;  // phi(q + 1, b, j), for the end q' = q + 1 (group lane 0)
            if (g == 0 && q + 1 < N) {
                phi_next = phi_of(q + 1, b, j, psi_at[(q + 1) & 1]);
                R.phi[((u64)(q + 1) * M + b) * W + j] = phi_next;
            }
            const double rb = A.res[b];
            for (int q2 = q + 1 + g; q2 <= N; q2 += G) {
                const double r = exit_term(rb, lambda, acc[q2 - 1]);
                const double next = q2 == q + 1 ? phi_next : R.phi[((u64)q2 * M + b) * W + j];
                best = psi_step(best, Sq, c[q2] - c[q], r, Sq * eepf_comp(A, b, q, q2), next, q2 == N);
            }
        }
        for (int d = G / 2; d >= 1; d >>= 1) best = bound_min(best, __shfl_down_sync(0xffffffffu, best, d));
        if (active && g == 0) {
            psi_at[q & 1][lane_id] = best;
            R.psi[((u64)q * M + b) * W + j] = best;
        }
        if (acc_warp) {  // the most accuracy the samples still in at q can add, relaxed likewise
            const int lane = tid & 31;
            double top = 0.0;
            for (int q2 = q + 1 + lane; q2 <= N; q2 += 32)
                top = acc_ub_step(top, Sq, c[q2] - c[q], acc[q2 - 1], R.acc_ub[q2], q2 == N);
            for (int d = 16; d >= 1; d >>= 1) top = bound_max(top, __shfl_down_sync(0xffffffffu, top, d));
            if (lane == 0) R.acc_ub[q] = top;
        }
        __syncthreads();
    }
    if (tid < lanes && N > 1) R.phi[((u64)1 * M + tid / W) * W + tid % W] = phi_of(1, tid / W, tid % W, psi_at[1]);
    __syncthreads();
}

// Adds the clock cycles since `since` to a phase's header word (from thread 0), and returns the clock.
__device__ __forceinline__ long long eepf_lap(const FusedArgs& A, int word, long long since) {
    const long long now = clock64();
    if (threadIdx.x == 0) atomicAdd(&A.header[word], (u64)(now - since));
    return now;
}

// Stops the block: out of room (the host falls back) or cancelled. Call from one thread.
__device__ __forceinline__ void eepf_stop(const FusedArgs& A, FusedShared& sh, int word) {
    if (!sh.stop) atomicAdd(&A.header[word], 1ULL);
    sh.stop = 1;
}

// How many of the sorted at(0), .., at(n - 1) come before x (after: also those equal to x). A merge
// counts equals on one side only, so that no two records ever take one place.
template <class At, class Less>
__device__ __forceinline__ u32 eepf_rank(const At& at, u32 n, const Cand& x, const Less& less, bool after) {
    u32 lo = 0, hi = n;
    while (lo < hi) {
        const u32 mid = (lo + hi) >> 1;
        if (after ? !less(x, at(mid)) : less(at(mid), x)) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

// The order of a[0, n) by `less`: indices sorted in shared memory (`order`), or, for more than
// room.sort records, a itself sorted in place (null returned: the order is a's own).
template <class Less>
__device__ const u32* eepf_order(const FusedRoom& room, Cand* a, u32 n, const Less& less, u32* order) {
    if (n <= room.sort) {
        eepb_sort_indices(order, n, [&](u32 x, u32 y) { return less(a[x], a[y]); });
        return order;
    }
    eepb_sort(a, n, less);
    return nullptr;
}

// Merges the gathered complete plans into the staircase.
__device__ void eepf_merge_plans(const FusedArgs& A, const FusedRegion& R, FusedShared& sh, u32* order) {
    __syncthreads();
    const u32 nt = sh.n_term, ns = sh.n_stair;
    if (nt == 0) return;
    const EepfPlanLess less{R.nodes};
    const u32* ord = eepf_order(A.room, R.term, nt, less, order);
    const auto plan = [&](u32 i) -> const Cand& { return R.term[ord ? ord[i] : i]; };
    const auto point = [&](u32 i) -> const Cand& { return R.stair[i]; };
    for (u32 i = threadIdx.x; i < nt; i += blockDim.x) R.merged[i + eepf_rank(point, ns, plan(i), less, true)] = plan(i);
    for (u32 i = threadIdx.x; i < ns; i += blockDim.x)
        R.merged[i + eepf_rank(plan, nt, R.stair[i], less, false)] = R.stair[i];
    __syncthreads();
    const u32 n = nt + ns;
    eepb_segmented_max(n, [](u32) { return false; }, [&](u32 i) { return R.merged[i].acc; }, R.pm);
    const u32 kept = eepb_exclusive_sum(
        n, [&](u32 i) { return (i == 0 || R.merged[i].acc > R.pm[i - 1]) ? 1u : 0u; }, R.keep_off);
    if (kept > A.room.stair) {
        if (threadIdx.x == 0) eepf_stop(A, sh, kHeaderOutOfRoom);
        __syncthreads();
        return;
    }
    for (u32 i = threadIdx.x; i < n; i += blockDim.x) {
        if (!(i == 0 || R.merged[i].acc > R.pm[i - 1])) continue;
        const u32 k = R.keep_off[i];
        const Cand x = R.merged[i];
        R.stair[k] = x;
        R.F_lat[k] = x.lat;
        R.F_acc[k] = x.acc;
    }
    __syncthreads();
    if (threadIdx.x == 0) sh.n_stair = kept, sh.n_term = 0;
    __syncthreads();
}

// Keeps the gathered candidates that no other of their state weakly dominates, in the other buffer of
// the pair (core/search/labels.cpp's keep_nondominated, all states at once).
__device__ void eepf_compact_candidates(const FusedRoom& room, const FusedRegion& R, FusedShared& sh, u32* order) {
    __syncthreads();
    const u32 n = sh.n_cand;
    Cand* in = R.cand[sh.cc];
    Cand* out = R.cand[sh.cc ^ 1];
    const u32* ord = eepf_order(room, in, n, LabelOrder(), order);
    const auto cand = [&](u32 i) -> const Cand& { return in[ord ? ord[i] : i]; };
    eepb_segmented_max(n, [&](u32 i) { return cand(i).key != cand(i - 1).key; }, [&](u32 i) { return cand(i).acc; }, R.pm);
    for (u32 i = threadIdx.x; i < n; i += blockDim.x)
        R.flag[i] = (i == 0 || cand(i).key != cand(i - 1).key || cand(i).acc > R.pm[i - 1]) ? 1u : 0u;
    __syncthreads();
    const u32 kept = eepb_exclusive_sum(n, [&](u32 i) { return R.flag[i]; }, R.keep_off);
    for (u32 i = threadIdx.x; i < n; i += blockDim.x)
        if (R.flag[i]) out[R.keep_off[i]] = cand(i);
    __syncthreads();
    if (threadIdx.x == 0) sh.n_cand = kept, sh.cc ^= 1, sh.candidates += n;
    __syncthreads();
}

// The gathered candidates become the next layer's labels, each with its node.
__device__ void eepf_next_layer(const FusedArgs& A, const FusedRegion& R, FusedShared& sh, int t, u32* order) {
    eepf_compact_candidates(A.room, R, sh, order);
    const u32 n = sh.n_cand, base = sh.n_nodes;
    if (base + n > A.room.nodes) {
        if (threadIdx.x == 0) eepf_stop(A, sh, kHeaderOutOfRoom);
        __syncthreads();
        return;
    }
    const Cand* in = R.cand[sh.cc];
    Label* out = R.lab[sh.cur ^ 1];
    for (u32 i = threadIdx.x; i < n; i += blockDim.x) {
        const Cand x = in[i];
        Label l;
        l.lat = x.lat;
        l.acc = x.acc;
        l.node = base + i;
        l.used = (u32)((x.key >> 4) & 0xffffu);
        l.t = t;
        l.p = (int)(x.key >> 20);
        l.a = (int)(x.key & 15u);
        l.pad = 0;
        out[i] = l;
        Node nd;
        nd.parent = x.parent;
        nd.q = (unsigned short)l.p;
        nd.tier = (unsigned char)l.a;
        nd.pad = 0;
        R.nodes[base + i] = nd;
    }
    __syncthreads();
    if (threadIdx.x == 0) sh.n_cur = n, sh.cur ^= 1, sh.n_nodes = base + n, sh.labels += n, sh.n_cand = 0;
    __syncthreads();
}

// The slots [s0, s1) of the layer: complete plans and next labels that the bounds leave.
__device__ void eepf_generate(const FusedArgs& A, const FusedRegion& R, FusedShared& sh, int t, const double* c,
                              const double* S, const double* lam, const double* slack, u32 s0, u32 s1, bool cont) {
    const int N = A.N, M = A.M, W = A.J + 1;
    const double* acc = A.acc + (u64)t * N;  // this threshold's row
    const u32 n_cur = sh.n_cur;
    const int nF = (int)sh.n_stair;
    const Label* cur = R.lab[sh.cur];
    Cand* cand = R.cand[sh.cc];
    for (u32 base = s0; base < s1; base += blockDim.x) {  // the same number of rounds for every lane
        const u32 g = base + threadIdx.x;
        bool want_t = false, want_c = false;
        Cand ct, cc;
        if (g < s1) {
            u32 lo = 0, hi = n_cur;  // the last label whose first slot is at or before g
            while (hi - lo > 1) {
                const u32 mid = (lo + hi) >> 1;
                if (R.off[mid] <= g) lo = mid;
                else hi = mid;
            }
            const Label l = cur[lo];
            const u32 mask = R.mask[lo];
            const u32 nb = (u32)__popc(mask), local = g - R.off[lo];
            const int q = l.p + 1 + (int)(local / nb);
            int b = 0;
            for (u32 s = local % nb, m = mask;; m &= m - 1u) {
                if (s-- == 0) {
                    b = __ffs((int)m) - 1;
                    break;
                }
            }
            const int p = l.p;
            const double Sp = S[p], E = c[q] - c[p], accq = acc[q - 1];
            // lat += S_k forward (the input, for the first partition); lat += in_{k+1} compute; then
            // E_{k+1} result, or S_k result when this partition is the last (in_{k+1} = S_k = 1 - c_p)
            const double sf = p == 0 ? A.input[b] : eep_mul(Sp, eepf_fwd(A, p, l.a, b));
            const double x = eep_add(eep_add(l.lat, sf), eep_mul(Sp, eepf_comp(A, b, p, q)));
            const double tl = eep_add(x, eep_mul(Sp, A.res[b]));
            const double ta = eep_add(l.acc, eep_mul(accq, Sp));
            if (eep_terminal_keeps(R.F_lat, R.F_acc, nF, A.min_acc, A.max_lat, tl, ta)) {
                want_t = true;
                ct.key = ((u64)q << 4) | (u64)b;
                ct.lat = tl;
                ct.acc = ta;
                ct.parent = l.node;
                ct.pad = 0;
            }
            if (cont && q < N) {
                const double cl = eep_add(x, eep_mul(E, A.res[b]));
                const double ca = eep_add(l.acc, eep_mul(accq, E));
                if (!eepf_dominated(A, R, lam, slack, nF, cl, ca, q, 0.0, &R.phi[((u64)q * M + b) * W])) {
                    want_c = true;
                    cc.key = ((u64)q << 20) | ((u64)(l.used | (1u << b)) << 4) | (u64)b;
                    cc.lat = cl;
                    cc.acc = ca;
                    cc.parent = l.node;
                    cc.pad = 0;
                }
            }
        }
        const u32 pt = eepf_append(&sh.n_term, want_t);
        if (want_t) R.term[pt] = ct;
        const u32 pc = eepf_append(&sh.n_cand, want_c);
        if (want_c) cand[pc] = cc;
    }
    __syncthreads();
    if (threadIdx.x == 0) sh.terminals += s1 - s0;
}

// Which next tiers each label of the layer may take (none when its completions are all dominated), and
// its first slot; returns the number of slots, (N - p) per tier left. First the bound on each label, then
// the bound per next tier, one thread per (label, tier), for the labels the first leaves (kPending).
__device__ u32 eepf_slots(const FusedArgs& A, const FusedRegion& R, FusedShared& sh, const double* S,
                          const double* lam, const double* slack) {
    constexpr u32 kPending = 1u << 31;
    const int M = A.M, W = A.J + 1;
    const u32 n = sh.n_cur, all = (1u << M) - 1u;  // M <= 16
    const int nF = (int)sh.n_stair;
    const Label* cur = R.lab[sh.cur];
    for (u32 i = threadIdx.x; i < n; i += blockDim.x) {
        const Label l = cur[i];
        u32 mask = kPending;
        if (l.p == 0) mask = all;  // the root: every single-partition plan
        else if (eepf_dominated(A, R, lam, slack, nF, l.lat, l.acc, l.p, 0.0, &R.phi[((u64)l.p * M + l.a) * W])) mask = 0;
        R.mask[i] = mask;
    }
    __syncthreads();
    for (u32 k = threadIdx.x; k < n * (u32)M; k += blockDim.x) {
        const u32 i = k / (u32)M;
        const int b = (int)(k % (u32)M);
        if (!(R.mask[i] & kPending)) continue;
        const Label l = cur[i];
        if ((l.used >> b) & 1u) continue;
        const double add = S[l.p] * eepf_fwd(A, l.p, l.a, b);
        if (!eepf_dominated(A, R, lam, slack, nF, l.lat, l.acc, l.p, add, &R.psi[((u64)l.p * M + b) * W]))
            atomicOr(&R.mask[i], 1u << b);
    }
    __syncthreads();
    for (u32 i = threadIdx.x; i < n; i += blockDim.x) R.mask[i] &= ~kPending;
    return eepb_exclusive_sum(n, [&](u32 i) { return (u32)(A.N - cur[i].p) * (u32)__popc(R.mask[i]); }, R.off);
}

// Stops the block when the host asks, or when another block ran out of room (the host will run the
// layered search: nothing of this launch is used).
__device__ __forceinline__ bool eepf_cancelled(const FusedArgs& A, FusedShared& sh) {
    __syncthreads();
    if (threadIdx.x == 0) {
        if (A.cancel && *A.cancel) eepf_stop(A, sh, kHeaderCancelled);
        else if (((volatile u64*)A.header)[kHeaderOutOfRoom] != 0) sh.stop = 1;
    }
    __syncthreads();
    return sh.stop != 0;
}

// The layers of one threshold, from the root label to plans of Lmax partitions.
__device__ void eepf_layers(const FusedArgs& A, const FusedRegion& R, FusedShared& sh, int t, const double* c,
                            const double* S, const double* lam, const double* slack, u32* order) {
    const u32 room_c = A.room.labels;
    // Candidates are compacted when less than a quarter of their room is free, and the block gives up
    // when compaction leaves less than an eighth: at least one slot each time, so every step moves on.
    const u32 compact_below = room_c / 4 > 0 ? room_c / 4 : 1, give_up_below = room_c / 8 > 0 ? room_c / 8 : 1;
    for (int L = 0; L < A.Lmax; ++L) {
        __syncthreads();
        if (sh.n_cur == 0 || sh.stop) return;
        const bool cont = L + 1 < A.Lmax;
        long long clock = clock64();
        const u32 total = eepf_slots(A, R, sh, S, lam, slack);
        clock = eepf_lap(A, kHeaderCyclesSlots, clock);
        for (u32 s0 = 0; s0 < total;) {
            if (cont && room_c - sh.n_cand < compact_below) {
                eepf_compact_candidates(A.room, R, sh, order);
                clock = eepf_lap(A, kHeaderCyclesCompact, clock);
                if (room_c - sh.n_cand < give_up_below) {
                    if (threadIdx.x == 0) eepf_stop(A, sh, kHeaderOutOfRoom);
                    __syncthreads();
                    return;
                }
            }
            u32 chunk = total - s0;
            if (chunk > A.room.terms) chunk = A.room.terms;
            if (cont && chunk > room_c - sh.n_cand) chunk = room_c - sh.n_cand;
            __syncthreads();  // every lane has read n_cand before the appends move it
            eepf_generate(A, R, sh, t, c, S, lam, slack, s0, s0 + chunk, cont);
            clock = eepf_lap(A, kHeaderCyclesGenerate, clock);
            eepf_merge_plans(A, R, sh, order);
            clock = eepf_lap(A, kHeaderCyclesMerge, clock);
            s0 += chunk;
            if (eepf_cancelled(A, sh)) return;
        }
        if (!cont) return;
        eepf_next_layer(A, R, sh, t, order);
        eepf_lap(A, kHeaderCyclesCompact, clock);
    }
}

// This threshold's staircase, with configurations, appended to the rows.
__device__ void eepf_write(const FusedArgs& A, const FusedRegion& R, FusedShared& sh, int t) {
    __shared__ u64 first;
    const u32 n = sh.n_stair;
    if (threadIdx.x == 0) {
        first = atomicAdd(&A.header[kHeaderRows], (u64)n);
        atomicAdd(&A.header[kHeaderLabels], sh.labels);
        atomicAdd(&A.header[kHeaderCandidates], sh.candidates);
        atomicAdd(&A.header[kHeaderTerminals], sh.terminals);
        if (first + n > A.max_rows) eepf_stop(A, sh, kHeaderOutOfRoom);
    }
    __syncthreads();
    if (sh.stop) return;
    for (u32 i = threadIdx.x; i < n; i += blockDim.x) {
        const Cand x = R.stair[i];
        PlanRow& r = A.rows[first + i];
        r.lat = x.lat;
        r.acc = x.acc;
        r.t = t;
        r.L = eepf_config(R.nodes, x.key, x.parent, r.P, r.A);
        for (int k = r.L; k < 16; ++k) r.P[k] = -1, r.A[k] = -1;
    }
}

__global__ void __launch_bounds__(kFusedThreads) eep_fused_search(const __grid_constant__ FusedArgs A) {
    __shared__ FusedShared sh;
    __shared__ double c[kFusedMaxN + 1], S[kFusedMaxN + 1], lam[kBoundLanes], slack[kBoundLanes];
    __shared__ u32 order[kFusedSortRoom];
    FusedRegion R;
    fused_region(A.scratch + (u64)blockIdx.x * A.region_bytes, A.N, A.M, A.J + 1, A.room, &R);
    if (threadIdx.x < kBoundLanes) lam[threadIdx.x] = A.lam[threadIdx.x], slack[threadIdx.x] = A.slack[threadIdx.x];
    __shared__ int next_t;
    for (;;) {
        __syncthreads();
        if (threadIdx.x == 0) next_t = (int)atomicAdd(&A.header[kHeaderNextThreshold], 1ULL);
        __syncthreads();
        const int t = next_t;
        if (t >= A.K) return;
        if (threadIdx.x == 0) {
            sh.n_cur = 1, sh.n_cand = 0, sh.n_term = 0, sh.n_stair = 0, sh.n_nodes = 0;
            sh.cur = 0, sh.cc = 0, sh.stop = 0;
            sh.labels = sh.candidates = sh.terminals = 0;
            Label root;  // the empty plan, before block 1
            root.lat = 0.0, root.acc = 0.0, root.node = kNoParent, root.used = 0, root.t = t, root.p = 0, root.a = 0;
            root.pad = 0;
            R.lab[0][0] = root;
        }
        for (int i = (int)threadIdx.x; i <= A.N; i += (int)blockDim.x) {
            c[i] = A.cum[(u64)t * (A.N + 1) + i];
            S[i] = 1.0 - c[i];
        }
        __syncthreads();
        if (A.Lmax > 1) {
            const long long clock = clock64();
            eepf_bounds(A, R, t, c, S, lam);
            eepf_lap(A, kHeaderCyclesBounds, clock);
        }
        eepf_layers(A, R, sh, t, c, S, lam, slack, order);
        __syncthreads();
        if (sh.stop) return;
        eepf_write(A, R, sh, t);
        __syncthreads();
        if (sh.stop) return;
    }
}

}  // namespace gpu
}  // namespace eepart
