// Work split over threads with the GIL released, and Ctrl-C honoured within a tenth of a second.
#pragma once
#include <pybind11/pybind11.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace eepart {

namespace py = pybind11;

inline int resolve_threads(int threads) {
    if (threads > 0) return threads;
    unsigned hw = std::thread::hardware_concurrency();
    return hw ? static_cast<int>(hw) : 1;
}

// Runs body(item, cancel) for every item in [0, n_items), items taken in order by `threads` workers.
// Call with the GIL held. The calling thread releases it, waits, and every 100 ms takes it back just
// long enough to ask Python for pending signals; on KeyboardInterrupt the workers see `cancel`, stop at
// their next check, and the Python error is raised here. A worker's exception is rethrown here.
inline void parallel_for(std::size_t n_items, int threads,
                         const std::function<void(std::size_t, const std::atomic<bool>&)>& body) {
    if (n_items == 0) return;
    threads = resolve_threads(threads);
    if (static_cast<std::size_t>(threads) > n_items) threads = static_cast<int>(n_items);

    std::atomic<std::size_t> next{0};
    std::atomic<bool> cancel{false};
    std::atomic<int> running{threads};
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

    bool interrupted = false;
    {
        py::gil_scoped_release release;
        std::vector<std::thread> pool;
        pool.reserve(threads);
        for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
        std::unique_lock<std::mutex> lock(mu);
        while (running > 0) {
            done_cv.wait_for(lock, std::chrono::milliseconds(100));
            if (running == 0 || interrupted) continue;
            lock.unlock();
            {
                py::gil_scoped_acquire acquire;
                if (PyErr_CheckSignals() != 0) interrupted = true;
            }
            if (interrupted) cancel = true;
            lock.lock();
        }
        lock.unlock();
        for (auto& th : pool) th.join();
    }
    if (interrupted) throw py::error_already_set();
    if (error) std::rethrow_exception(error);
}

}  // namespace eepart
