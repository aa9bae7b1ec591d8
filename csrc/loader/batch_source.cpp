#include "batch_source.hpp"

#include <algorithm>
#include <utility>

#include "shard_error.hpp"

namespace tinygpt {

namespace {

// SplitMix64's finaliser: a bijection on 64-bit integers with good avalanche.
std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// SplitMix64 with unbiased bounded draws: our own so that a seed gives the same batches with
// every compiler and standard library.
class Rng {
public:
    explicit Rng(std::uint64_t state) : state_(state) {}
    std::uint64_t next() { return mix(state_ += 0x9E3779B97F4A7C15ULL); }
    std::uint64_t below(std::uint64_t bound) {
        const std::uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
        for (;;) {
            const std::uint64_t value = next();
            if (value >= threshold) return value % bound;
        }
    }

private:
    std::uint64_t state_;
};

// Tokens [start, start + count) of the stream, where the position just past the end of the split
// reads as the end-of-text token that closes its last document (so that document's end is
// learned like every other's).
void copy_closed(const TokenStore& store, std::uint64_t start, std::size_t count,
                 std::int64_t* out) {
    const std::size_t stored = static_cast<std::size_t>(
        std::min<std::uint64_t>(count, store.size() > start ? store.size() - start : 0));
    store.copy(start, stored, out);
    std::fill(out + stored, out + count, static_cast<std::int64_t>(store.eot_id()));
}

// The extent of document k closed by the end-of-text token that follows it: the next
// document's first token, or the one implied at the end of the split.
std::uint64_t closed_document_end(const TokenStore& store, std::size_t k) {
    return store.document_end(k) + 1;
}

void write_row(const TokenStore& store, std::uint64_t start, std::size_t length,
               std::size_t context_length, std::int64_t* x, std::int64_t* y) {
    const std::size_t predicted = length - 1;
    copy_closed(store, start, predicted, x);
    copy_closed(store, start + 1, predicted, y);
    std::fill(x + predicted, x + context_length, static_cast<std::int64_t>(store.eot_id()));
    std::fill(y + predicted, y + context_length, std::int64_t{-1});
}

}  // namespace

RandomWindows::RandomWindows(std::shared_ptr<const TokenStore> store, bool documents,
                             std::size_t batch_size, std::size_t context_length, std::uint64_t seed,
                             std::uint64_t rank, std::uint64_t world_size,
                             std::uint64_t first_batch)
    : store_(std::move(store)),
      batch_size_(batch_size),
      context_length_(context_length),
      seed_(seed),
      rank_(rank),
      world_size_(world_size),
      batch_(first_batch),
      window_count_(0) {
    const std::uint64_t window = context_length + 1;
    if (!documents) {
        if (store_->size() < window) {
            throw ShardError(
                "the split holds " + std::to_string(store_->size()) +
                " tokens, fewer than one window of context_length + 1 = " + std::to_string(window));
        }
        window_count_ = store_->size() - window + 1;
        return;
    }
    for (std::size_t k = 0; k < store_->document_count(); ++k) {
        const std::uint64_t end = closed_document_end(*store_, k);
        slots_.push_back(Slot{window_count_, store_->document_start(k), end});
        window_count_ += end - 1 - store_->document_start(k);  // every token with a successor
    }
    if (slots_.empty()) throw ShardError("the split holds no document");
    const std::size_t buckets = slots_.size();
    bucket_width_ = (window_count_ + buckets - 1) / buckets;
    guide_.resize(buckets + 1);
    std::size_t slot = 0;
    for (std::size_t g = 0; g <= buckets; ++g) {
        const std::uint64_t first = std::min<std::uint64_t>(g * bucket_width_, window_count_ - 1);
        while (slot + 1 < buckets && slots_[slot + 1].windows_before <= first) ++slot;
        guide_[g] = slot;
    }
}

std::uint64_t RandomWindows::draw_start(std::uint64_t index, std::uint64_t& end) const {
    if (slots_.empty()) {
        end = store_->size();
        return index;
    }
    const std::size_t bucket = static_cast<std::size_t>(index / bucket_width_);
    const auto first = slots_.begin() + static_cast<std::ptrdiff_t>(guide_[bucket]);
    const auto last = slots_.begin() + static_cast<std::ptrdiff_t>(guide_[bucket + 1]) + 1;
    const auto after = std::upper_bound(
        first, last, index,
        [](std::uint64_t value, const Slot& slot) { return value < slot.windows_before; });
    const Slot& slot = *(after - 1);
    end = slot.end;
    const std::uint64_t start = slot.first_token + (index - slot.windows_before);
    // A window that would run past the end-of-text token closing its document moves back to end
    // on it: every window is whole (y is x shifted by one, nothing to ignore) and the closing
    // token is the last target of a 1/length share of the draws, as often as in the stream.
    // Only a document shorter than one window is padded.
    const std::uint64_t window = context_length_ + 1;
    const std::uint64_t last_whole =
        end - slot.first_token >= window ? end - window : slot.first_token;
    return std::min(start, last_whole);
}

std::size_t RandomWindows::next(std::int64_t* x, std::int64_t* y) {
    const std::uint64_t key = mix(mix(seed_) ^ (batch_ * world_size_ + rank_));
    ++batch_;
    auto fill = [&] {
        // A local generator: one captured by reference would be reloaded after every write to
        // x and y, which may alias its state (int64 and uint64 may alias).
        Rng rng(key);
        for (std::size_t row = 0; row < batch_size_; ++row) {
            std::uint64_t end = 0;
            const std::uint64_t start = draw_start(rng.below(window_count_), end);
            const std::size_t length =
                static_cast<std::size_t>(std::min<std::uint64_t>(context_length_ + 1, end - start));
            write_row(*store_, start, length, context_length_, x + row * context_length_,
                      y + row * context_length_);
        }
    };
    store_->read_tokens(fill);
    return batch_size_;
}

SequentialWindows::SequentialWindows(std::shared_ptr<const TokenStore> store, bool documents,
                                     std::size_t batch_size, std::size_t context_length,
                                     std::uint64_t rank, std::uint64_t world_size)
    : store_(std::move(store)),
      documents_(documents),
      batch_size_(batch_size),
      context_length_(context_length),
      rank_(rank),
      world_size_(world_size) {}

bool SequentialWindows::next_window(std::uint64_t& start, std::size_t& length) {
    const std::size_t segments = documents_ ? store_->document_count() : 1;
    while (segment_ < segments) {
        const std::uint64_t first = documents_ ? store_->document_start(segment_) : 0;
        const std::uint64_t end =
            documents_ ? closed_document_end(*store_, segment_) : store_->size();
        if (first + offset_ + 1 < end) {
            start = first + offset_;
            length =
                static_cast<std::size_t>(std::min<std::uint64_t>(context_length_ + 1, end - start));
            offset_ += context_length_;
            return true;
        }
        ++segment_;
        offset_ = 0;
    }
    return false;
}

std::size_t SequentialWindows::next(std::int64_t* x, std::int64_t* y) {
    std::size_t rows = 0;
    auto fill = [&] {
        std::uint64_t start = 0;
        std::size_t length = 0;
        while (rows < batch_size_ && next_window(start, length)) {
            if (window_++ % world_size_ != rank_) continue;
            write_row(*store_, start, length, context_length_, x + rows * context_length_,
                      y + rows * context_length_);
            ++rows;
        }
    };
    store_->read_tokens(fill);
    return rows;
}

}  // namespace tinygpt
