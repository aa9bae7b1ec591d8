// Compiled token-shard loader. Filled in by the loader work.
#include <pybind11/pybind11.h>

PYBIND11_MODULE(_loader, m) {
    m.doc() = "memory-mapped token shard loader";
    m.def("core_name", [] { return "tinygpt._loader"; });
}
