// Worker threads that are always joined and whose exceptions reach the caller.
//
// A std::thread ends the process (std::terminate) when an exception leaves its function or when
// it is destroyed still joinable, e.g. while an exception from starting the next thread unwinds.
// ThreadGroup catches everything its threads throw, joins them in its destructor whatever
// happens, and rethrows the first exception in the caller, where the bindings turn it into a
// Python exception.
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <thread>
#include <utility>
#include <vector>

#include "fault_injection.hpp"

namespace tinygpt {

class ThreadGroup {
public:
    ThreadGroup() = default;
    ThreadGroup(const ThreadGroup&) = delete;
    ThreadGroup& operator=(const ThreadGroup&) = delete;
    ~ThreadGroup() { join(); }

    // Starts work() on a new thread. Throws std::system_error when the thread cannot start;
    // the threads started before keep running until join().
    template <typename Work>
    void start(Work work) {
        threads_.reserve(threads_.size() + 1);  // so that no allocation fails after the start
        fault_injection::check(fault_injection::Point::kThreadStart);
        threads_.emplace_back([this, work = std::move(work)]() mutable { run_here(work); });
    }

    // Runs work() on the calling thread, its exception kept like a worker's.
    template <typename Work>
    void run_here(Work& work) noexcept {
        try {
            work();
        } catch (...) {
            keep(std::current_exception());
        }
    }

    // Waits for every thread started so far.
    void join() noexcept {
        for (std::thread& thread : threads_) thread.join();
        threads_.clear();
    }

    // Waits for every thread, then rethrows the first exception any of them threw.
    void join_and_rethrow() {
        join();
        if (error_) std::rethrow_exception(error_);
    }

private:
    void keep(std::exception_ptr error) noexcept {
        bool first = false;
        if (failed_.compare_exchange_strong(first, true)) error_ = std::move(error);
    }

    std::vector<std::thread> threads_;
    std::atomic<bool> failed_{false};
    std::exception_ptr error_;  // written once, by the thread that set failed_; read after join
};

// Runs work(0), ..., work(count - 1) in parallel: work(0) on the calling thread, the others on
// new threads. Returns when all have finished; rethrows the first exception, a failed thread
// start included (the threads already started are joined first).
template <typename Work>
void run_parallel(std::size_t count, Work work) {
    ThreadGroup group;
    for (std::size_t t = 1; t < count; ++t) group.start([&work, t] { work(t); });
    auto first = [&work] { work(0); };
    group.run_here(first);
    group.join_and_rethrow();
}

}  // namespace tinygpt
