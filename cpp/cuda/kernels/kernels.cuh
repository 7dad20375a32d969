// Device code of evaluate and sweep, one source for both GPU backends: the compiled `_cuda` module
// includes it (cpp/cuda/launch.cu), the `cupy` backend loads it as text into a RawModule (NVRTC).
// So it includes no header at all and uses only what nvcc, NVRTC and the host emulator of
// cpp/cuda/emu.hpp all understand.
//
// Every latency is summed in the model's canonical order (docs/model.md) with __dadd_rn / __dmul_rn, which the
// compiler may not fuse into FMAs: the GPU rounds exactly as the CPU engine and the NumPy reference do,
// and the backends agree to the last bit.
//
// Device layout of the tables: input[M], compT[(p*(N+1)+q)*M + a] (compute_cost transposed so that the
// M tiers of one partition are adjacent), fwd[((q-1)*M + a)*M + b], res[M], cum[t*(N+1)+i], acc[t*N+i-1].
#ifndef EEPART_KERNELS_CUH
#define EEPART_KERNELS_CUH

typedef unsigned long long eep_u64;
typedef long long eep_i64;

#define EEP_FULL_MASK 0xffffffffu
// A P with more placements than this is split over several warps, each taking this many.
#define EEP_SPLIT 2048ULL
// Placements (for L <= 8) are unrolled into registers; longer plans use one generic instantiation.
#define EEP_MAX_UNROLLED 8

