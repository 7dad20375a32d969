// The memory cap of the exact search: every worker's buffers counted against one budget, and checked
// before they grow, so that the search stops with an error before the machine runs out.
//
// What is counted: the capacity of every buffer of labels, candidates, states, skip masks, staircases
// and bounds. A buffer grows only when the budget holds its old and its new capacity together (both are
// allocated while the elements move), so the counted bytes never pass the cap at any instant. What is
// not counted is small beside it (the tables, a few vectors per threshold): the process's peak memory
// stays below its memory before the search + max_memory + a few MB (tests/test_engine_limits.py
// measures it).
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>

namespace eepart {

class MemoryBudget {
   public:
    // `over_message` says what ran out (formatted only then).
    MemoryBudget(std::size_t cap, std::function<std::string()> over_message)
        : cap_(static_cast<long long>(cap)), message_(std::move(over_message)) {}

    long long cap() const { return cap_; }
    long long used() const { return bytes_.load(); }
    std::size_t peak() const { return static_cast<std::size_t>(peak_.load()); }
    [[noreturn]] void over() const { throw std::invalid_argument(message_()); }

    // A worker gives back what it held (never throws: called from destructors).
    void release(long long was) noexcept { bytes_ -= was; }

    // A worker's count moves from `was` to `now` bytes; throws when the total passes the cap.
    void report(long long was, long long now) {
        const long long total = (bytes_ += now - was);
        long long peak = peak_.load();
        while (total > peak && !peak_.compare_exchange_weak(peak, total)) {
        }
        if (total > cap_) over();
    }

   private:
    const long long cap_;
    const std::function<std::string()> message_;
    std::atomic<long long> bytes_{0}, peak_{0};
};

// One worker's share of the budget.
class MemoryAccount {
   public:
    explicit MemoryAccount(MemoryBudget& budget) : budget_(budget) {}
    ~MemoryAccount() { budget_.release(reported_); }
    MemoryAccount(const MemoryAccount&) = delete;
    MemoryAccount& operator=(const MemoryAccount&) = delete;

    // The worker now holds `bytes`.
    void set(std::size_t bytes) {
        const long long now = static_cast<long long>(bytes);
        const long long was = reported_;
        reported_ = now;
        budget_.report(was, now);
    }

    // Grows a vector to hold `need` elements: by doubling where the budget allows, else exactly; never
    // past the budget (checked before allocating). The caller then reports its new total with set().
    template <class V>
    void make_room(V& v, std::size_t need) {
        if (v.capacity() >= need) return;
        const long long elem = static_cast<long long>(sizeof(typename V::value_type));
        const long long free = budget_.cap() - budget_.used();
        // While the elements move, the old buffer and the new one are both allocated.
        std::size_t want = std::max(need, 2 * v.capacity());
        if (static_cast<long long>(want) > free / elem) want = need;
        if (need > 0x7fffffffu || static_cast<long long>(need) > free / elem) budget_.over();
        v.reserve(want);
    }

   private:
    MemoryBudget& budget_;
    long long reported_ = 0;
};

}  // namespace eepart
