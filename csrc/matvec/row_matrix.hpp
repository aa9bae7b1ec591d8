// One row times a matrix kept as [in, out]: the product every weight matrix does once per
// decoded token.
//
// Decoding a token reads every weight once, so its speed is the speed of reading memory. On one
// core torch's product (MKL's BLAS) read a GPT-2's matrices at 23 GB/s where a plain pass over
// the same bytes read 38 (benches/bench_matvec.py). Here the matrix is read front to back, four
// rows at a time (four sequential streams, which the prefetchers follow), and the output row, at
// most a few hundred KB, stays in the L1/L2 caches while the rows are added into it.
#pragma once

#include <cstddef>

// Run-time dispatch needs __builtin_cpu_supports and its runtime (libgcc, compiler-rt): GCC and
// Clang on x86 Linux and MinGW. Elsewhere (MSVC, Apple, ARM) the plain loop is compiled for the
// target's baseline vectors (SSE2, NEON), which the compiler vectorises all the same.
#if (defined(__GNUC__) || defined(__clang__)) && !defined(_MSC_VER) && !defined(__APPLE__) && \
    (defined(__x86_64__) || defined(__i386__))
#define TINYGPT_MATVEC_X86_DISPATCH 1
#endif

namespace tinygpt {
namespace matvec_detail {

// The loop itself, written for the compiler to vectorise; inlined into one copy per instruction
// set below. The products are summed in a fixed order, so the result does not depend on the
// instruction set beyond the rounding of a fused multiply-add.
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
inline void add_rows(const float* x, const float* w, float* y, std::size_t in, std::size_t out) {
    std::size_t i = 0;
    for (; i + 4 <= in; i += 4) {
        const float a0 = x[i], a1 = x[i + 1], a2 = x[i + 2], a3 = x[i + 3];
        const float* __restrict w0 = w + i * out;
        const float* __restrict w1 = w0 + out;
        const float* __restrict w2 = w1 + out;
        const float* __restrict w3 = w2 + out;
        float* __restrict target = y;
        for (std::size_t o = 0; o < out; ++o)
            target[o] += (a0 * w0[o] + a1 * w1[o]) + (a2 * w2[o] + a3 * w3[o]);
    }
    for (; i < in; ++i) {
        const float a = x[i];
        const float* __restrict row = w + i * out;
        float* __restrict target = y;
        for (std::size_t o = 0; o < out; ++o) target[o] += a * row[o];
    }
}

inline void add_rows_baseline(const float* x, const float* w, float* y, std::size_t in,
                              std::size_t out) {
    add_rows(x, w, y, in, out);
}

#ifdef TINYGPT_MATVEC_X86_DISPATCH
__attribute__((target("avx2,fma"))) inline void add_rows_avx2(const float* x, const float* w,
                                                              float* y, std::size_t in,
                                                              std::size_t out) {
    add_rows(x, w, y, in, out);
}

__attribute__((target("avx512f,avx2,fma"))) inline void add_rows_avx512(const float* x,
                                                                        const float* w, float* y,
                                                                        std::size_t in,
                                                                        std::size_t out) {
    add_rows(x, w, y, in, out);
}
#endif

}  // namespace matvec_detail

// y = bias + x w for x [in], w [in, out] row-major, y [out] (bias may be null). The widest
// instruction set the CPU has is chosen at run time, so one build serves every x86-64 CPU.
inline void row_times_matrix(const float* x, const float* w, const float* bias, float* y,
                             std::size_t in, std::size_t out) {
    for (std::size_t o = 0; o < out; ++o) y[o] = bias ? bias[o] : 0.0f;
#ifdef TINYGPT_MATVEC_X86_DISPATCH
    static const int level = __builtin_cpu_supports("avx512f") ? 2
                             : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
                                 ? 1
                                 : 0;
    if (level == 2) return matvec_detail::add_rows_avx512(x, w, y, in, out);
    if (level == 1) return matvec_detail::add_rows_avx2(x, w, y, in, out);
#endif
    matvec_detail::add_rows_baseline(x, w, y, in, out);
}

}  // namespace tinygpt
