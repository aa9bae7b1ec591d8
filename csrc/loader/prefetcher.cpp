#include "prefetcher.hpp"

#include <utility>

#include "fault_injection.hpp"

namespace tinygpt {

std::shared_ptr<BufferPool> BufferPool::create(std::size_t elements, std::size_t keep) {
    return std::shared_ptr<BufferPool>(new BufferPool(elements, keep));
}

BufferPool::BufferPool(std::size_t elements, std::size_t keep) : elements_(elements), keep_(keep) {
    free_.reserve(keep_);
}

BufferPool::Buffer BufferPool::acquire() {
    std::unique_ptr<std::int64_t[]> buffer;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!free_.empty()) {
            buffer = std::move(free_.back());
            free_.pop_back();
        }
    }
    if (!buffer) {
        fault_injection::check(fault_injection::Point::kBufferAllocation);
        buffer.reset(new std::int64_t[elements_]);
    }
    Return back{shared_from_this()};
    return Buffer(buffer.release(), std::move(back));
}

void BufferPool::release(std::int64_t* buffer) noexcept {
    std::unique_ptr<std::int64_t[]> owned(buffer);
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.size() < keep_) free_.push_back(std::move(owned));
}

Prefetcher::Prefetcher(std::unique_ptr<BatchSource> source, std::size_t batch_size,
                       std::size_t context_length, std::size_t depth)
    : source_(std::move(source)),
      depth_(depth),
      y_offset_(batch_size * context_length),
      pool_(BufferPool::create(2 * y_offset_, depth + 2)) {
    worker_.start([this] { run(); });
}

Prefetcher::~Prefetcher() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    worker_.join();
}

void Prefetcher::run() {
    try {
        produce();
    } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        error_ = std::current_exception();
        changed_.notify_all();
    }
}

void Prefetcher::produce() {
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            changed_.wait(lock, [this] { return stopping_ || ready_.size() < depth_; });
            if (stopping_) return;
        }
        Batch batch;
        batch.buffer = pool_->acquire();
        batch.rows = source_->next(batch.buffer.get(), batch.buffer.get() + y_offset_);
        std::lock_guard<std::mutex> lock(mutex_);
        if (batch.rows == 0) {
            exhausted_ = true;
            changed_.notify_all();
            return;
        }
        ready_.push_back(std::move(batch));
        changed_.notify_all();
    }
}

Batch Prefetcher::next() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !ready_.empty() || exhausted_ || error_; });
    if (!ready_.empty()) {
        Batch batch = std::move(ready_.front());
        ready_.pop_front();
        changed_.notify_all();
        return batch;
    }
    if (error_) std::rethrow_exception(error_);
    return Batch{};
}

}  // namespace tinygpt
