// sweep on the GPU. Configurations are never stored: the kernels (kernels.cuh, eep_sweep) generate them
// from their index. The index space is cut into warp items per (t, L): a run of P's (lexicographic
// ranks) with all their placements, or one P and a run of its placements. Items are laid out in
// canonical order (t, then L, then rank), and processed in chunks of items so that device memory stays
// bounded and Ctrl-C is polled between chunks. Per chunk: a count pass (kept rows per item), an
// exclusive scan of the counts (the first row of each item), then a write pass that puts each kept row at
// its place, in windows of at most window_rows rows, each copied back as soon as it is written. Only kept
// rows cross the bus, already in canonical order: no sort, no host-side filtering.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "configs.hpp"
#include "cuda_engine.hpp"
#include "quantile.hpp"

namespace eepart {
namespace gpu {
namespace {

constexpr std::uint64_t kSplit = 2048;              // EEP_SPLIT of kernels.cuh
constexpr std::uint64_t kMaxCodes = 1u << 16;       // placements tabulated per L at most (default)
constexpr std::uint64_t kDefaultChunkItems = 1u << 20;
constexpr std::uint64_t kDefaultWindowRows = 1u << 23;
constexpr std::uint64_t kMaxTotal = std::uint64_t(1) << 63;
constexpr int kIpSize = 16;                         // EEP_IP_SIZE

// C(n, k), or kMaxTotal when it passes it (such a sweep is refused anyway).
std::uint64_t choose_sat(int n, int k) { return std::min(choose(n, k), kMaxTotal); }

// One (t, L) segment's layout.
struct Segment {
    int L = 0;
    std::uint64_t nperm = 0, ncomb = 0, W = 0, splits = 1, items = 0;
    std::int64_t codes = -1;  // offset of its placement table in `codes`, or -1
    std::uint64_t radix = 0;  // offset of its radix in `radix`
    std::uint64_t offset = 0; // first item of the segment within one threshold
};

struct Launch {
    int L = 0, t0 = 0, nt = 0;
    std::uint64_t w0 = 0, w1 = 0, cbase = 0, cstride = 0;
};

struct Chunk {
    std::vector<Launch> launches;
    std::uint64_t items = 0;
};

// The L-permutations of range(M) in canonical order (configs.hpp), 4 bits per position.
void placements(int M, int L, std::vector<u64>& out) {
    std::vector<std::int32_t> rows;
    std::vector<std::uint8_t> last;
    tabulate_placements(M, L, L, rows, last);
    for (std::size_t r = 0; r < last.size(); ++r) {
        u64 code = 0;
        for (int k = 0; k < L; ++k) code |= static_cast<u64>(rows[r * L + k]) << (4 * k);
        out.push_back(code);
    }
}

std::string too_many_rows(std::uint64_t max_rows, std::uint64_t total) {
    return "sweep would keep more than " + std::to_string(max_rows) + " rows of " + std::to_string(total) +
           " configurations: tighten max_latency / min_accuracy or raise the memory cap";
}

std::vector<Chunk> plan_chunks(const std::vector<Segment>& segs, int K, std::uint64_t per_t, std::uint64_t cap) {
    std::vector<Chunk> chunks;
    if (per_t <= cap) {  // whole thresholds per chunk: one launch per L, thresholds on grid y
        const int tc = static_cast<int>(std::min<std::uint64_t>(cap / per_t, 65535));
        for (int t0 = 0; t0 < K; t0 += tc) {
            Chunk c;
            const int nt = std::min(tc, K - t0);
            for (const auto& s : segs)
                if (s.items) c.launches.push_back({s.L, t0, nt, 0, s.items, s.offset, per_t});
            c.items = per_t * static_cast<std::uint64_t>(nt);
            chunks.push_back(std::move(c));
        }
        return chunks;
    }
    Chunk c;
    for (int t = 0; t < K; ++t)
        for (const auto& s : segs)
            for (std::uint64_t w0 = 0; w0 < s.items; w0 += cap) {
                const std::uint64_t w1 = std::min(s.items, w0 + cap);
                if (c.items + (w1 - w0) > cap) {
                    chunks.push_back(std::move(c));
                    c = Chunk();
                }
                c.launches.push_back({s.L, t, 1, w0, w1, c.items, 0});
                c.items += w1 - w0;
            }
    if (c.items) chunks.push_back(std::move(c));
    return chunks;
}

}  // namespace

Rows sweep(const Tables& tb, const SweepOptions& opt, const Poll& poll) {
    check_quantile(opt.quantile);
    const int N = tb.N, M = tb.M, K = tb.K, Lmax = tb.max_partitions();
    const std::uint64_t total = count_configurations(N, M, K);
    if (total > kMaxTotal)
        throw std::invalid_argument("sweep: N = " + std::to_string(N) + ", M = " + std::to_string(M) + ", K = " +
                                    std::to_string(K) + " give more than 2^63 configurations, too many to enumerate");
    Rows out;
    out.Lmax = Lmax;

    std::vector<u64> binom(static_cast<std::size_t>(N + 1) * (Lmax + 1));
    for (int n = 0; n <= N; ++n)
        for (int k = 0; k <= Lmax; ++k) binom[static_cast<std::size_t>(n) * (Lmax + 1) + k] = choose_sat(n, k);

    std::vector<Segment> segs;
    std::vector<u64> codes, radix;
    std::uint64_t per_t = 0;
    for (int L = 1; L <= Lmax; ++L) {
        Segment s;
        s.L = L;
        s.nperm = 1;
        for (int i = 0; i < L; ++i) s.nperm *= static_cast<std::uint64_t>(M - i);
        s.ncomb = choose_sat(N, L);
        if (s.nperm <= 16) {
            std::uint64_t g = 1;
            while (g < s.nperm) g <<= 1;
            s.W = 64 * (32 / g);
        } else if (s.nperm <= kSplit) {
            s.W = std::max<std::uint64_t>(1, kSplit / s.nperm);
        } else {
            s.W = 1;
            s.splits = (s.nperm + kSplit - 1) / kSplit;
        }
        s.items = (s.ncomb + s.W - 1) / s.W * s.splits;
        if (s.nperm <= (opt.table_limit ? opt.table_limit : kMaxCodes)) {
            s.codes = static_cast<std::int64_t>(codes.size());
            placements(M, L, codes);
        }
        s.radix = radix.size();
        for (int k = 0; k < L; ++k) {
            std::uint64_t f = 1;  // (M-k-1)! / (M-L)!
            for (int i = M - L + 1; i <= M - k - 1; ++i) f *= static_cast<std::uint64_t>(i);
            radix.push_back(f);
        }
        s.offset = per_t;
        per_t += s.items;
        segs.push_back(s);
    }

    const std::uint64_t cap = opt.chunk_items ? opt.chunk_items : kDefaultChunkItems;
    const std::vector<Chunk> chunks = plan_chunks(segs, K, per_t, cap);

    TablesOnDevice dt(tb);
    Buffer<u64> d_binom, d_codes, d_radix;
    d_binom.put(binom.data(), binom.size());
    d_codes.put(codes.data(), codes.size());
    d_radix.put(radix.data(), radix.size());
    std::uint64_t max_items = 0;
    std::size_t max_launches = 0;
    for (const auto& c : chunks) {
        max_items = std::max(max_items, c.items);
        max_launches = std::max(max_launches, c.launches.size());
    }
    Buffer<u64> counts(max_items), offsets(max_items);
    Buffer<long long> ip(max_launches * kIpSize);
    const std::uint64_t window = std::max<std::uint64_t>(1, opt.window_rows ? opt.window_rows : kDefaultWindowRows);
    Buffer<double> w_lat, w_acc;
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

    std::vector<long long> host_ip;
    for (const auto& chunk : chunks) {
        host_ip.assign(chunk.launches.size() * kIpSize, 0);
        for (std::size_t i = 0; i < chunk.launches.size(); ++i) {
            const Launch& l = chunk.launches[i];
            const Segment& s = segs[l.L - 1];
            long long* d = &host_ip[i * kIpSize];
            d[0] = N, d[1] = M, d[2] = Lmax, d[3] = l.L;
            d[4] = static_cast<long long>(s.nperm), d[5] = static_cast<long long>(s.W);
            d[6] = static_cast<long long>(s.splits), d[7] = static_cast<long long>(s.ncomb);
            d[8] = l.t0, d[9] = static_cast<long long>(l.w0), d[10] = static_cast<long long>(l.w1);
            d[11] = static_cast<long long>(l.cbase), d[12] = static_cast<long long>(l.cstride);
            d[13] = s.codes >= 0 ? 1 : 0;
        }
        upload(ip.data(), host_ip.data(), host_ip.size() * sizeof(long long));

        auto run_pass = [&](bool write) {
            for (std::size_t i = 0; i < chunk.launches.size(); ++i) {
                const Launch& l = chunk.launches[i];
                const Segment& s = segs[l.L - 1];
                a.ip = ip.data() + i * kIpSize;
                a.codes = d_codes.data() + (s.codes >= 0 ? s.codes : 0);
                a.radix = d_radix.data() + s.radix;
                const std::uint64_t gx = (l.w1 - l.w0 + kSweepWarpsPerBlock - 1) / kSweepWarpsPerBlock;
                launch_sweep(l.L, write, static_cast<unsigned>(gx), static_cast<unsigned>(l.nt), a);
            }
        };

        run_pass(false);
        exclusive_sum(counts.data(), offsets.data(), chunk.items);
        u64 last_offset = 0, last_count = 0;
        offsets.get(&last_offset, 1, chunk.items - 1);
        counts.get(&last_count, 1, chunk.items - 1);
        const std::uint64_t kept = last_offset + last_count;
        if (kept > opt.max_rows - std::min(opt.max_rows, out.rows)) throw std::invalid_argument(too_many_rows(opt.max_rows, total));
        if (kept) {
            const std::uint64_t base = out.rows;
            out.resize(base + kept);
            const std::uint64_t wn = std::min(window, kept);
            w_lat.reset(wn), w_acc.reset(wn), w_t.reset(wn), w_L.reset(wn);
            w_P.reset(wn * Lmax), w_A.reset(wn * Lmax);
            a.o_lat = w_lat.data(), a.o_acc = w_acc.data(), a.o_t = w_t.data(), a.o_L = w_L.data();
            a.o_P = w_P.data(), a.o_A = w_A.data();
            for (std::uint64_t lo = 0; lo < kept; lo += wn) {
                const std::uint64_t hi = std::min(kept, lo + wn), n = hi - lo, at = base + lo;
                a.lo = lo;
                a.hi = hi;
                run_pass(true);
                w_lat.get(out.latency.data() + at, n);
                w_acc.get(out.accuracy.data() + at, n);
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
