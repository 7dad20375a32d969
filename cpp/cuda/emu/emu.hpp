// A small SIMT emulator, so that the kernels can be built with a host compiler and tested on machines
// without a GPU (the `_cuda_emu` module, CMake option EEPART_FAST_EMULATOR). Each thread of a block is a coroutine (ucontext); the
// block runs on one host thread, lane by lane, until every lane waits at the same collective
// (__syncthreads for the block; ballot, shuffle, syncwarp for a warp), which is then resolved.
// Collectives are checked strictly: a full-mask warp collective that some lane of the warp misses
// (it exited, or waits elsewhere) is an error, as it would be undefined behaviour on a GPU.
// Blocks run one after the other, so `__shared__` can be a static variable.
#pragma once

#include <ucontext.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

namespace emu {

enum class State { Runnable, WarpWait, BlockWait, Done };
enum class Op { None, Ballot, ShflIdx, ShflDown, SyncWarp };

struct Lane {
    ucontext_t ctx;
    std::vector<char> stack;
    dim3 tid;
    State state = State::Runnable;
    Op op = Op::None;
    unsigned mask = 0;
    std::uint64_t in = 0, out = 0;
    int arg = 0;
};

struct Block {
    dim3 bid, bdim, gdim;
    std::vector<Lane> lanes;
    ucontext_t sched;
    int cur = -1;
    const std::function<void()>* body = nullptr;
};

inline Block*& current_block() {
    static Block* b = nullptr;
    return b;
}
inline Lane& current_lane() { return current_block()->lanes[current_block()->cur]; }

[[noreturn]] inline void fail(const std::string& what) { throw std::logic_error("emulated kernel: " + what); }

inline void lane_entry() {
    Block* b = current_block();
    (*b->body)();
    b->lanes[b->cur].state = State::Done;
    swapcontext(&b->lanes[b->cur].ctx, &b->sched);
}

inline void yield_to_scheduler() {
    Block* b = current_block();
    swapcontext(&b->lanes[b->cur].ctx, &b->sched);
}

inline std::uint64_t warp_op(Op op, unsigned mask, std::uint64_t value, int arg) {
    if (mask != 0xffffffffu) {  // inside a lane's coroutine: no exception may cross swapcontext
        std::fprintf(stderr, "emulated kernel: only full-mask warp collectives are emulated\n");
        std::abort();
    }
    Lane& l = current_lane();
    l.state = State::WarpWait;
    l.op = op;
    l.mask = mask;
    l.in = value;
    l.arg = arg;
    yield_to_scheduler();
    return current_lane().out;
}

inline void resolve_warp(Block& b, int w) {
    const int n = static_cast<int>(b.lanes.size());
    const int first = w * 32, last = std::min(n, first + 32);
    Op op = b.lanes[first].op;
    for (int i = first; i < last; ++i) {
        if (b.lanes[i].state != State::WarpWait) fail("a warp collective that not every lane of the warp reaches");
        if (b.lanes[i].op != op) fail("lanes of one warp wait at different collectives");
    }
    if (last - first != 32) fail("a warp collective in a block whose size is not a multiple of 32");
    unsigned ballot = 0;
    for (int i = first; i < last; ++i)
        if (b.lanes[i].in) ballot |= 1u << (i - first);
    for (int i = first; i < last; ++i) {
        Lane& l = b.lanes[i];
        const int lane = i - first;
        switch (op) {
            case Op::Ballot: l.out = ballot; break;
            case Op::ShflIdx: l.out = b.lanes[first + (l.arg & 31)].in; break;
            case Op::ShflDown: l.out = lane + l.arg < 32 ? b.lanes[i + l.arg].in : l.in; break;
            default: l.out = 0; break;
        }
        l.state = State::Runnable;
        l.op = Op::None;
    }
}

inline void run_block(Block& b) {
    current_block() = &b;
    const int n = static_cast<int>(b.lanes.size());
    for (;;) {
        bool ran = false;
        for (int i = 0; i < n; ++i) {
            if (b.lanes[i].state != State::Runnable) continue;
            b.cur = i;
            swapcontext(&b.sched, &b.lanes[i].ctx);
            ran = true;
        }
        int done = 0, block_wait = 0, warp_wait = 0;
        for (auto& l : b.lanes) {
            done += l.state == State::Done;
            block_wait += l.state == State::BlockWait;
            warp_wait += l.state == State::WarpWait;
        }
        if (done == n) return;
        if (warp_wait > 0) {
            for (int w = 0; w * 32 < n; ++w) {
                bool any = false;
                for (int i = w * 32; i < std::min(n, w * 32 + 32); ++i) any |= b.lanes[i].state == State::WarpWait;
                if (!any) continue;
                bool all = true;
                for (int i = w * 32; i < std::min(n, w * 32 + 32); ++i)
                    all &= b.lanes[i].state == State::WarpWait;
                if (all) resolve_warp(b, w);
                else if (!ran) resolve_warp(b, w);  // fails with the reason
            }
            continue;
        }
        if (block_wait + done == n) {
            for (auto& l : b.lanes)
                if (l.state == State::BlockWait) l.state = State::Runnable;
            continue;
        }
        if (!ran) fail("deadlock");
    }
}

// Runs `body` (the kernel call) for every thread of the grid.
inline void launch(dim3 grid, dim3 block, const std::function<void()>& body) {
    const unsigned threads = block.x * block.y * block.z;
    if (threads == 0 || threads > 1024) fail("bad block size " + std::to_string(threads));
    Block b;
    b.bdim = block;
    b.gdim = grid;
    b.body = &body;
    b.lanes.resize(threads);
    for (auto& l : b.lanes) l.stack.resize(1 << 16);
    for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) {
                b.bid = dim3(x, y, z);
                for (unsigned i = 0; i < threads; ++i) {
                    Lane& l = b.lanes[i];
                    l.tid = dim3(i % block.x, (i / block.x) % block.y, i / (block.x * block.y));
                    l.state = State::Runnable;
                    l.op = Op::None;
                    getcontext(&l.ctx);
                    l.ctx.uc_stack.ss_sp = l.stack.data();
                    l.ctx.uc_stack.ss_size = l.stack.size();
                    l.ctx.uc_link = nullptr;
                    makecontext(&l.ctx, lane_entry, 0);
                }
                run_block(b);
            }
    current_block() = nullptr;
}

}  // namespace emu

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)
#define __restrict__
#define __grid_constant__

