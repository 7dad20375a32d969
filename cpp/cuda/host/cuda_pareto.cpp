// pareto on the GPU: the exact search of cpp/core/search/ (labels per state, dominance within a state,
// branch and bound with the same relaxed bounds), with every threshold and every state of a layer
// processed at once on the device:
//   bounds      one block per (threshold, lambda) runs the relaxed backward programmes;
//   layer 1     one thread per (t, q, tier): complete plans and first labels;
//   layer L+1   one thread per (label, free tier, next end q): the complete plan and the next label,
//               each dropped on the device when the frontier found so far (or the bounds) rule it out;
//               survivors sorted by (state, latency, accuracy falling), and a segmented running maximum
//               of the accuracy keeps the labels no other label of their state dominates.
// What stays on the host, and why: the loop over layers and chunks (a few dozen steps, each a handful
// of launches, where the next step's size is only known after the last one); and the frontier found so
// far, a staircase of at most a few thousand points into which each chunk's complete plans, already cut
// to their own staircase on the device, are merged: the merge is sequential, tiny, and keeps the
// configuration first in canonical order on exact ties, for which it needs the configurations.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <stdexcept>

#include "cuda_engine.hpp"
#include "pareto_host.hpp"

namespace eepart {
namespace gpu {
namespace {

// A run of the labels of one threshold, all ending before q: slots = (M - L) per label.
struct Piece {
    int t, q;
    u64 lab, n;
};

class Search {
public:
    Search(const Tables& T, const ParetoOptions& opt, const Poll& poll)
        : T_(T), opt_(opt), poll_(poll), dt_(T), N_(T.N), M_(T.M), K_(T.K), Lmax_(T.max_partitions()) {}

    Rows run(ParetoStats* stats, std::chrono::steady_clock::time_point start) {
        auto step = [&] {  // profiling for _pareto_stats only: it waits for the device
            if (!stats) return;
            synchronize();
            const auto now = std::chrono::steady_clock::now();
            stats_.step_seconds.push_back(std::chrono::duration<double>(now - start).count());
            start = now;
        };
        step();
        setup_bounds();
        step();
        first_layer();
        step();
        for (int L = 1; L < Lmax_ && n_cur_ > 0; ++L) {
            prune();
            if (n_cur_ == 0) break;
            next_layer(L);
            std::swap(cur_, next_);
            n_cur_ = n_next_;
            step();
            poll_();
        }
        Rows out = frontier_rows(stair_, Lmax_);
        step();
        if (stats) {
            *stats = stats_;
            stats->peak_bytes = peak_;
        }
        return out;
    }

private:
    const Tables& T_;
    const ParetoOptions opt_;
    const Poll& poll_;
    TablesOnDevice dt_;
    const int N_, M_, K_, Lmax_;
    int J_ = 0;
    std::vector<double> lam_, slack_;
    Buffer<double> d_lam_, d_slack_, phi_, acc_ub_;
    Buffer<double> F_;  // the frontier found so far on the device: nF latencies, then nF accuracies
    Staircase stair_;

    Buffer<Node> nodes_;
    u64 n_nodes_ = 0;
    Buffer<Label> cur_, next_, spare_;
    u64 n_cur_ = 0, n_next_ = 0;

    Buffer<Cand> term_, cand_, packed_;
    Buffer<u64> counters_, flag_, off_, keys_;
    Buffer<double> accs_, pm_;
    Buffer<PlanRow> plans_;
    Buffer<Entry> entries_;
    Buffer<unsigned> hist_;

    ParetoStats stats_;
    std::size_t peak_ = 0;

    SearchView view() const {
        SearchView v{};
        v.N = N_, v.M = M_, v.K = K_, v.Lmax = Lmax_, v.J = J_;
        const DeviceTables& d = dt_.view();
        v.input = d.input, v.compT = d.compT, v.fwd = d.fwd, v.res = d.res, v.cum = d.cum, v.acc = d.acc;
        v.phi = phi_.data(), v.acc_ub = acc_ub_.data(), v.lam = d_lam_.data(), v.slack = d_slack_.data();
        v.nF = static_cast<int>(stair_.pts.size());
        v.F_lat = F_.data(), v.F_acc = F_.data() + v.nF;
        v.min_acc = opt_.min_accuracy, v.max_lat = opt_.max_latency;
        return v;
    }

    std::size_t held() const {
        return nodes_.bytes() + cur_.bytes() + next_.bytes() + spare_.bytes() + term_.bytes() + cand_.bytes() +
               packed_.bytes() + flag_.bytes() + off_.bytes() + keys_.bytes() + accs_.bytes() + pm_.bytes() +
               phi_.bytes() + acc_ub_.bytes() + plans_.bytes() + F_.bytes();
    }

