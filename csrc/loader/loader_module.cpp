// tinygpt._loader: the pybind11 face of the shard loader (private; tinygpt.data wraps it).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "batch_source.hpp"
#include "fault_injection.hpp"
#include "mapped_file.hpp"
#include "prefetcher.hpp"
#include "shard_error.hpp"
#include "shard_format.hpp"
#include "token_store.hpp"

namespace py = pybind11;
using tinygpt::Batch;
using tinygpt::BatchSource;
using tinygpt::BufferPool;
using tinygpt::Prefetcher;
using tinygpt::TokenStore;

namespace {

void delete_buffer(void* buffer) {
    delete static_cast<BufferPool::Buffer*>(buffer);
}

// Python iterator protocol over a prefetched BatchSource; batches arrive as (x, y) int64 arrays
// that view the worker's buffer without a copy.
class BatchStream {
public:
    BatchStream(std::unique_ptr<BatchSource> source, std::size_t batch_size,
                std::size_t context_length, std::size_t depth)
        : batch_size_(batch_size),
          context_length_(context_length),
          prefetcher_(
              std::make_unique<Prefetcher>(std::move(source), batch_size, context_length, depth)) {}

    py::object next() {
        Batch batch;
        {
            py::gil_scoped_release release;
            batch = prefetcher_->next();
        }
        if (batch.rows == 0) return py::none();
        // The capsule owns the buffer (which goes back to the pool when the arrays let go).
        std::int64_t* const data = batch.buffer.get();
        auto owner = std::make_unique<BufferPool::Buffer>(std::move(batch.buffer));
        py::capsule base(owner.get(), delete_buffer);
        owner.release();
        const std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(batch.rows),
                                             static_cast<py::ssize_t>(context_length_)};
        const std::vector<py::ssize_t> strides{
            static_cast<py::ssize_t>(context_length_ * sizeof(std::int64_t)),
            static_cast<py::ssize_t>(sizeof(std::int64_t))};
        py::array_t<std::int64_t> x(shape, strides, data, base);
        py::array_t<std::int64_t> y(shape, strides, data + batch_size_ * context_length_, base);
        return py::make_tuple(std::move(x), std::move(y));
    }

private:
    std::size_t batch_size_;
    std::size_t context_length_;
    std::unique_ptr<Prefetcher> prefetcher_;
};

void check_shape(std::size_t batch_size, std::size_t context_length, std::uint64_t rank,
                 std::uint64_t world_size, std::size_t depth) {
    if (batch_size == 0 || context_length == 0) {
        throw std::invalid_argument("batch_size and context_length must be at least 1");
    }
    if (world_size == 0 || rank >= world_size) {
        throw std::invalid_argument("rank must satisfy 0 <= rank < world_size");
    }
    if (depth == 0) throw std::invalid_argument("prefetch depth must be at least 1");
}

std::unique_ptr<BatchStream> random_batches(std::shared_ptr<const TokenStore> store, bool documents,
                                            std::size_t batch_size, std::size_t context_length,
                                            std::uint64_t seed, std::uint64_t rank,
                                            std::uint64_t world_size, std::uint64_t first_batch,
                                            std::size_t depth) {
    check_shape(batch_size, context_length, rank, world_size, depth);
    py::gil_scoped_release release;
    auto source = std::make_unique<tinygpt::RandomWindows>(std::move(store), documents, batch_size,
                                                           context_length, seed, rank, world_size,
                                                           first_batch);
    return std::make_unique<BatchStream>(std::move(source), batch_size, context_length, depth);
}

std::unique_ptr<BatchStream> sequential_batches(std::shared_ptr<const TokenStore> store,
                                                bool documents, std::size_t batch_size,
                                                std::size_t context_length, std::uint64_t rank,
                                                std::uint64_t world_size, std::size_t depth) {
    check_shape(batch_size, context_length, rank, world_size, depth);
    auto source = std::make_unique<tinygpt::SequentialWindows>(
        std::move(store), documents, batch_size, context_length, rank, world_size);
    return std::make_unique<BatchStream>(std::move(source), batch_size, context_length, depth);
}

py::tuple read_header(const std::string& path) {
    tinygpt::ShardHeader header{};
    {
        py::gil_scoped_release release;
        tinygpt::MappedFile file(path);
        header = tinygpt::parse_header(file);
    }
    return py::make_tuple(header.format->dtype, header.token_count);
}

}  // namespace

PYBIND11_MODULE(_loader, m) {
    m.doc() = "Memory-mapped llm.c token shards and batch sampling (private; see tinygpt.data).";
    py::register_exception<tinygpt::ShardError>(
        m, "ShardError", py::module_::import("tinygpt.errors").attr("DataError"));

    m.attr("HEADER_BYTES") = tinygpt::kHeaderBytes;
    py::dict formats;
    for (const tinygpt::ShardFormat& format : tinygpt::kShardFormats) {
        formats[format.dtype] = py::make_tuple(format.magic, format.version);
    }
    m.attr("FORMATS") = formats;

    m.def(
        "_fail_nth",
        [](const std::string& point, int n) {
            namespace faults = tinygpt::fault_injection;
            if (point != "thread_start" && point != "buffer_allocation") {
                throw std::invalid_argument("point must be thread_start or buffer_allocation");
            }
            faults::fail_nth(point == "thread_start" ? faults::Point::kThreadStart
                                                     : faults::Point::kBufferAllocation,
                             n);
        },
        py::arg("point"), py::arg("n"),
        "Test-only: the n-th thread start or buffer allocation from now fails (n = 0 disarms).");
    m.def("read_header", &read_header, py::arg("path"),
          "Validate a shard's header against its file length; return (dtype, token_count).");

    py::class_<TokenStore, std::shared_ptr<TokenStore>>(m, "TokenStore")
        .def(py::init([](const std::vector<std::string>& paths, std::size_t token_bytes,
                         std::uint32_t eot_id, std::uint32_t vocab_size) {
                 py::gil_scoped_release release;
                 return std::make_shared<TokenStore>(paths, token_bytes, eot_id, vocab_size);
             }),
             py::arg("paths"), py::arg("token_bytes"), py::arg("eot_id"), py::arg("vocab_size"))
        .def_property_readonly("num_tokens", &TokenStore::size)
        .def_property_readonly("num_documents", &TokenStore::document_count)
        .def("document_starts", [](const TokenStore& store) {
            py::array_t<std::uint64_t> starts(static_cast<py::ssize_t>(store.document_count()));
            auto view = starts.mutable_unchecked<1>();
            for (std::size_t k = 0; k < store.document_count(); ++k) {
                view(static_cast<py::ssize_t>(k)) = store.document_start(k);
            }
            return starts;
        });

    py::class_<BatchStream>(m, "BatchStream").def("next", &BatchStream::next);
    m.def("random_batches", &random_batches, py::arg("store"), py::arg("documents"),
          py::arg("batch_size"), py::arg("context_length"), py::arg("seed"), py::arg("rank"),
          py::arg("world_size"), py::arg("first_batch"), py::arg("depth"));
    m.def("sequential_batches", &sequential_batches, py::arg("store"), py::arg("documents"),
          py::arg("batch_size"), py::arg("context_length"), py::arg("rank"), py::arg("world_size"),
          py::arg("depth"));
}
