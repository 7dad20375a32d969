// The CPU engine over the cost tables: evaluate given configurations, sweep all of them. (The exact
// search is search/search.hpp.)
#pragma once
#include <cstddef>
#include <cstdint>
#include <atomic>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "configs.hpp"
#include "parallel.hpp"
#include "tables.hpp"

namespace eepart {

// latency[i], accuracy[i] of every row of `configs`, and energy[i] when `energy` is given (the tables must
// carry energy tables). The rows are copied, a chunk at a time, into the engine's memory and checked there
// (ConfigRows) before they are read: a bad row is std::invalid_argument naming the first bad entry.
// `quantile` 0: the latency is the mean; q in (0, 1]: its q-quantile (quantile.hpp); the accuracy and the
// energy (an expectation) are the same either way. Call without the GIL.
void evaluate(const Tables& tables, const ConfigView& configs, double* latency, double* accuracy, int threads,
              const Poll& poll, double quantile = 0, double* energy = nullptr);

// What every sweep (CPU, CUDA) throws when it would keep more than max_rows rows: an
// std::invalid_argument that keeps its numbers, so that the bindings raise eepart_fast.errors.RowLimitError
// from them. Its message is row_limit_message's, which the Python backends' RowLimitError reads too.
std::string row_limit_message(const std::string& max_rows, const std::string& total);
class RowLimitExceeded : public std::invalid_argument {
   public:
    RowLimitExceeded(std::uint64_t max_rows, std::uint64_t total);
    std::uint64_t max_rows, total;
};

// Device bytes a GPU pareto search may hold by default (the host search's default is SearchOptions'):
// here, in the always-built core, so that Python reads it from _core whether or not _cuda was built.
constexpr std::size_t kDefaultDeviceMemory = std::size_t(4) << 30;

struct SweepOptions {
    double max_latency = std::numeric_limits<double>::infinity();
    double min_accuracy = -std::numeric_limits<double>::infinity();
    // Keeps rows of at most this energy (J); anything but inf needs tables that carry energy.
    double max_energy = std::numeric_limits<double>::infinity();
    std::uint64_t max_rows = std::uint64_t(1) << 62;
    int threads = 0;                                          // 0..kMaxThreads, 0: one per core
    double time_limit = std::numeric_limits<double>::infinity();  // seconds
    // Placements of one L are tabulated (and their latency prefixes reused across P_L) when there are
    // at most this many; beyond, each P walks its placements depth first. Tests lower it.
    std::uint64_t table_limit = 1u << 16;
    // Configurations per work item (at least; more when the sweep is huge). Tests lower it to split
    // runs of partitionings between items.
    std::uint64_t item_configs = 1u << 18;
    // 0: the latency column (and max_latency) is the mean; q in (0, 1]: the q-quantile of the latency.
    double quantile = 0;

    void check() const;  // std::invalid_argument naming the option
};

// Output columns of a sweep; the last two are rows × Lmax, -1 pads; energy written when the tables carry
// energy tables (then it must be given).
struct SweepColumns {
    double* latency;
    double* accuracy;
    std::int32_t* threshold_index;
    std::int32_t* num_partitions;
    std::int32_t* partitions;
    std::int32_t* placement;
    double* energy = nullptr;
};

// Every configuration in canonical order, keeping rows with latency <= max_latency,
// accuracy >= min_accuracy and (tables with energy) energy <= max_energy. Two passes: count() finds how many rows each work item keeps (nothing is
// stored, so the row cap is checked before any memory is taken), write() computes the kept rows again
// and writes each straight to its final place. Call both without the GIL. The time limit covers both.
class Sweep {
   public:
    Sweep(const Tables& tables, const SweepOptions& options, Poll poll);  // throws when it cannot be enumerated
    ~Sweep();
    Sweep(const Sweep&) = delete;
    Sweep& operator=(const Sweep&) = delete;

    int max_partitions() const;
    std::uint64_t configurations() const;
    // Rows kept; throws std::invalid_argument when more than options.max_rows would be kept. Where no bound
    // can drop a row (keeps_every_row) the count is every configuration's, in closed form: no first pass.
    std::uint64_t count();
    // Whether the bounds keep every configuration: none given, or ones every configuration meets as the
    // tables' own bounds prove (accuracy >= 0; a mean latency <= Tables::latency_bound; an energy <=
    // Tables::energy_bound).
    bool keeps_every_row() const;
    // After count(): fills the columns, which hold count() rows.
    void write(const SweepColumns& out);

    struct Plan;  // defined in sweep.cpp

   private:
    void for_items(std::size_t n, const std::function<void(std::size_t, const std::atomic<bool>&)>& body);
    std::unique_ptr<Plan> plan_;
};

}  // namespace eepart
