// sweep on the GPU. Configurations are never stored: the kernels (kernels.cuh, eep_sweep) generate them
// from their index. The index space is cut into warp items per (t, L): a run of P's (lexicographic
// ranks) with all their placements, or one P and a run of its placements. Items are laid out in
// canonical order (t, then L, then rank), and processed in chunks of items so that device memory stays
// bounded and Ctrl-C is polled between chunks. Per chunk: a count pass (kept rows per item), an
// exclusive scan of the counts (the first row of each item), then a write pass that puts each kept row at
// its place, in windows of at most window_rows rows, each copied back as soon as it is written. Only kept
// rows cross the bus, already in canonical order: no sort, no host-side filtering.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "configs.hpp"
#include "cuda_engine.hpp"
#include "engine.hpp"
#include "quantile.hpp"
#include "sweep_plan.hpp"

namespace eepart {
namespace gpu {
namespace {

// The plan (core/sweep_plan.hpp) sizes its grids for the launcher's block; the CuPy backend reads the plan's.
static_assert(kSweepBlockWarps == kSweepWarpsPerBlock, "sweep_plan.hpp and launch.hpp disagree on warps per block");

// The plan's std::uint64_t and the kernels' unsigned long long: the same 64 bits, named differently.
static_assert(sizeof(std::uint64_t) == sizeof(u64), "u64 is 64 bits");
const u64* as_u64(const std::vector<std::uint64_t>& v) { return reinterpret_cast<const u64*>(v.data()); }

}  // namespace

Rows sweep(const Tables& tb, const SweepOptions& opt, const Poll& poll) {
    check_quantile(opt.quantile);
    if (std::isnan(opt.max_energy)) throw std::invalid_argument("max_energy = nan: must be a number (or +-inf)");
    if (opt.max_energy != std::numeric_limits<double>::infinity() && !tb.has_energy())
        throw std::invalid_argument("max_energy: the tables carry no energy tables (give energy= with them)");
    const SweepPlan plan = plan_sweep(tb.N, tb.M, tb.K, opt.chunk_items, opt.table_limit);
    const int Lmax = plan.Lmax;
    const std::uint64_t total = plan.total;
    const std::vector<SweepChunk>& chunks = plan.chunks;
    Rows out;
    out.Lmax = Lmax;
    out.with_energy = tb.has_energy();

    TablesOnDevice dt(tb);
    Buffer<u64> d_binom, d_codes, d_radix;
    d_binom.put(as_u64(plan.binom), plan.binom.size());
    d_codes.put(as_u64(plan.codes), plan.codes.size());
    d_radix.put(as_u64(plan.radix), plan.radix.size());
    std::uint64_t max_items = 0;
    std::size_t max_launches = 0;
    for (const auto& c : chunks) {
        max_items = std::max(max_items, c.items);
        max_launches = std::max(max_launches, c.launches.size());
    }
    Buffer<u64> counts(max_items), offsets(max_items);
    Buffer<long long> ip(max_launches * kSweepIpSize);
    const std::uint64_t window = std::max<std::uint64_t>(1, opt.window_rows ? opt.window_rows : kSweepWindowRows);
    Buffer<double> w_lat, w_acc, w_energy;
    Buffer<int> w_t, w_L, w_P, w_A;

    SweepArgs a{};
    a.tb = dt.view();
    a.binom = d_binom.data();
    a.max_lat = opt.max_latency;
    a.min_acc = opt.min_accuracy;
    a.quantile = opt.quantile;
    a.theta = quantile_theta(opt.quantile);
    a.counts = counts.data();
    a.offsets = offsets.data();
    a.energy = dt.energy_view();
    a.max_energy = opt.max_energy;

    std::vector<long long> host_ip;
    for (const auto& chunk : chunks) {
        host_ip.assign(chunk.launches.size() * kSweepIpSize, 0);
        for (std::size_t i = 0; i < chunk.launches.size(); ++i)
            plan.launch_params(chunk.launches[i], &host_ip[i * kSweepIpSize]);
        upload(ip.data(), host_ip.data(), host_ip.size() * sizeof(long long));

        auto run_pass = [&](bool write) {
            for (std::size_t i = 0; i < chunk.launches.size(); ++i) {
                const SweepLaunch& l = chunk.launches[i];
                const SweepSegment& s = plan.segment(l.L);
                a.ip = ip.data() + i * kSweepIpSize;
                a.codes = d_codes.data() + (s.codes >= 0 ? s.codes : 0);
                a.radix = d_radix.data() + s.radix;
                const std::uint64_t gx = (l.w1 - l.w0 + kSweepBlockWarps - 1) / kSweepBlockWarps;
                launch_sweep(l.L, write, static_cast<unsigned>(gx), static_cast<unsigned>(l.nt), a);
            }
        };

        run_pass(false);
        exclusive_sum(counts.data(), offsets.data(), chunk.items);
        u64 last_offset = 0, last_count = 0;
        offsets.get(&last_offset, 1, chunk.items - 1);
        counts.get(&last_count, 1, chunk.items - 1);
        const std::uint64_t kept = last_offset + last_count;
        if (kept > opt.max_rows - std::min(opt.max_rows, out.rows)) throw RowLimitExceeded(opt.max_rows, total);
        if (kept) {
            const std::uint64_t base = out.rows;
            out.resize(base + kept);
            const std::uint64_t wn = std::min(window, kept);
            w_lat.reset(wn), w_acc.reset(wn), w_t.reset(wn), w_L.reset(wn);
            w_P.reset(wn * Lmax), w_A.reset(wn * Lmax);
            if (out.with_energy) w_energy.reset(wn);
            a.o_energy = w_energy.data();
            a.o_lat = w_lat.data(), a.o_acc = w_acc.data(), a.o_t = w_t.data(), a.o_L = w_L.data();
            a.o_P = w_P.data(), a.o_A = w_A.data();
            for (std::uint64_t lo = 0; lo < kept; lo += wn) {
                const std::uint64_t hi = std::min(kept, lo + wn), n = hi - lo, at = base + lo;
                a.lo = lo;
                a.hi = hi;
                run_pass(true);
                w_lat.get(out.latency.data() + at, n);
                w_acc.get(out.accuracy.data() + at, n);
                if (out.with_energy) w_energy.get(out.energy.data() + at, n);
                w_t.get(out.threshold_index.data() + at, n);
                w_L.get(out.num_partitions.data() + at, n);
                w_P.get(out.partitions.data() + at * Lmax, n * Lmax);
                w_A.get(out.placement.data() + at * Lmax, n * Lmax);
                if (hi < kept) poll();
            }
        }
        poll();
    }
    return out;
}

}  // namespace gpu
}  // namespace eepart
