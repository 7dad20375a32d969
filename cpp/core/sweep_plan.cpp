#include "sweep_plan.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "configs.hpp"
#include "tables.hpp"

namespace eepart {
namespace {

// C(n, k), or kSweepMaxTotal when it passes it (such a sweep is refused anyway).
std::uint64_t choose_sat(int n, int k) { return std::min(choose(n, k), kSweepMaxTotal); }

// The L-permutations of range(M) in canonical order (configs.hpp), 4 bits per position.
void placements(int M, int L, std::vector<std::uint64_t>& out) {
    std::vector<std::int32_t> rows;
    std::vector<std::uint8_t> last;
    tabulate_placements(M, L, L, rows, last);
    for (std::size_t r = 0; r < last.size(); ++r) {
        std::uint64_t code = 0;
        for (int k = 0; k < L; ++k) code |= static_cast<std::uint64_t>(rows[r * L + k]) << (4 * k);
        out.push_back(code);
    }
}

void check_dimension(const char* name, int value, int limit) {
    if (value < 1 || value > limit)
        throw std::invalid_argument(std::string("plan_sweep: ") + name + " = " + std::to_string(value) +
                                    ": must be in 1.." + std::to_string(limit));
}

std::vector<SweepChunk> plan_chunks(const std::vector<SweepSegment>& segs, int K, std::uint64_t per_t,
                                    std::uint64_t cap) {
    std::vector<SweepChunk> chunks;
    if (per_t <= cap) {  // whole thresholds per chunk: one launch per L, thresholds on grid y (at most 65535)
        const int tc = static_cast<int>(std::min<std::uint64_t>(cap / per_t, 65535));
        for (int t0 = 0; t0 < K; t0 += tc) {
            SweepChunk c;
            const int nt = std::min(tc, K - t0);
            for (const auto& s : segs)
                if (s.items) c.launches.push_back({s.L, t0, nt, 0, s.items, s.offset, per_t});
            c.items = per_t * static_cast<std::uint64_t>(nt);
            chunks.push_back(std::move(c));
        }
        return chunks;
    }
    SweepChunk c;
    for (int t = 0; t < K; ++t)
        for (const auto& s : segs)
            for (std::uint64_t w0 = 0; w0 < s.items; w0 += cap) {
                const std::uint64_t w1 = std::min(s.items, w0 + cap);
                if (c.items + (w1 - w0) > cap) {
                    chunks.push_back(std::move(c));
                    c = SweepChunk();
                }
                c.launches.push_back({s.L, t, 1, w0, w1, c.items, 0});
                c.items += w1 - w0;
            }
    if (c.items) chunks.push_back(std::move(c));
    return chunks;
}

}  // namespace

void SweepPlan::launch_params(const SweepLaunch& l, long long* d) const {
    const SweepSegment& s = segment(l.L);
    std::fill(d, d + kSweepIpSize, 0LL);
    d[0] = N, d[1] = M, d[2] = Lmax, d[3] = l.L;
    d[4] = static_cast<long long>(s.nperm), d[5] = static_cast<long long>(s.W);
    d[6] = static_cast<long long>(s.splits), d[7] = static_cast<long long>(s.ncomb);
    d[8] = l.t0, d[9] = static_cast<long long>(l.w0), d[10] = static_cast<long long>(l.w1);
    d[11] = static_cast<long long>(l.cbase), d[12] = static_cast<long long>(l.cstride);
    d[13] = s.codes >= 0 ? 1 : 0;
}

SweepPlan plan_sweep(int N, int M, int K, std::uint64_t chunk_items, std::uint64_t table_limit) {
    check_dimension("N", N, kMaxBlocks);
    check_dimension("M", M, kMaxTiers);  // also keeps a tier in the 4 bits of a code
    check_dimension("K", K, kMaxThresholds);
    SweepPlan p;
    p.N = N, p.M = M, p.K = K, p.Lmax = std::min(N, M);
    p.total = count_configurations(N, M, K);
    if (p.total > kSweepMaxTotal)
        throw std::invalid_argument("sweep: N = " + std::to_string(N) + ", M = " + std::to_string(M) + ", K = " +
                                    std::to_string(K) + " give more than 2^63 configurations, too many to enumerate");
    const int Lmax = p.Lmax;
    p.binom.resize(static_cast<std::size_t>(N + 1) * (Lmax + 1));
    for (int n = 0; n <= N; ++n)
        for (int k = 0; k <= Lmax; ++k) p.binom[static_cast<std::size_t>(n) * (Lmax + 1) + k] = choose_sat(n, k);

    const std::uint64_t tabulate = table_limit ? table_limit : kSweepMaxCodes;
    for (int L = 1; L <= Lmax; ++L) {
        SweepSegment s;
        s.L = L;
        s.nperm = arrangements(M, L);
        s.ncomb = choose_sat(N, L);
        if (s.nperm <= 16) {  // lanes in groups of a power of two over consecutive P's
            std::uint64_t g = 1;
            while (g < s.nperm) g <<= 1;
            s.W = 64 * (32 / g);
        } else if (s.nperm <= kSweepSplit) {
            s.W = std::max<std::uint64_t>(1, kSweepSplit / s.nperm);
        } else {
            s.W = 1;
            s.splits = (s.nperm + kSweepSplit - 1) / kSweepSplit;
        }
        s.items = (s.ncomb + s.W - 1) / s.W * s.splits;
        if (s.nperm <= tabulate) {
            s.codes = static_cast<std::int64_t>(p.codes.size());
            placements(M, L, p.codes);
        }
        s.radix = p.radix.size();
        for (int k = 0; k < L; ++k) p.radix.push_back(arrangements(M - k - 1, L - k - 1));
        s.offset = p.per_t;
        p.per_t += s.items;
        p.segments.push_back(s);
    }
    p.chunks = plan_chunks(p.segments, K, p.per_t, chunk_items ? chunk_items : kSweepChunkItems);
    return p;
}

}  // namespace eepart
