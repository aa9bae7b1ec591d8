#include "prefetcher.hpp"

#include <utility>

namespace tinygpt {

BufferPool::BufferPool(std::size_t elements, std::size_t keep) : elements_(elements), keep_(keep) {
    for (std::size_t i = 0; i < keep_; ++i) free_.push_back(new std::int64_t[elements_]);
}

BufferPool::~BufferPool() {
    for (std::int64_t* buffer : free_) delete[] buffer;
}

std::int64_t* BufferPool::acquire() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!free_.empty()) {
            std::int64_t* buffer = free_.back();
            free_.pop_back();
            return buffer;
        }
    }
    return new std::int64_t[elements_];
}

void BufferPool::release(std::int64_t* buffer) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (free_.size() < keep_) {
            free_.push_back(buffer);
            return;
        }
    }
    delete[] buffer;
}

Prefetcher::Prefetcher(std::unique_ptr<BatchSource> source, std::size_t batch_size,
                       std::size_t context_length, std::size_t depth)
    : source_(std::move(source)),
      depth_(depth),
      y_offset_(batch_size * context_length),
      pool_(std::make_shared<BufferPool>(2 * y_offset_, depth + 2)),
      worker_([this] { run(); }) {}

Prefetcher::~Prefetcher() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    worker_.join();
    for (const Batch& batch : ready_) pool_->release(batch.buffer);
}

void Prefetcher::run() {
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            changed_.wait(lock, [this] { return stopping_ || ready_.size() < depth_; });
            if (stopping_) return;
        }
        Batch batch;
        batch.buffer = pool_->acquire();
        try {
            batch.rows = source_->next(batch.buffer, batch.buffer + y_offset_);
        } catch (...) {
            pool_->release(batch.buffer);
            std::lock_guard<std::mutex> lock(mutex_);
            error_ = std::current_exception();
            changed_.notify_all();
            return;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        if (batch.rows == 0) {
            pool_->release(batch.buffer);
            exhausted_ = true;
            changed_.notify_all();
            return;
        }
        ready_.push_back(batch);
        changed_.notify_all();
    }
}

Batch Prefetcher::next() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !ready_.empty() || exhausted_ || error_; });
    if (!ready_.empty()) {
        Batch batch = ready_.front();
        ready_.pop_front();
        changed_.notify_all();
        return batch;
    }
    if (error_) std::rethrow_exception(error_);
    return Batch{};
}

}  // namespace tinygpt
