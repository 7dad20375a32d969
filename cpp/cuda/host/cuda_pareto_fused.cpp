// pareto on the GPU in one launch (fused_kernels.cuh): each thread block runs the whole search of its
// thresholds, so the host only sends the tables, waits, and merges the thresholds' staircases.
// Where the layered search (cuda_pareto.cpp) pays a few host round trips per layer, this pays one per
// search, which is what small and medium instances are made of. What stays on the host: the merge of the
// K staircases (a few hundred points each, with their configurations, for the canonical tie rule) and the
// cut to frontier.py's tolerance.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <mutex>
#include <thread>

#include "cuda_engine.hpp"
#include "fused_types.hpp"
#include "pareto_host.hpp"

namespace eepart {
namespace gpu {
namespace {

// The largest room that fits the blocks and the rows in max_memory, from `want` labels per layer down to
// a floor (256, below which the layered search does better, or `want` itself when smaller: tests ask for
// tiny rooms to cross every seam); labels = 0 when even the floor does not fit.
FusedRoom choose_room(int N, int M, int W, int K, int blocks, std::uint32_t want, std::size_t max_memory,
                      std::size_t fixed, u64* region_bytes, u32* max_rows) {
    // A layer's slots, up to labels * N * M, are counted in 32 bits on the device.
    want = static_cast<std::uint32_t>(std::min<u64>(want, ((u64(1) << 31) - 1) / (static_cast<u64>(N) * M)));
    const std::uint32_t floor = std::min<std::uint32_t>(want, 256);
    for (std::uint32_t labels = want; labels >= floor && labels > 0; labels /= 2) {
        // sort: half the labels, so that small rooms (tests) take both ways of sorting
        FusedRoom room{labels, std::max<u32>(labels / 2, 8), std::max<u32>(labels / 4, 8), labels * 4,
                       std::min<u32>(kFusedSortRoom, std::max<u32>(labels / 2, 1))};
        const u64 region = fused_region(nullptr, N, M, W, room, nullptr);
        // every threshold's staircase comes back: room for 512 points each (or all of room.stair)
        const u64 rows = std::min<u64>(static_cast<u64>(K) * room.stair, std::max<u64>(u64(1) << 16, u64(K) * 512));
        const u64 bytes = fixed + region * blocks + rows * sizeof(PlanRow) + kHeaderWords * sizeof(u64);
        if (bytes <= max_memory) {
            *region_bytes = region;
            *max_rows = static_cast<u32>(rows);
            return room;
        }
    }
    return FusedRoom{0, 0, 0, 0, 0};
}

// Waits for the kernel: spinning for the first 2 ms (most searches end sooner, and a sleep would add its
// own latency), then in 100 us naps; asks Python about Ctrl-C every 50 ms. When it is pressed, raises the
// stop flag (every block stops at its next step), waits for the blocks, and passes the interruption on,
// unless the device failed meanwhile: that error comes first, since it outlives the call.
void wait_polling(const Poll& poll) {
    const auto start = std::chrono::steady_clock::now();
    auto last = start;
    while (!idle()) {
        const auto now = std::chrono::steady_clock::now();
        if (now - start > std::chrono::milliseconds(2)) std::this_thread::sleep_for(std::chrono::microseconds(100));
        if (now - last < std::chrono::milliseconds(50)) continue;
        last = now;
        try {
            poll();
        } catch (...) {
            set_stop_flag(1);
            try {
                synchronize();
            } catch (...) {
                set_stop_flag(0);
                throw;  // the device's error
            }
            set_stop_flag(0);
            throw;  // the interruption
        }
    }
}

// One search at a time in this process uses the stop flag (and the device): a second Python thread's
// search waits, so that one thread's Ctrl-C never stops another's kernel.
std::mutex& launch_lock() {
    static std::mutex mu;
    return mu;
}

}  // namespace

bool pareto_fused(const Tables& T, const ParetoOptions& opt, const Poll& poll, ParetoStats* stats, Rows* out) {
    auto start = std::chrono::steady_clock::now();
    auto step = [&](bool wait) {  // profiling for the stats only
        if (!stats) return;
        if (wait) synchronize();
        const auto now = std::chrono::steady_clock::now();
        stats->step_seconds.push_back(std::chrono::duration<double>(now - start).count());
        start = now;
    };
    const int N = T.N, M = T.M, K = T.K;
    if (N > kFusedMaxN) return false;
    const BoundParams bp = bound_params(T, opt.max_memory);
    const int J = static_cast<int>(bp.lam.size()), W = J + 1;
    // One block per multiprocessor (512 threads of 128 registers fill one); each takes thresholds as it goes.
    const int blocks = std::max(1, std::min(K, multiprocessors()));
    const std::size_t n_fwd = static_cast<std::size_t>(N) * M * M, n_cum = static_cast<std::size_t>(K) * (N + 1);
    const std::size_t n_acc = static_cast<std::size_t>(K) * N;  // a row per threshold on the device
    const std::size_t n_small = 2 * M + n_acc + n_cum + n_fwd, n_comp = static_cast<std::size_t>(M) * (N + 1) * (N + 1);
    const std::size_t tables = sizeof(double) * (n_small + n_comp);
    u64 region_bytes = 0;
    u32 max_rows = 0;
    const FusedRoom room = choose_room(N, M, W, K, blocks, opt.fused_room ? opt.fused_room : 1u << 14,
                                       opt.max_memory, tables, &region_bytes, &max_rows);
    if (room.labels == 0) return false;

    // The tables as the engine holds them (no transposition), in two copies: compute_cost, and the
    // small ones packed together, since every copy is a round trip.
    std::vector<double> small(n_small);
    double* at = small.data();
    const std::vector<double> acc = T.accuracy_rows();
    const double* packed_from[] = {T.input_cost, T.result_cost, acc.data(), T.cum_exit, T.forward_cost};
    const std::size_t packed_n[] = {static_cast<std::size_t>(M), static_cast<std::size_t>(M), n_acc,
                                    n_cum, n_fwd};
    std::size_t packed_at[5];
    for (int i = 0; i < 5; ++i) {
        packed_at[i] = static_cast<std::size_t>(at - small.data());
        at = std::copy(packed_from[i], packed_from[i] + packed_n[i], at);
    }
    Buffer<double> d_small, comp;
    d_small.put(small.data(), small.size());
    comp.put(T.compute_cost, n_comp);
    Buffer<unsigned char> scratch(region_bytes * blocks);
    // The header, then the rows: one copy brings the header and the first rows back.
    constexpr std::size_t kRowsAt = 256;
    static_assert(kHeaderWords * sizeof(u64) <= kRowsAt, "the header fits before the rows");
    Buffer<unsigned char> result(kRowsAt + static_cast<std::size_t>(max_rows) * sizeof(PlanRow));
    zero(result.data(), kHeaderWords * sizeof(u64));
    step(true);

    FusedArgs a{};
    a.N = N, a.M = M, a.K = K, a.Lmax = T.max_partitions(), a.J = J;
    a.comp = comp.data();
    a.input = d_small.data() + packed_at[0], a.res = d_small.data() + packed_at[1];
    a.acc = d_small.data() + packed_at[2], a.cum = d_small.data() + packed_at[3], a.fwd = d_small.data() + packed_at[4];
    for (int j = 0; j < kBoundLanes; ++j) {
        a.lam[j] = j < J ? bp.lam[j] : 0.0;
        a.slack[j] = j <= J ? bp.slack[j] : 0.0;
    }
    a.min_acc = opt.min_accuracy, a.max_lat = opt.max_latency;
    a.room = room;
    a.scratch = scratch.data(), a.region_bytes = region_bytes;
    a.rows = reinterpret_cast<PlanRow*>(result.data() + kRowsAt), a.max_rows = max_rows;
    a.header = reinterpret_cast<u64*>(result.data());
    a.cancel = stop_flag();
    {
        std::lock_guard<std::mutex> lock(launch_lock());
        set_stop_flag(0);
        launch_fused(a, static_cast<unsigned>(blocks));
        wait_polling(poll);
    }
    constexpr std::size_t kFirstRows = 256;
    std::vector<unsigned char> back(kRowsAt + std::min<std::size_t>(max_rows, kFirstRows) * sizeof(PlanRow));
    result.get(back.data(), back.size());
    u64 h[kHeaderWords];
    std::memcpy(h, back.data(), sizeof h);
    step(false);
    if (h[kHeaderCancelled]) throw Interrupted{};
    if (stats) {
        stats->labels = h[kHeaderLabels], stats->candidates = h[kHeaderCandidates];
        stats->terminals = h[kHeaderTerminals], stats->staircase_points = h[kHeaderRows];
        stats->peak_bytes = tables + region_bytes * blocks + max_rows * sizeof(PlanRow);
        for (int i = 0; i < 5; ++i) stats->phase_cycles.emplace_back(kFusedPhases[i], h[kHeaderCyclesBounds + i]);
    }
    if (h[kHeaderOutOfRoom]) return false;

    std::vector<PlanRow> got(h[kHeaderRows]);
    const std::size_t first = std::min<std::size_t>(got.size(), kFirstRows);
    if (first) std::memcpy(got.data(), back.data() + kRowsAt, first * sizeof(PlanRow));
    if (got.size() > first)
        download(got.data() + first, result.data() + kRowsAt + first * sizeof(PlanRow),
                 (got.size() - first) * sizeof(PlanRow));
    std::sort(got.begin(), got.end(), [](const PlanRow& x, const PlanRow& y) {
        if (x.lat != y.lat) return x.lat < y.lat;
        if (x.acc != y.acc) return x.acc > y.acc;
        return x.t < y.t;
    });
    Staircase stair;
    for (const PlanRow& r : got) insert(stair, r);
    *out = frontier_rows(stair, T.max_partitions());
    step(false);
    if (stats) stats->engine = "fused";
    return true;
}

}  // namespace gpu
}  // namespace eepart