__device__ __forceinline__ double eep_add(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ double eep_mul(double a, double b) { return __dmul_rn(a, b); }

// C(n, k) from the host's table (rows n = 0..N, columns k = 0..Lmax), saturated at 2^63.
__device__ __forceinline__ eep_u64 eep_binom(const eep_u64* binom, int Lmax, int n, int k) {
    return (k < 0 || n < 0 || k > n) ? 0ULL : binom[(eep_u64)n * (Lmax + 1) + k];
}

// The combination of lexicographic rank r among those of {1..N} of size L (itertools.combinations order).
template <int LC>
__device__ __forceinline__ void eep_unrank_combination(eep_u64 r, int N, int L, int Lmax, const eep_u64* binom,
                                                       int* P) {
    int x = 1;
#pragma unroll
    for (int k = 0; k < LC; ++k) {
        if (k < L) {
            for (;;) {
                const eep_u64 c = eep_binom(binom, Lmax, N - x, L - k - 1);  // combinations starting with x here
                if (r < c) break;
                r -= c;
                ++x;
            }
            P[k] = x;
            ++x;
        }
    }
}

// The next combination in lexicographic order (unchanged after the last one).
template <int LC>
__device__ __forceinline__ void eep_next_combination(int* P, int N, int L) {
    int i = -1;
#pragma unroll
    for (int k = 0; k < LC; ++k)
        if (k < L && P[k] != N - L + 1 + k) i = k;
    if (i < 0) return;
#pragma unroll
    for (int k = 0; k < LC; ++k) {
        if (k < L) {
            if (k == i) P[k] += 1;
            else if (k > i) P[k] = P[k > 0 ? k - 1 : 0] + 1;
        }
    }
}

// Placement of lexicographic rank a among the L-permutations of range(M) (itertools.permutations
// order): from the host's table of 4-bit codes when there is one, else unranked with the radix
// (M-k-1)!/(M-L)! of each position.
template <int LC>
__device__ __forceinline__ void eep_placement(eep_u64 a, int L, int M, bool has_codes, const eep_u64* codes,
                                              const eep_u64* radix, int* A) {
    if (has_codes) {
        const eep_u64 code = codes[a];
#pragma unroll
        for (int k = 0; k < LC; ++k) A[k] = (int)((code >> (4 * k)) & 15ULL);
        return;
    }
    eep_u64 rem = a;
    unsigned used = 0;
#pragma unroll
    for (int k = 0; k < LC; ++k) {
        if (k < L) {
            const eep_u64 f = radix[k];
            eep_u64 d = rem / f;
            rem -= d * f;
            int x = 0;
            for (int m = 0; m < M; ++m) {
                if (!((used >> m) & 1u)) {
                    if (d == 0) {
                        x = m;
                        break;
                    }
                    --d;
                }
            }
            A[k] = x;
            used |= 1u << x;
        }
    }
}

// Entering, exit and stay fractions of each partition of P at one threshold, and the accuracy.
template <int LC>
__device__ __forceinline__ double eep_rates(const int* P, int L, const double* crow, const double* acc, double* in,
                                            double* E, double* S) {
    double a = 0.0;
    double cp = crow[0];
#pragma unroll
    for (int k = 0; k < LC; ++k) {
        if (k < L) {
            const double cq = crow[P[k]];
            in[k] = 1.0 - cp;
            E[k] = (k + 1 < L) ? cq - cp : 1.0 - cp;
            S[k] = 1.0 - cq;
            a = eep_add(a, eep_mul(acc[P[k] - 1], E[k]));
            cp = cq;
        }
    }
    return a;
}

// the model's latency of (P, A) given the fractions: input; then per partition compute, result, forward.
template <int LC>
__device__ __forceinline__ double eep_latency(const int* P, const int* A, int L, int N, int M, const double* input,
                                              const double* compT, const double* fwd, const double* res,
                                              const double* in, const double* E, const double* S) {
    double lat = input[A[0]];
    int prev = 0;
#pragma unroll
    for (int k = 0; k < LC; ++k) {
        if (k < L) {
            const int q = P[k], a = A[k];
            lat = eep_add(lat, eep_mul(in[k], compT[((eep_u64)prev * (N + 1) + q) * M + a]));
            lat = eep_add(lat, eep_mul(E[k], res[a]));
            if (k + 1 < L)
                lat = eep_add(lat, eep_mul(S[k], fwd[((eep_u64)(q - 1) * M + a) * M + A[k + 1 < LC ? k + 1 : k]]));
            prev = q;
        }
    }
    return lat;
}

// Tail latency (docs/model.md "Tail latency"): the rule of cpp/core/quantile.hpp's quantile_of_exits,
// copied. This file must compile alone: the cupy backend hands it to NVRTC as text, with no include path
// and no host headers (tests/test_gpu.py holds it to no include directive), so it cannot take the core's
// header, which needs <cmath> and the Tables. Only additions (exact IEEE sums, nothing to contract) and
// comparisons; tests/test_quantile_backends.py holds both copies to the NumPy reference bit for bit.
template <int LC>
__device__ __forceinline__ double eep_quantile_of_exits(const double* ell, const double* share, int L, double theta) {
    double best = __longlong_as_double(0x7ff0000000000000LL);  // +inf: no include for INFINITY
#pragma unroll
    for (int k = 0; k < LC; ++k) {
        if (k >= L || !(share[k] > 0.0) || !(ell[k] < best)) continue;
        double m = 0.0;
#pragma unroll
        for (int j = 0; j < LC; ++j)
            if (j < L && ell[j] <= ell[k]) m = eep_add(m, share[j]);
        if (m >= theta) best = ell[k];
    }
    return best;
}

// The q-quantile of (P, A)'s latency given the exit shares E (theta: q less the slack, from the host):
// each exit's latency on the sample's clock, input, then per partition compute, then forward.
template <int LC>
__device__ __forceinline__ double eep_latency_quantile(const int* P, const int* A, int L, int N, int M,
                                                       const double* input, const double* compT, const double* fwd,
                                                       const double* res, const double* E, double theta) {
    double ell[LC];
    double d = input[A[0]];
    int prev = 0;
#pragma unroll
    for (int k = 0; k < LC; ++k) {
        if (k < L) {
            const int q = P[k], a = A[k];
            d = eep_add(d, compT[((eep_u64)prev * (N + 1) + q) * M + a]);
            ell[k] = eep_add(d, res[a]);
            if (k + 1 < L) d = eep_add(d, fwd[((eep_u64)(q - 1) * M + a) * M + A[k + 1 < LC ? k + 1 : k]]);
            prev = q;
        }
    }
    return eep_quantile_of_exits<LC>(ell, E, L, theta);
}

// evaluate: one thread per given configuration (int64 rows, `width` columns, already validated). The energy
// (docs/model.md "Energy") is the mean latency's form on the energy tables: the host launches this kernel
// again on them (cum and acc the same), quantile 0, as the CPU engine runs its straight loop again on them;
// that launch writes the energy as its latency, and the accuracy again, the same bits.
extern "C" __global__ void eep_evaluate(const double* input, const double* compT, const double* fwd,
                                        const double* res, const double* cum, const double* acc, int N, int M,
                                        eep_u64 n, int width, const eep_i64* t_idx, const eep_i64* n_parts,
                                        const eep_i64* parts, const eep_i64* place, double quantile, double theta,
                                        double* o_lat, double* o_acc) {
    const eep_u64 i = (eep_u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const int L = (int)n_parts[i];
    const eep_i64* P = parts + i * (eep_u64)width;
    const eep_i64* A = place + i * (eep_u64)width;
    const double* crow = cum + (eep_u64)t_idx[i] * (N + 1);
    double lat = input[A[0]];
    double a_sum = 0.0;
    int prev = 0;
    int Pq[16], Aq[16];  // with a quantile: the row as ints, and its exit shares (L <= 16 tiers)
    double Eq[16];
    for (int k = 0; k < L; ++k) {
        const int q = (int)P[k], a = (int)A[k];
        const double cp = crow[prev];
        const double ex = (k + 1 < L) ? crow[q] - cp : 1.0 - cp;
        Pq[k] = q, Aq[k] = a, Eq[k] = ex;
        lat = eep_add(lat, eep_mul(1.0 - cp, compT[((eep_u64)prev * (N + 1) + q) * M + a]));
        lat = eep_add(lat, eep_mul(ex, res[a]));
        if (k + 1 < L) lat = eep_add(lat, eep_mul(1.0 - crow[q], fwd[((eep_u64)(q - 1) * M + a) * M + A[k + 1]]));
        a_sum = eep_add(a_sum, eep_mul(acc[(eep_u64)t_idx[i] * N + q - 1], ex));
        prev = q;
    }
    if (quantile > 0.0) lat = eep_latency_quantile<16>(Pq, Aq, L, N, M, input, compT, fwd, res, Eq, theta);
    o_lat[i] = lat;
    o_acc[i] = a_sum;
}

// Launch descriptor of the sweep kernels, int64 entries of `ip`.
#define EEP_IP_N 0
#define EEP_IP_M 1
#define EEP_IP_LMAX 2
#define EEP_IP_L 3
#define EEP_IP_NPERM 4    // placements of one P: M!/(M-L)!
#define EEP_IP_W 5        // P's per warp (when splits == 1)
#define EEP_IP_SPLITS 6   // warps per P (placements split in EEP_SPLIT runs), else 1
#define EEP_IP_NCOMB 7    // C(N, L)
#define EEP_IP_T0 8       // threshold of blockIdx.y == 0
#define EEP_IP_W0 9       // first and end warp item of this launch
#define EEP_IP_W1 10
#define EEP_IP_CBASE 11   // counts index of (t0, w0)
#define EEP_IP_CSTRIDE 12 // counts index step per threshold
#define EEP_IP_CODES 13   // 1: `codes` tabulates the placements
#define EEP_IP_SIZE 16

// sweep, in two passes over the same warp items. Each warp takes a run of P's (lexicographic ranks) of
// one (t, L), or one P and a run of its placements, and walks them in canonical order: lanes over
// placements, or, when a P has 16 placements or fewer, groups of lanes over consecutive P's. A P whose
// accuracy misses min_accuracy is skipped whole (accuracy depends on (t, P) only).
// WRITE = 0 counts the kept rows of each warp item; the host scans the counts into row offsets;
// WRITE = 1 walks again and writes each kept row at its offset (ballot prefix within the warp), only
// rows in [lo, hi), at row - lo: the order of rows is canonical without any sort.
// quantile > 0: each row's latency (and max_lat) is its q-quantile (eep_latency_quantile), theta from
// the host. No prefix is pruned on latency here (every placement is computed anyway), so the bound needs
// no argument beyond the per-row test.
// ENERGY = 1: each row's energy too, the mean latency's sum (eep_latency) on the energy tables e_* (whatever
// the quantile: docs/model.md "Energy"), kept when <= max_energy and written to o_energy. ENERGY = 0
// compiles none of it (the e_* arguments are then unread): the latency-only kernels are unchanged.
template <int LC, int WRITE, int ENERGY>
__global__ void __launch_bounds__(256)
    eep_sweep(const double* input, const double* compT, const double* fwd, const double* res, const double* cum,
              const double* acc, const eep_u64* binom, const eep_u64* codes, const eep_u64* radix,
              const eep_i64* ip, double max_lat, double min_acc, double quantile, double theta, eep_u64* counts,
              const eep_u64* offsets,
              eep_u64 lo, eep_u64 hi, double* o_lat, double* o_acc, int* o_t, int* o_L, int* o_P, int* o_A,
              const double* e_input, const double* e_compT, const double* e_fwd, const double* e_res,
              double max_energy, double* o_energy) {
    const int lane = (int)(threadIdx.x & 31u);
    const eep_u64 w = (eep_u64)ip[EEP_IP_W0] + (eep_u64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (w >= (eep_u64)ip[EEP_IP_W1]) return;  // whole warps only
    const int N = (int)ip[EEP_IP_N], M = (int)ip[EEP_IP_M], Lmax = (int)ip[EEP_IP_LMAX];
    const int L = LC <= EEP_MAX_UNROLLED ? LC : (int)ip[EEP_IP_L];
    const eep_u64 nperm = (eep_u64)ip[EEP_IP_NPERM], W = (eep_u64)ip[EEP_IP_W];
    const eep_u64 splits = (eep_u64)ip[EEP_IP_SPLITS], ncomb = (eep_u64)ip[EEP_IP_NCOMB];
    const int t = (int)ip[EEP_IP_T0] + (int)blockIdx.y;
    const eep_u64 cidx = (eep_u64)ip[EEP_IP_CBASE] + (eep_u64)blockIdx.y * (eep_u64)ip[EEP_IP_CSTRIDE] +
                         (w - (eep_u64)ip[EEP_IP_W0]);
    const bool has_codes = ip[EEP_IP_CODES] != 0;

    eep_u64 run = 0;  // WRITE: row index of the warp's next kept row
    if (WRITE) {
        const eep_u64 cnt = counts[cidx];
        run = offsets[cidx];
        if (cnt == 0 || run + cnt <= lo || run >= hi) return;
    }

    eep_u64 r0, r1, a_lo, a_hi;
    if (splits == 1) {
        r0 = w * W;
        r1 = r0 + W < ncomb ? r0 + W : ncomb;
        a_lo = 0;
        a_hi = nperm;
    } else {
        r0 = w / splits;
        r1 = r0 + 1;
        a_lo = (w % splits) * EEP_SPLIT;
        a_hi = a_lo + EEP_SPLIT < nperm ? a_lo + EEP_SPLIT : nperm;
    }
    int g = 32;  // lanes per P
    if (nperm <= 16) {
        g = 1;
        while ((eep_u64)g < nperm) g <<= 1;
    }
    const int G = 32 / g, j = lane / g, sub = lane % g;

    int P[LC], A[LC];
    double in[LC], E[LC], S[LC];
    {
        const eep_u64 r = r0 + (eep_u64)j;
        eep_unrank_combination<LC>(r < r1 ? r : r0, N, L, Lmax, binom, P);
    }
    const double* crow = cum + (eep_u64)t * (N + 1);
    const eep_u64 n_outer = (r1 - r0 + (eep_u64)G - 1) / (eep_u64)G;
    const eep_u64 n_inner = G == 1 ? (a_hi - a_lo + 31) / 32 : 1;
    unsigned kept = 0;

    for (eep_u64 it = 0; it < n_outer; ++it) {
        const bool p_valid = r0 + it * (eep_u64)G + (eep_u64)j < r1;
        const double accuracy = eep_rates<LC>(P, L, crow, acc + (eep_u64)t * N, in, E, S);
        const bool acc_ok = p_valid && accuracy >= min_acc;
        if (G > 1 || acc_ok) {  // with one P per warp, the skip is warp-uniform
            for (eep_u64 ii = 0; ii < n_inner; ++ii) {
                const eep_u64 a = G == 1 ? a_lo + ii * 32 + (eep_u64)lane : (eep_u64)sub;
                bool keep = false;
                double lat = 0.0, energy = 0.0;
                if (acc_ok && a < a_hi) {
                    eep_placement<LC>(a, L, M, has_codes, codes, radix, A);
                    lat = quantile > 0.0
                              ? eep_latency_quantile<LC>(P, A, L, N, M, input, compT, fwd, res, E, theta)
                              : eep_latency<LC>(P, A, L, N, M, input, compT, fwd, res, in, E, S);
                    keep = lat <= max_lat;
                    if (ENERGY) {
                        energy = eep_latency<LC>(P, A, L, N, M, e_input, e_compT, e_fwd, e_res, in, E, S);
                        keep = keep && energy <= max_energy;
                    }
                }
                if (WRITE) {
                    const unsigned ballot = __ballot_sync(EEP_FULL_MASK, keep);
                    if (keep) {
                        const eep_u64 row = run + (eep_u64)__popc(ballot & ((1u << lane) - 1u));
                        if (row >= lo && row < hi) {
                            const eep_u64 o = row - lo;
                            o_lat[o] = lat;
                            if (ENERGY) o_energy[o] = energy;
                            o_acc[o] = accuracy;
                            o_t[o] = t;
                            o_L[o] = L;
                            int* pr = o_P + o * (eep_u64)Lmax;
                            int* ar = o_A + o * (eep_u64)Lmax;
#pragma unroll
                            for (int k = 0; k < LC; ++k) {
                                if (k < L) {
                                    pr[k] = P[k];
                                    ar[k] = A[k];
                                }
                            }
                            for (int k = L; k < Lmax; ++k) {
                                pr[k] = -1;
                                ar[k] = -1;
                            }
                        }
                    }
                    run += (eep_u64)__popc(ballot);
                } else {
                    kept += keep ? 1u : 0u;
                }
            }
        }
        if (it + 1 < n_outer)
            for (int s = 0; s < G; ++s) eep_next_combination<LC>(P, N, L);
    }
    if (!WRITE) {
        for (int off = 16; off > 0; off >>= 1) kept += __shfl_down_sync(EEP_FULL_MASK, kept, off);
        if (lane == 0) counts[cidx] = (eep_u64)kept;
    }
}

#endif  // EEPART_KERNELS_CUH
