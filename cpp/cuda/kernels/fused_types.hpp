// What the host and the fused search kernel (fused_kernels.cuh) share: its arguments, and how each
// block's region of scratch memory is laid out. Plain data, built by host and device compilers alike.
#pragma once

#include "pareto_types.hpp"
#include "search/constants.hpp"
#include "tables.hpp"

namespace eepart {
namespace gpu {

constexpr int kFusedThreads = 512;
constexpr int kFusedMaxN = kMaxBlocks;     // the exit curve of one threshold fits in shared memory
constexpr unsigned kFusedSortRoom = 4096;  // sorts of up to this many records move indices in shared memory

// How much one block may hold; past any of these the block stops and the host takes the layered search.
struct FusedRoom {
    u32 labels;  // labels of one layer, and candidates gathered for the next
    u32 terms;   // complete plans gathered before they are merged into the staircase
    u32 stair;   // points of one threshold's staircase
    u32 nodes;   // partitions of the labels of one threshold, every layer
    u32 sort;    // sorts of up to this many records (at most kFusedSortRoom) order indices in shared memory;
                 // larger ones move the records in global memory
};

struct FusedArgs {
    int N, M, K, Lmax, J;
    const double *input, *comp, *fwd, *res, *cum, *acc;  // tables.hpp's layout, compute_cost untransposed, acc [K][N]
    // slack[0]: of the latency bound; slack[j + 1]: of the bound on lat - lam[j] acc
    double lam[kBoundLanes], slack[kBoundLanes];
    double min_acc, max_lat;
    FusedRoom room;
    unsigned char* scratch;   // gridDim.x regions of region_bytes
    u64 region_bytes;
    PlanRow* rows;            // every threshold's staircase, thresholds in any order
    u32 max_rows;
    u64* header;              // see kHeader*
    const volatile int* cancel;  // set by the host: every block stops at its next step
};
// The header the blocks fill: rows written, thresholds that ran out of room or were cancelled, the
// search's counters, the clock cycles of each phase summed over the blocks (for tuning on a device; 0 on
// the emulator), and the next threshold to take (blocks take them one at a time, as they finish).
enum : int { kHeaderRows = 0, kHeaderOutOfRoom, kHeaderCancelled, kHeaderLabels, kHeaderCandidates, kHeaderTerminals,
             kHeaderCyclesBounds, kHeaderCyclesSlots, kHeaderCyclesGenerate, kHeaderCyclesMerge, kHeaderCyclesCompact,
             kHeaderNextThreshold, kHeaderWords };
constexpr const char* kFusedPhases[] = {"bounds", "slots", "generate", "merge", "compact"};

// One block's scratch. lab/cand are pairs (the layer and the next; the gathered candidates and their
// compaction). phi, psi: [q][tier][lambda lane], as core/search/bounds.cpp lays them out.
struct FusedRegion {
    double *phi, *psi, *acc_ub;
    Label* lab[2];
    u32 *mask, *off;  // per label of the layer: the next tiers to try, and its first slot
    Node* nodes;
    Cand* cand[2];
    Cand* term;
    Cand* stair;      // the staircase found so far; key = (q << 4) | tier of the last partition
    double *F_lat, *F_acc;
    Cand* merged;     // the staircase and the gathered plans, merged
    double* pm;       // running maxima of the accuracy
    u32 *flag, *keep_off;
};

EEP_HD inline u64 eep_align16(u64 x) { return (x + 15u) & ~u64(15); }

// Lays a region out from `base` (null: only the size is wanted) and returns its size in bytes.
EEP_HD inline u64 fused_region(unsigned char* base, int N, int M, int W, const FusedRoom& room, FusedRegion* r) {
    u64 at = 0;
    const u64 lanes = (u64)(N + 1) * M * W;
    const u64 merged = (u64)room.stair + room.terms;
    const u64 wide = merged > room.labels ? merged : room.labels;
    auto take = [&](u64 bytes) {
        unsigned char* p = base ? base + at : nullptr;
        at = eep_align16(at + bytes);
        return p;
    };
    FusedRegion x;
    x.phi = (double*)take(lanes * sizeof(double));
    x.psi = (double*)take(lanes * sizeof(double));
    x.acc_ub = (double*)take((u64)(N + 1) * sizeof(double));
    x.lab[0] = (Label*)take((u64)room.labels * sizeof(Label));
    x.lab[1] = (Label*)take((u64)room.labels * sizeof(Label));
    x.mask = (u32*)take((u64)room.labels * sizeof(u32));
    x.off = (u32*)take((u64)room.labels * sizeof(u32));
    x.nodes = (Node*)take((u64)room.nodes * sizeof(Node));
    x.cand[0] = (Cand*)take((u64)room.labels * sizeof(Cand));
    x.cand[1] = (Cand*)take((u64)room.labels * sizeof(Cand));
    x.term = (Cand*)take((u64)room.terms * sizeof(Cand));
    x.stair = (Cand*)take((u64)room.stair * sizeof(Cand));
    x.F_lat = (double*)take((u64)room.stair * sizeof(double));
    x.F_acc = (double*)take((u64)room.stair * sizeof(double));
    x.merged = (Cand*)take(merged * sizeof(Cand));
    x.pm = (double*)take(wide * sizeof(double));
    x.flag = (u32*)take(wide * sizeof(u32));
    x.keep_off = (u32*)take(wide * sizeof(u32));
    if (r) *r = x;
    return at;
}

}  // namespace gpu
}  // namespace eepart
