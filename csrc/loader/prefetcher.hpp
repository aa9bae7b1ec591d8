// Runs a BatchSource on a background thread, `depth` batches ahead, into recycled buffers.
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
#include <vector>

#include "batch_source.hpp"
#include "thread_group.hpp"

namespace tinygpt {

class BufferPool : public std::enable_shared_from_this<BufferPool> {
public:
    // Gives a buffer back to its pool; holds the pool alive for as long as the buffer lives.
    struct Return {
        std::shared_ptr<BufferPool> pool;
        void operator()(std::int64_t* buffer) const noexcept { pool->release(buffer); }
    };
    using Buffer = std::unique_ptr<std::int64_t[], Return>;

    // Buffers of `elements` int64; at most `keep` idle ones are kept for reuse, more are freed,
    // so that a burst does not pin memory.
    static std::shared_ptr<BufferPool> create(std::size_t elements, std::size_t keep);

    Buffer acquire();

private:
    BufferPool(std::size_t elements, std::size_t keep);
    void release(std::int64_t* buffer) noexcept;

    std::size_t elements_;
    std::size_t keep_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<std::int64_t[]>> free_;  // capacity keep_: release never allocates
};

struct Batch {
    BufferPool::Buffer buffer;  // x (batch_size x context_length), then y
    std::size_t rows = 0;       // 0: the source is exhausted
};

class Prefetcher {
public:
    Prefetcher(std::unique_ptr<BatchSource> source, std::size_t batch_size,
               std::size_t context_length, std::size_t depth);
    ~Prefetcher();
    Prefetcher(const Prefetcher&) = delete;
    Prefetcher& operator=(const Prefetcher&) = delete;

    // Blocks until the next batch is ready (call without the GIL); rethrows a worker error.
    Batch next();

private:
    void run();
    void produce();

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
    ThreadGroup worker_;  // last: joined (by the destructor) before the members it uses go
};

}  // namespace tinygpt
