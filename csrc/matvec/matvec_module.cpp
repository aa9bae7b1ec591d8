// tinygpt._matvec: the pybind11 face of row_times_matrix (private; tinygpt.model.linear wraps it).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

#include "row_matrix.hpp"

namespace py = pybind11;

namespace {

using FloatArray = py::array_t<float, py::array::c_style>;

std::string shape_of(const py::array& array) {
    std::string text = "(";
    for (py::ssize_t axis = 0; axis < array.ndim(); ++axis)
        text += (axis ? ", " : "") + std::to_string(array.shape(axis));
    return text + (array.ndim() == 1 ? ",)" : ")");
}

// out = bias + x @ w; every shape is checked, nothing is converted or copied (noconvert).
void row_times_matrix(const FloatArray& x, const FloatArray& w,
                      const std::optional<FloatArray>& bias, FloatArray& out) {
    if (x.ndim() != 1 || w.ndim() != 2 || out.ndim() != 1)
        throw std::invalid_argument(
            "row_times_matrix needs x (in,), w (in, out) and out (out,); got x " + shape_of(x) +
            ", w " + shape_of(w) + ", out " + shape_of(out));
    const auto in = static_cast<std::size_t>(w.shape(0));
    const auto width = static_cast<std::size_t>(w.shape(1));
    if (static_cast<std::size_t>(x.shape(0)) != in ||
        static_cast<std::size_t>(out.shape(0)) != width)
        throw std::invalid_argument("row_times_matrix: x " + shape_of(x) + " and out " +
                                    shape_of(out) + " do not fit w " + shape_of(w));
    if (bias && (bias->ndim() != 1 || static_cast<std::size_t>(bias->shape(0)) != width))
        throw std::invalid_argument("row_times_matrix: bias " + shape_of(*bias) +
                                    " does not fit w " + shape_of(w));
    if (!out.writeable()) throw std::invalid_argument("row_times_matrix: out is read-only");
    const float* bias_data = bias ? bias->data() : nullptr;
    float* out_data = out.mutable_data();
    py::gil_scoped_release release;
    tinygpt::row_times_matrix(x.data(), w.data(), bias_data, out_data, in, width);
}

}  // namespace

PYBIND11_MODULE(_matvec, m) {
    m.doc() = "One float32 row times a [in, out] matrix, read front to back at memory speed.";
    m.def("row_times_matrix", &row_times_matrix, py::arg("x").noconvert(), py::arg("w").noconvert(),
          py::arg("bias").noconvert(), py::arg("out").noconvert(),
          "out = bias + x @ w for float32 C-contiguous x (in,), w (in, out), bias (out,) or None, "
          "out (out,).");
}
