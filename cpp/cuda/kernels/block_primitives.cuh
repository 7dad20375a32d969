// Block-wide scans and a sort over arrays in global memory, for kernels in which one thread block does
// a whole job alone (fused_kernels.cuh). Every thread of the block must call them, with the same
// arguments; they return to all threads together. Only full-warp shuffles and __syncthreads are used,
// so they also run on the host emulator (emu.hpp).
#pragma once

#include "pareto_types.hpp"

namespace eepart {
namespace gpu {

// x shifted up by d lanes within the warp (lanes below d keep their own).
template <class T>
__device__ __forceinline__ T eepb_up(T x, int d) {
    const int lane = (int)(threadIdx.x & 31u);
    const T y = __shfl_sync(0xffffffffu, x, (lane - d) & 31);
    return lane >= d ? y : x;
}

// off[i] = val(0) + ... + val(i-1) for i < n; returns the total. Tiles of blockDim.x, two barriers each;
// the warps' sums go to one of two buffers by the tile's parity, so that a tile's writes never meet the
// reads of the tile before; the carry between tiles is a register, the same in every thread.
template <class Val>
__device__ u32 eepb_exclusive_sum(u32 n, Val val, u32* off) {
    __shared__ u32 warp_before[2][33];  // [warp]: what the warps before it hold; [32]: the tile's total
    const int tid = (int)threadIdx.x, lane = tid & 31, warp = tid >> 5, warps = (int)(blockDim.x >> 5);
    u32 carry = 0;
    __syncthreads();  // the inputs of val are written, and the last call's readers are done
    for (u32 base = 0, tile = 0; base < n; base += blockDim.x, ++tile) {
        u32* wb = warp_before[tile & 1];
        const u32 i = base + (u32)tid;
        const u32 x = i < n ? val(i) : 0u;
        u32 s = x;
        for (int d = 1; d < 32; d <<= 1) {
            const u32 y = eepb_up(s, d);
            if (lane >= d) s += y;
        }
        if (lane == 31) wb[warp] = s;
        __syncthreads();
        if (warp == 0) {
            const u32 w = lane < warps ? wb[lane] : 0u;
            u32 ws = w;
            for (int d = 1; d < 32; d <<= 1) {
                const u32 y = eepb_up(ws, d);
                if (lane >= d) ws += y;
            }
            if (lane < warps) wb[lane] = ws - w;
            if (lane == 31) wb[32] = ws;
        }
        __syncthreads();
        if (i < n) off[i] = carry + wb[warp] + s - x;
        carry += wb[32];
    }
    __syncthreads();  // off is written
    return carry;
}

// The running maximum of v over the warp's lanes, starting again at each lane whose h is set; h becomes
// whether a head lies at or before the lane.
__device__ __forceinline__ void eepb_warp_segmented_max(double& v, int& h) {
    const int lane = (int)(threadIdx.x & 31u);
    for (int d = 1; d < 32; d <<= 1) {
        const double ov = eepb_up(v, d);
        const int oh = eepb_up(h, d);
        if (lane >= d) {
            if (!h) v = ov > v ? ov : v;
            h |= oh;
        }
    }
}

// out[i] = max of val(j) over j in [h, i], h the last index <= i where head(h) is true (index 0 always
// heads): a running maximum that starts again at every head. Tiles as in eepb_exclusive_sum; what flows
// from one tile into the next is its last value, which its last thread leaves in slot 32 of the buffer.
template <class Head, class Val>
__device__ void eepb_segmented_max(u32 n, Head head, Val val, double* out) {
    __shared__ double warp_v[2][33];  // [warp]: the warp's value, then what flows into it; [32]: the tile's last
    __shared__ int warp_h[2][32];
    const int tid = (int)threadIdx.x, lane = tid & 31, warp = tid >> 5, warps = (int)(blockDim.x >> 5);
    const double ninf = -__longlong_as_double(0x7ff0000000000000LL);
    __syncthreads();
    for (u32 base = 0, tile = 0; base < n; base += blockDim.x, ++tile) {
        double* wv = warp_v[tile & 1];
        int* wh = warp_h[tile & 1];
        const u32 i = base + (u32)tid;
        int h = i >= n || i == 0 || head(i) ? 1 : 0;
        double v = i < n ? val(i) : ninf;
        eepb_warp_segmented_max(v, h);
        if (lane == 31) wv[warp] = v, wh[warp] = h;
        __syncthreads();
        if (warp == 0) {
            // What flows into each warp: the carry from the tile before, then the warps before, in order.
            const double carry = tile == 0 ? ninf : warp_v[(tile - 1) & 1][32];
            double sv = lane < warps ? wv[lane] : ninf;
            int sh = lane < warps ? wh[lane] : 1;
            eepb_warp_segmented_max(sv, sh);
            double pv = eepb_up(sv, 1);
            const int ph = eepb_up(sh, 1);
            if (lane == 0) pv = carry;
            else if (!ph) pv = carry > pv ? carry : pv;
            if (lane < warps) wv[lane] = pv;
        }
        __syncthreads();
        const double into = wv[warp];
        const double mine = h ? v : (into > v ? into : v);
        if (i < n) out[i] = mine;
        if (tid == (int)blockDim.x - 1) wv[32] = mine;
    }
    __syncthreads();  // out is written
}

// A bitonic sorting network over positions [0, n), in its form without directions (the first step of
// each stage compares mirror images), so that the missing positions past n, which would sort last, never
// need to move: order(i, l) puts positions i < l in order, one barrier after each step.
template <class Order>
__device__ void eepb_bitonic(u32 n, Order order) {
    __syncthreads();
    for (u32 k = 2; k / 2 < n; k <<= 1) {
        for (u32 j = k / 2; j >= 1; j >>= 1) {
            const u32 mask = j == k / 2 ? k - 1 : j;
            for (u32 i = threadIdx.x; i < n; i += blockDim.x) {
                const u32 l = i ^ mask;
                if (l > i && l < n) order(i, l);
            }
            __syncthreads();
        }
    }
}

// Sorts a[0, n) by `less` (a strict total order), in place.
template <class T, class Less>
__device__ void eepb_sort(T* a, u32 n, Less less) {
    eepb_bitonic(n, [&](u32 i, u32 l) {
        if (less(a[l], a[i])) {
            const T x = a[i];
            a[i] = a[l];
            a[l] = x;
        }
    });
}

// The order of the data 0..n-1, which stays where it is: idx[0, n) (shared memory) ends sorted by
// less(a, b) on indices. The network moves 4-byte indices in shared memory; the data, only read, stays
// in the L1 cache.
template <class Less>
__device__ void eepb_sort_indices(u32* idx, u32 n, Less less) {
    __syncthreads();
    for (u32 i = threadIdx.x; i < n; i += blockDim.x) idx[i] = i;
    eepb_bitonic(n, [&](u32 i, u32 l) {
        const u32 a = idx[i], b = idx[l];
        if (less(b, a)) idx[i] = b, idx[l] = a;
    });
}

}  // namespace gpu
}  // namespace eepart
