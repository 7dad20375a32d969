// How the GPU sweep (cpp/cuda/host/cuda_sweep.cpp, and the CuPy backend through _core.plan_sweep) cuts the
// index space of configurations into warp items and chunks of launches. Host-only and free of CUDA, so
// that the one copy of these rules lives in the always-built core and both GPU front ends reuse it.
//
// Items are laid out per threshold t, then per L = 1..Lmax: a warp item is a run of W partitionings P
// (lexicographic ranks) with all their placements, or one P and a run of at most kSweepSplit of its
// placements (splits items per P). A chunk is a list of launches whose items the device counts and scans
// together: its size bounds device memory, and Ctrl-C and the time limit are polled between chunks.
#pragma once
#include <cstdint>
#include <vector>

namespace eepart {

// EEP_SPLIT of cpp/cuda/kernels/kernels.cuh: placements per warp item when a P has more (the kernels own
// the number; tests/test_sweep_plan.py holds the two equal).
constexpr std::uint64_t kSweepSplit = 2048;
// EEP_IP_SIZE of kernels.cuh: int64 entries of one launch descriptor.
constexpr int kSweepIpSize = 16;
// Warps per thread block of the sweep kernels (gpu::kSweepWarpsPerBlock of kernels/launch.hpp, which
// cuda_sweep.cpp asserts equal): the CuPy backend launches with the same geometry.
constexpr unsigned kSweepBlockWarps = 8;
// Placements of one L tabulated at most by default; beyond, the kernels unrank them.
constexpr std::uint64_t kSweepMaxCodes = std::uint64_t(1) << 16;
// Warp items per chunk by default: bounds the counts' device memory and the time between polls.
constexpr std::uint64_t kSweepChunkItems = std::uint64_t(1) << 20;
// Rows written to the device per window by default.
constexpr std::uint64_t kSweepWindowRows = std::uint64_t(1) << 23;
// Configurations a GPU sweep enumerates at most: item indices and counts are int64 on the device.
constexpr std::uint64_t kSweepMaxTotal = std::uint64_t(1) << 63;

// One L's share of a threshold's items.
struct SweepSegment {
    int L = 0;
    std::uint64_t nperm = 0;   // placements of one P: M! / (M-L)!
    std::uint64_t ncomb = 0;   // partitionings: C(N, L), saturated at kSweepMaxTotal
    std::uint64_t W = 0;       // P's per item (when splits == 1)
    std::uint64_t splits = 1;  // items per P (when W == 1)
    std::uint64_t items = 0;
    std::int64_t codes = -1;   // offset of its placement table in SweepPlan::codes, or -1: unranked
    std::uint64_t radix = 0;   // offset of its L radix entries in SweepPlan::radix
    std::uint64_t offset = 0;  // its first item within one threshold
};

// One launch: items [w0, w1) of segment L for thresholds t0 .. t0+nt-1 (grid y); the count of item w of
// threshold t is at chunk index cbase + (t - t0) * cstride + (w - w0).
struct SweepLaunch {
    int L = 0, t0 = 0, nt = 0;
    std::uint64_t w0 = 0, w1 = 0, cbase = 0, cstride = 0;
};

struct SweepChunk {
    std::vector<SweepLaunch> launches;
    std::uint64_t items = 0;
};

struct SweepPlan {
    int N = 0, M = 0, K = 0, Lmax = 0;
    std::uint64_t total = 0;              // configurations
    std::uint64_t per_t = 0;              // items of one threshold
    std::vector<std::uint64_t> binom;     // [N+1][Lmax+1]: C(n, k) saturated at kSweepMaxTotal
    std::vector<std::uint64_t> codes;     // tabulated placements, 4 bits per position, canonical order
    std::vector<std::uint64_t> radix;     // per L: (M-k-1)! / (M-L)!, k = 0..L-1 (unranking)
    std::vector<SweepSegment> segments;   // L = 1..Lmax
    std::vector<SweepChunk> chunks;       // in canonical order; each holds at most the chunk's cap of items

    const SweepSegment& segment(int L) const { return segments[static_cast<std::size_t>(L - 1)]; }
    // The kernels' launch descriptor (EEP_IP_* of kernels.cuh): kSweepIpSize entries at ip.
    void launch_params(const SweepLaunch& l, long long* ip) const;
};

// The plan of a sweep over N blocks, M tiers, K thresholds. chunk_items (0: kSweepChunkItems) caps a
// chunk's items; table_limit (0: kSweepMaxCodes) the placements of one L that are tabulated.
// std::invalid_argument when N, M, K are out of the engine's limits or give more than 2^63 configurations.
SweepPlan plan_sweep(int N, int M, int K, std::uint64_t chunk_items = 0, std::uint64_t table_limit = 0);

}  // namespace eepart