    // (std::string, not std::ostringstream: on the lent H100 image, formatting through an ostringstream in
    // this module crashed inside libstdc++; std::to_string did not.)
    [[noreturn]] void over_cap(std::size_t need) const {
        throw std::invalid_argument("pareto: the search needs more than max_memory = " +
                                    std::to_string(opt_.max_memory) + " bytes of device memory (" +
                                    std::to_string(need) + " asked; N = " + std::to_string(N_) + ", M = " +
                                    std::to_string(M_) + ", K = " + std::to_string(K_) +
                                    "); raise max_memory, or narrow the search with min_accuracy / max_latency");
    }

    // Grows a buffer (keeping `keep` elements) after checking the cap, so that the device never runs out first.
    template <class T>
    void room(Buffer<T>& b, u64 n, u64 keep = 0) {
        if (b.size() >= n && b.data()) return;
        const u64 want = std::max<u64>(n, b.size() + b.size() / 2);
        const std::size_t after = held() - b.bytes() + want * sizeof(T);
        if (after > opt_.max_memory) {
            const std::size_t exact = held() - b.bytes() + n * sizeof(T);
            if (exact > opt_.max_memory) over_cap(exact);
            b.grow(n, keep);
        } else {
            b.grow(want, keep);
        }
        peak_ = std::max(peak_, held());
    }

    void setup_bounds() {
        BoundParams bp = bound_params(T_, opt_.max_memory);
        lam_ = std::move(bp.lam);
        slack_ = std::move(bp.slack);
        J_ = static_cast<int>(lam_.size());
        d_lam_.put(lam_.data(), lam_.size());
        d_slack_.put(slack_.data(), slack_.size());
        room(phi_, static_cast<u64>(J_ + 1) * K_ * (N_ + 1) * M_);
        room(acc_ub_, static_cast<u64>(K_) * (N_ + 1));
        F_.reset(2);
        launch_bounds(view(), phi_.data(), acc_ub_.data());
    }

    // Keeps the plans of a batch (device array, any order) that can be on the frontier, and merges them in.
    void take_plans(Cand* d, u64 n) {
        stats_.terminals += n;
        if (n == 0) return;
        sort_terminals(d, n);
        room(accs_, n), room(pm_, n), room(keys_, n);
        launch_extract(d, n, accs_.data(), keys_.data());
        inclusive_max(accs_.data(), pm_.data(), n);
        flags(n);
        launch_flag_terminals(d, pm_.data(), n, flag_.data());
        const u64 kept = scan(n);
        room(packed_, kept), room(plans_, kept);
        launch_scatter(d, flag_.data(), off_.data(), n, packed_.data());
        launch_reconstruct(packed_.data(), kept, nodes_.data(), N_, plans_.data());
        std::vector<PlanRow> rows(kept);
        plans_.get(rows.data(), kept);
        for (const PlanRow& r : rows) insert(stair_, r);
        const std::size_t nF = stair_.pts.size();
        std::vector<double> f(2 * nF);
        for (std::size_t i = 0; i < nF; ++i) f[i] = stair_.lat[i], f[nF + i] = stair_.acc[i];
        F_.reset(std::max<std::size_t>(2 * nF, 2));
        if (nF) upload(F_.data(), f.data(), f.size() * sizeof(double));
    }

    // Room for n flags and their offsets, and one more flag, zero, so that the scan also gives the total.
    void flags(u64 n) {
        room(flag_, n + 1), room(off_, n + 1);
        zero(flag_.data() + n, sizeof(u64));
    }

    // Offsets of the flags set in flag_[0..n) (see flags), and how many are set: one round trip.
    u64 scan(u64 n) {
        exclusive_sum(flag_.data(), off_.data(), n + 1);
        u64 total = 0;
        off_.get(&total, 1, n);
        return total;
    }

    void first_layer() {
        const u64 n = static_cast<u64>(K_) * N_ * M_;
        room(term_, n), room(spare_, n);
        flags(n);
        Buffer<u64> lab_flag(n + 1), lab_off(n + 1);
        zero(lab_flag.data() + n, sizeof(u64));
        launch_first_layer(view(), term_.data(), flag_.data(), spare_.data(), lab_flag.data());
        stats_.candidates += n;
        exclusive_sum(lab_flag.data(), lab_off.data(), n + 1);
        u64 nl = 0;
        lab_off.get(&nl, 1, n);
        room(cur_, nl), room(nodes_, nl);
        launch_scatter_first(spare_.data(), lab_flag.data(), lab_off.data(), n, 0, cur_.data(), nodes_.data());
        n_cur_ = n_nodes_ = nl;
        stats_.labels += nl;
        const u64 nt = scan(n);
        room(cand_, nt);
        launch_scatter(term_.data(), flag_.data(), off_.data(), n, cand_.data());
        take_plans(cand_.data(), nt);
    }

    void prune() {
        flags(n_cur_);
        room(next_, n_cur_);
        launch_prune(view(), cur_.data(), n_cur_, flag_.data());
        const u64 kept = scan(n_cur_);
        launch_scatter(cur_.data(), flag_.data(), off_.data(), n_cur_, next_.data());
        std::swap(cur_, next_);
        n_cur_ = kept;
    }