#define threadIdx (emu::current_lane().tid)
#define blockIdx (emu::current_block()->bid)
#define blockDim (emu::current_block()->bdim)
#define gridDim (emu::current_block()->gdim)

inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline long long clock64() { return 0; }  // no clock to read: the phases' cycle counts stay 0
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline double __longlong_as_double(long long x) {
    double d;
    std::memcpy(&d, &x, sizeof d);
    return d;
}

inline void __syncthreads() {
    emu::current_lane().state = emu::State::BlockWait;
    emu::yield_to_scheduler();
}
inline void __syncwarp(unsigned mask = 0xffffffffu) { emu::warp_op(emu::Op::SyncWarp, mask, 0, 0); }
inline unsigned __ballot_sync(unsigned mask, int pred) {
    return static_cast<unsigned>(emu::warp_op(emu::Op::Ballot, mask, pred ? 1 : 0, 0));
}
template <class T>
inline T __shfl_sync(unsigned mask, T v, int src) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof v);
    bits = emu::warp_op(emu::Op::ShflIdx, mask, bits, src);
    T out;
    std::memcpy(&out, &bits, sizeof out);
    return out;
}
template <class T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof v);
    bits = emu::warp_op(emu::Op::ShflDown, mask, bits, static_cast<int>(delta));
    T out;
    std::memcpy(&out, &bits, sizeof out);
    return out;
}
template <class T>
inline T atomicOr(T* p, T v) {  // as atomicAdd below
    T old = *p;
    *p = old | v;
    return old;
}
template <class T>
inline T atomicAdd(T* p, T v) {  // lanes never run at once: a plain add is atomic here
    T old = *p;
    *p = old + v;
    return old;
}
