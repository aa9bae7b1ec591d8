// Where each batch's windows come from: random windows for training, a sequential sweep for
// evaluation. Sources write x and y (rows x context_length, int64) straight into a caller buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "token_store.hpp"

namespace tinygpt {

class BatchSource {
public:
    virtual ~BatchSource() = default;
    // Fills the next batch (at most batch_size rows of x, then the rows of y at y); returns the
    // number of rows written, 0 once the source is exhausted.
    virtual std::size_t next(std::int64_t* x, std::int64_t* y) = 0;
};

// Training batches of full windows of context_length + 1 tokens. Batch b of `rank` draws from a
// generator keyed by (seed, b * world_size + rank) alone, so batches do not depend on prefetch
// depth or thread timing, ranks see disjoint streams, and resuming at batch b is exact.
// documents = true: a window is drawn at any token of a document (its end-of-text token or a
// text token, all equally likely) and runs for context_length + 1 tokens; one that would pass the
// end-of-text token closing the document (the next one's, or the one implied at the end of the
// split) moves back to end on it, so that token is a target as often as in the stream and models
// learn where a document ends. Only a document shorter than one window gives a padded window (x
// with the end-of-text id, y with -1, ignore_index). false: full windows anywhere in the stream.
class RandomWindows : public BatchSource {
public:
    RandomWindows(std::shared_ptr<const TokenStore> store, bool documents, std::size_t batch_size,
                  std::size_t context_length, std::uint64_t seed, std::uint64_t rank,
                  std::uint64_t world_size, std::uint64_t first_batch);
    std::size_t next(std::int64_t* x, std::int64_t* y) override;

private:
    // The stream position of window `index`; `end` receives where its document's extent ends.
    std::uint64_t draw_start(std::uint64_t index, std::uint64_t& end) const;

    std::shared_ptr<const TokenStore> store_;
    std::size_t batch_size_;
    std::size_t context_length_;
    std::uint64_t seed_;
    std::uint64_t rank_;
    std::uint64_t world_size_;
    std::uint64_t batch_;
    std::uint64_t window_count_;  // number of distinct valid window starts
    // Document mode: one slot per document, in stream order.
    struct Slot {
        std::uint64_t windows_before;  // window starts in all earlier slots
        std::uint64_t first_token;     // stream position of the document's end-of-text token
        std::uint64_t end;             // one past the end-of-text token that closes it
    };
    std::vector<Slot> slots_;
    // Guide table: the windows [g * bucket_width_, (g + 1) * bucket_width_) lie in slots
    // guide_[g] ..= guide_[g + 1], so a draw searches a few documents, not all of them.
    std::uint64_t bucket_width_ = 1;
    std::vector<std::size_t> guide_;
};

// One pass of consecutive windows (stride context_length) that predicts every token once:
// documents = true restarts at each document and predicts its text tokens and the end-of-text
// token that closes it (the next document's, or the one implied at the end); false sweeps the
// stream and predicts every token after the first. The last window of a document (or of the
// stream) is padded: x with the end-of-text id, y with -1 (ignore_index). Window w goes to rank
// w % world_size; the final batch may have fewer rows.
class SequentialWindows : public BatchSource {
public:
    SequentialWindows(std::shared_ptr<const TokenStore> store, bool documents,
                      std::size_t batch_size, std::size_t context_length, std::uint64_t rank,
                      std::uint64_t world_size);
    std::size_t next(std::int64_t* x, std::int64_t* y) override;

private:
    bool next_window(std::uint64_t& start, std::size_t& length);

    std::shared_ptr<const TokenStore> store_;
    bool documents_;
    std::size_t batch_size_;
    std::size_t context_length_;
    std::uint64_t rank_;
    std::uint64_t world_size_;
    std::size_t segment_ = 0;   // current document (or 0: the whole stream)
    std::uint64_t offset_ = 0;  // start of the next window within the segment
    std::uint64_t window_ = 0;  // windows enumerated so far, over all ranks
};

}  // namespace tinygpt
