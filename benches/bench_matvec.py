"""The one-row product of decoding: ``tinygpt._matvec`` against torch's own, in GB/s of weights read.

Decoding one token multiplies one row by every weight matrix once, so on a CPU its speed is the
rate at which the matrices are read from memory. The matrices are a GPT-2-small-shaped model's
(768 wide: q/k/v, projection, two feed-forward matrices per layer, then the 50,257 x 768 head),
kept ``[in, out]`` in memory as ``GPT.use_decoding_layout()`` keeps them, more bytes than any
cache holds, multiplied in order as decoding does, on one thread. Peers on the same matrices in
the same run: torch's product in that layout (``x @ W``, what transformers' ``Conv1D`` layers
run), torch's ``F.linear`` in nn.Linear's ``[out, in]`` layout (transformers' head), and a plain
``sum`` of every matrix, the rate at which this core reads memory at all.

Quick mode (``--benchmark-disable``, CI): 1 layer, no head. ``TINYGPT_BENCH_FULL=1``: 6 layers
and the head (324 MB), best of 15, the figures of docs/huggingface.md#speed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest
import torch
from torch.nn import functional as F

from tinygpt import _matvec

FULL = os.environ.get("TINYGPT_BENCH_FULL") == "1"
LAYERS = 6 if FULL else 1
ROUNDS = 15 if FULL else 1
WIDTH, VOCAB = 768, 50_257


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def best_seconds(run: Callable[[], object]) -> float:
    run()
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def test_row_product_read_rate(benchmark):
    torch.manual_seed(0)
    shapes = [(WIDTH, 3 * WIDTH), (WIDTH, WIDTH), (WIDTH, 4 * WIDTH), (4 * WIDTH, WIDTH)] * LAYERS
    shapes += [(WIDTH, VOCAB)] if FULL else []
    kept_in_out = [torch.randn(rows, cols) for rows, cols in shapes]
    kept_out_in = [w.t().contiguous() for w in kept_in_out]
    rows = [torch.randn(w.shape[0]) for w in kept_in_out]
    outs = [torch.empty(w.shape[1]) for w in kept_in_out]
    views = [(x.numpy(), w.numpy(), y.numpy()) for x, w, y in zip(rows, kept_in_out, outs)]

    def ours() -> None:
        for x, w, y in views:
            _matvec.row_times_matrix(x, w, None, y)

    ours()
    for x, w, y in zip(rows, kept_in_out, outs):
        torch.testing.assert_close(y, x @ w, rtol=1e-4, atol=1e-3)
    peers: dict[str, Callable[[], object]] = {
        "torch x @ W [in, out]": lambda: [x @ w for x, w in zip(rows, kept_in_out)],
        "torch F.linear [out, in]": lambda: [F.linear(x, w) for x, w in zip(rows, kept_out_in)],
        "sum of every matrix": lambda: [w.sum() for w in kept_in_out],
    }
    megabytes = sum(w.numel() * 4 for w in kept_in_out) / 1e6
    rates = {"tinygpt._matvec": megabytes / 1e3 / best_seconds(ours)}
    rates.update({name: megabytes / 1e3 / best_seconds(run) for name, run in peers.items()})
    benchmark.pedantic(ours, rounds=1, iterations=1)
    benchmark.extra_info.update(
        megabytes=round(megabytes),
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        gb_per_s={name: round(rate, 1) for name, rate in rates.items()},
    )
    print(
        f"\n{LAYERS} layer(s){' and the head' if FULL else ''}, {megabytes:.0f} MB, one thread, "
        f"{torch.backends.cpu.get_cpu_capability()}: "
        + ", ".join(f"{name} {rate:.1f} GB/s" for name, rate in rates.items())
    )
