// Work split over threads, and how a long engine call stops: Ctrl-C (a poll the caller gives, called by
// the waiting thread every 100 ms) and a time limit. No Python here: the bindings release the GIL around
// an engine call and give a poll that takes it back just long enough to ask for pending signals.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace eepart {

// Asked every 100 ms while threads work: true stops the call (Interrupted). May be empty.
using Poll = std::function<bool()>;

// Thrown when the poll asked to stop; the caller knows why (a pending KeyboardInterrupt).
struct Interrupted {};

// Thrown when a call ran past its time limit (TimeoutError in Python).
class TimeLimitExceeded : public std::runtime_error {
   public:
    using std::runtime_error::runtime_error;
};

constexpr int kMaxThreads = 1024;

// threads: 0 (one per hardware thread) or 1..kMaxThreads, for every engine call alike.
inline void check_threads(long long threads) {
    if (threads < 0 || threads > kMaxThreads)
        throw std::invalid_argument("threads = " + std::to_string(threads) + ": must be in 0.." +
                                    std::to_string(kMaxThreads) + " (0: one per core)");
}

inline int resolve_threads(int threads) {
    if (threads > 0) return threads;
    unsigned hw = std::thread::hardware_concurrency();
    return hw ? static_cast<int>(hw) : 1;
}

// time_limit: seconds > 0, or +inf for none.
inline void check_time_limit(double seconds) {
    if (!(seconds > 0)) {
        std::ostringstream s;
        s << "time_limit = " << seconds << ": must be > 0 seconds (inf: none)";
        throw std::invalid_argument(s.str());
    }
}

struct Control {
    Poll interrupted;  // true: stop (may be empty: never)
    double time_limit = std::numeric_limits<double>::infinity();
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    std::string what = "engine";  // the call, for the message

    bool over_time() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > time_limit;
    }
    [[noreturn]] void time_out() const {
        std::ostringstream s;
        s << what << ": stopped at its time limit (time_limit = " << time_limit
          << " s) without an answer; raise time_limit, or narrow the question (bounds, fewer tiers or blocks)";
        throw TimeLimitExceeded(s.str());
    }
};

// Runs body(item, cancel) for every item in [0, n_items), items taken in order by `threads` workers.
// The calling thread waits, and every 100 ms polls for Ctrl-C and looks at the clock; either sets
// `cancel`, which the workers see at their next check, and is then thrown here (Interrupted,
// TimeLimitExceeded). A worker's exception is rethrown here. A thread that cannot be started (the
// process is out of threads or memory) is an error too (std::runtime_error), after the others stopped.
inline void parallel_for(std::size_t n_items, int threads,
                         const std::function<void(std::size_t, const std::atomic<bool>&)>& body,
                         const Control& control) {
    if (n_items == 0) return;
    threads = resolve_threads(threads);
    if (static_cast<std::size_t>(threads) > n_items) threads = static_cast<int>(n_items);

    std::atomic<std::size_t> next{0};
    std::atomic<bool> cancel{false};
    int running = threads;
    std::mutex mu;
    std::condition_variable done_cv;
    std::exception_ptr error;

    auto worker = [&] {
        try {
            for (;;) {
                if (cancel.load(std::memory_order_relaxed)) break;
                std::size_t i = next.fetch_add(1);
                if (i >= n_items) break;
                body(i, cancel);
            }
        } catch (...) {
            std::lock_guard<std::mutex> lock(mu);
            if (!error) error = std::current_exception();
            cancel = true;
        }
        std::lock_guard<std::mutex> lock(mu);
        if (--running == 0) done_cv.notify_all();
    };

    std::vector<std::thread> pool;
    pool.reserve(threads);
    std::string start_failed;
    for (int t = 0; t < threads; ++t) {
        try {
            pool.emplace_back(worker);
        } catch (const std::system_error& e) {
            start_failed = "could not start worker thread " + std::to_string(t + 1) + " of " +
                           std::to_string(threads) + " (" + e.what() + "): lower `threads`";
            std::lock_guard<std::mutex> lock(mu);
            cancel = true;
            running -= threads - t;
            break;
        }
    }
    bool interrupted = false, timed_out = false;
    {
        std::unique_lock<std::mutex> lock(mu);
        while (running > 0) {
            done_cv.wait_for(lock, std::chrono::milliseconds(100));
            if (running == 0 || interrupted || timed_out) continue;
            lock.unlock();
            if (control.interrupted && control.interrupted()) interrupted = true;
            else if (control.over_time()) timed_out = true;
            if (interrupted || timed_out) cancel = true;
            lock.lock();
        }
    }
    for (auto& th : pool) th.join();
    if (interrupted) throw Interrupted{};
    if (!start_failed.empty()) throw std::runtime_error(start_failed);
    if (error) std::rethrow_exception(error);
    if (timed_out) control.time_out();
}

}  // namespace eepart