    u64 chunk_slots() const {
        if (opt_.chunk_slots) return opt_.chunk_slots;
        return std::min<u64>(u64(1) << 23, std::max<u64>(u64(1) << 12, opt_.max_memory / 512));
    }

    void next_layer(int L) {
        const u64 F = static_cast<u64>(M_ - L);
        const std::size_t stride = static_cast<std::size_t>(N_ + 1);
        std::vector<unsigned> hist(static_cast<std::size_t>(K_) * stride, 0);
        hist_.reset(hist.size());
        zero(hist_.data(), hist.size() * sizeof(unsigned));
        launch_histogram(cur_.data(), n_cur_, N_, hist_.data());
        hist_.get(hist.data(), hist.size());

        const u64 budget = chunk_slots();
        const u64 max_labels = std::max<u64>(1, budget / F);
        std::vector<std::vector<Piece>> chunks(1);
        u64 in_chunk = 0, begin = 0;
        for (int t = 0; t < K_; ++t) {
            u64 prefix = 0, of_t = 0;
            for (int p = 0; p <= N_; ++p) of_t += hist[t * stride + p];
            for (int q = 2; q <= N_; ++q) {
                prefix += hist[t * stride + q - 1];
                for (u64 l0 = 0; l0 < prefix; l0 += max_labels) {
                    const u64 nl = std::min(max_labels, prefix - l0);
                    if (in_chunk + nl * F > budget && in_chunk > 0) {
                        chunks.emplace_back();
                        in_chunk = 0;
                    }
                    chunks.back().push_back({t, q, begin + l0, nl});
                    in_chunk += nl * F;
                }
            }
            begin += of_t;
        }
        n_next_ = 0;
        for (const auto& pieces : chunks) {
            if (pieces.empty()) continue;
            generate(L, F, pieces);
            poll_();
        }
    }

    void generate(int L, u64 F, const std::vector<Piece>& pieces) {
        const std::size_t ne = pieces.size();
        std::vector<Entry> entries(ne);
        u64 slots = 0;
        for (std::size_t e = 0; e < ne; ++e) {
            entries[e] = Entry{slots, pieces[e].lab, pieces[e].t, pieces[e].q};
            slots += pieces[e].n * F;
        }
        entries_.put(entries.data(), ne);
        room(term_, slots), room(cand_, slots);
        counters_.reset(2);
        zero(counters_.data(), 2 * sizeof(u64));
        launch_generate(view(), L, cur_.data(), entries_.data(), static_cast<int>(ne), slots, term_.data(),
                        counters_.data(), cand_.data(), counters_.data() + 1);
        u64 got[2] = {0, 0};
        counters_.get(got, 2);
        stats_.candidates += slots;
        ++stats_.chunks;
        take_plans(term_.data(), got[0]);
        keep_labels(got[1]);
    }

    // The candidates in cand_[0..n): sorted by state, those no other of their state dominates become labels.
    void keep_labels(u64 n) {
        if (n == 0) return;
        sort_labels(cand_.data(), n);
        room(accs_, n), room(pm_, n), room(keys_, n);
        flags(n);
        launch_extract(cand_.data(), n, accs_.data(), keys_.data());
        inclusive_max_by_key(keys_.data(), accs_.data(), pm_.data(), n);
        launch_flag_labels(keys_.data(), accs_.data(), pm_.data(), n, flag_.data());
        const u64 kept = scan(n);
        if (n_nodes_ + kept >= kNoParent) over_cap(held());
        room(next_, n_next_ + kept, n_next_);
        room(nodes_, n_nodes_ + kept, n_nodes_);
        launch_make_labels(cand_.data(), flag_.data(), off_.data(), n, N_, n_next_, n_nodes_, next_.data(),
                           nodes_.data());
        n_next_ += kept;
        n_nodes_ += kept;
        stats_.labels += kept;
    }
};

}  // namespace

Rows pareto(const Tables& tb, const ParetoOptions& opt, const Poll& poll, ParetoStats* stats) {
    if (std::isnan(opt.min_accuracy)) throw std::invalid_argument("min_accuracy = nan: must be a number");
    if (std::isnan(opt.max_latency)) throw std::invalid_argument("max_latency = nan: must be a number");
    if (opt.max_memory == 0) throw std::invalid_argument("max_memory = 0: must be a positive number of bytes");
    const auto start = std::chrono::steady_clock::now();
    if (opt.engine != ParetoEngine::Layered) {
        Rows out;
        if (pareto_fused(tb, opt, poll, stats, &out)) return out;
        if (opt.engine == ParetoEngine::Fused)
            throw std::invalid_argument(
                "pareto: a threshold's search outgrew the room of one thread block (fused_room = " +
                std::to_string(opt.fused_room) + ", max_memory = " + std::to_string(opt.max_memory) +
                "); use engine='auto' or 'layered'");
    }
    Search search(tb, opt, poll);
    Rows out = search.run(stats, start);
    if (stats) stats->engine = opt.engine == ParetoEngine::Layered ? "layered" : "fused, out of room; layered";
    return out;
}

}  // namespace gpu
}  // namespace eepart
