// Runs a BatchSource on a background std::thread, `depth` batches ahead, into recycled buffers.
// A buffer handed out returns to the pool only when its owner (the numpy arrays viewing it) lets
// go, so the worker never overwrites a batch that Python still holds.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "batch_source.hpp"

namespace tinygpt {

class BufferPool {
public:
    BufferPool(std::size_t elements, std::size_t keep);
    ~BufferPool();
    BufferPool(const BufferPool&) = delete;
    BufferPool& operator=(const BufferPool&) = delete;

    std::int64_t* acquire();
    void release(std::int64_t* buffer);

private:
    std::size_t elements_;
    std::size_t keep_;  // buffers kept for reuse; more are freed, so a burst does not pin memory
    std::mutex mutex_;
    std::vector<std::int64_t*> free_;
};

struct Batch {
    std::int64_t* buffer = nullptr;  // x (batch_size x context_length), then y
    std::size_t rows = 0;            // 0: the source is exhausted
};

class Prefetcher {
public:
    Prefetcher(std::unique_ptr<BatchSource> source, std::size_t batch_size,
               std::size_t context_length, std::size_t depth);
    ~Prefetcher();
    Prefetcher(const Prefetcher&) = delete;
    Prefetcher& operator=(const Prefetcher&) = delete;

    // Blocks until the next batch is ready (call without the GIL); rethrows a worker error.
    // The caller owns the returned buffer and gives it back through pool()->release().
    Batch next();
    const std::shared_ptr<BufferPool>& pool() const { return pool_; }

private:
    void run();

    std::unique_ptr<BatchSource> source_;
    std::size_t depth_;
    std::size_t y_offset_;  // y follows x in each buffer
    std::shared_ptr<BufferPool> pool_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Batch> ready_;
    bool stopping_ = false;
    bool exhausted_ = false;
    std::exception_ptr error_;
    std::thread worker_;  // last: starts once every other member exists
};

}  // namespace tinygpt
