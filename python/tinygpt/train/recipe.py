"""The recipe `tinygpt train --max-seconds S` picks when no config is given.

Chosen by measurement (benches/sweep_recipe.py; its tables are in docs/benchmarks.md): for CPU
budgets of minutes, a short, wide-enough model, a high peak learning rate with
a short warm-up and a decay that ends with the budget, and batches small enough for many
steps. The model grows with the budget: the shape is the largest on a ladder whose training
gets at least ``TOKENS_PER_PARAMETER`` tokens per parameter in the time, at the throughput
this machine showed in a short probe (on a CPU, training runs at about the probe's FLOP/s over
6 x parameters tokens per second, which is how the tokens are predicted).

The ladder's first step up is set by measurement on the TinyStories sample (1 M training
tokens): up to 480 seconds of one core the smallest shape won and had stopped improving (1.074
bits per byte there, 1.075 at 600), overfitting its data; width 192, tried at ten minutes of two
cores, overfitted faster and ended at 1.082. No measured budget favours a larger shape, so the
first step up comes at about twice that arithmetic (some twenty minutes of two idle cores), at
5 predicted tokens per parameter.

The data's size is part of the plan (budget mode reads the training tokens from the shards'
manifest). A shape is taken only if the data holds ``UNIQUE_TOKENS_PER_PARAMETER`` distinct
tokens per parameter (Chinchilla's 20 tokens per parameter, read at most 4 times over): on 1 M
tokens the smallest shape stays whatever the budget. A run predicted to read its data
``REPEATED_PASSES`` times or more gets more weight decay, one predicted to read it
``REGULARISED_PASSES`` times or more dropout too: on the quickstart's 41 K tokens (62 passes in
150 seconds of one core) dropout 0.2 turned 3.90 bits per byte into 2.08, while on the sample
(6 and 12 passes) dropout cost more than it gave. Against memorising at any budget,
the head is tied to the token embedding (fewer parameters to fit the data with; it won at 1
and at 5.5 passes), and small batches with a decay to zero (more, noisier steps) beat larger
ones.

Positions are rotary and every block starts as the identity (its output matrices at zero):
together 0.011-0.014 bits per byte better on the sample at the four-minute scale and 0.055 on
the quickstart's stories, in two and one paired runs, where either alone gained at most 0.003.
Rotary models export to transformers as GPT-NeoX instead of GPT-2.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tinygpt.model.config import GPTConfig
from tinygpt.train.budget import TimePlan, TimeSchedule
from tinygpt.train.config import TrainConfig

if TYPE_CHECKING:
    import torch

# (embedding_size, block_count, head_count, context_length), smallest first.
SHAPES = (
    (128, 4, 4, 64),
    (192, 4, 6, 64),
    (256, 6, 8, 128),
    (384, 6, 6, 256),
    (512, 8, 8, 256),
    (768, 12, 12, 512),
)
TOKENS_PER_PARAMETER = 5.0
UNIQUE_TOKENS_PER_PARAMETER = 5.0
PEAK_LEARNING_RATE = 3e-3
MIN_LEARNING_RATE_RATIO = 0.0
WARMUP_FRACTION = 0.02
DECAY_FRACTION = 0.4
# Contexts per batch: 16 on one CPU thread (the sweep's winner there: more, noisier steps beat
# larger batches) and 32 on two or more, where batch 16 leaves the second core half idle (two
# threads ran it at 1.4x one thread's tokens per second, batch 32 at 1.4x more, and 48 or 64 at
# fewer) and batch 32 won the four-minute run on two cores (about 6 passes over the sample) by
# 0.005 bits per byte. Not once the run reads its data LARGE_BATCH_MAX_PASSES times or more:
# at ten minutes (about 15 predicted passes) batch 16 won by 0.018, its extra steps worth more
# than tokens the model would only memorise. Accelerators keep 16.
CONTEXTS_PER_BATCH = 16
MULTI_THREAD_CONTEXTS_PER_BATCH = 32
LARGE_BATCH_MAX_PASSES = 10.0
WEIGHT_DECAY = 0.1
OPTIMIZER = "muon"
EVALUATIONS = 4
# Regularisation by the passes over the training tokens the run is predicted to make (the
# probe's arithmetic, close to the runs' own on an idle CPU and up to 4 times below it on a busy
# one): weight decay 0.3 once the data repeats (0.007 bits per byte better than 0.1 at 5.6
# passes), dropout 0.2 once it repeats many times over (at 62 passes 2.08 bits per byte against
# 3.90 without; at 6 passes even 0.05 cost 0.019, at 12 passes 0.1 cost 0.079). The threshold
# sits between 12 and 62, above the sample's ten minutes on two idle cores (12-15 passes).
REPEATED_PASSES = 1.0
REPEATED_WEIGHT_DECAY = 0.3
REGULARISED_PASSES = 20.0
REGULARISED_DROPOUT = 0.2


@dataclass(frozen=True)
class Recipe:
    """Everything budget mode decides: the model, the training knobs and the time plan."""

    model: GPTConfig
    train: TrainConfig
    plan: TimePlan
    threads: int | None


def plan_recipe(
    seconds: float,
    *,
    vocab_size: int,
    device: str,
    flops_per_second: float,
    training_tokens: int | None = None,
    threads: int | None = None,
) -> Recipe:
    """The recipe for ``seconds`` of training on ``device`` (a torch device type) that does
    ``flops_per_second`` of training arithmetic (see ``measure_training_flops``), on shards
    with ``training_tokens`` tokens in their training split (unknown: as if unlimited), with
    ``threads`` torch threads on a CPU (unset: the cores the load leaves)."""
    shape = _shape_for(seconds * flops_per_second, vocab_size, training_tokens)
    embedding, blocks, heads, context = shape
    passes = planned_passes(seconds * flops_per_second, _parameters(shape, vocab_size), training_tokens)
    dropout = REGULARISED_DROPOUT if passes >= REGULARISED_PASSES else 0.0
    threads = (threads or cpu_threads()) if device == "cpu" else None
    multi_thread = threads is not None and threads > 1
    contexts_per_batch = (
        MULTI_THREAD_CONTEXTS_PER_BATCH if multi_thread and passes < LARGE_BATCH_MAX_PASSES else CONTEXTS_PER_BATCH
    )
    model = GPTConfig(
        vocab_size=vocab_size,
        embedding_size=embedding,
        context_length=context,
        head_count=heads,
        block_count=blocks,
        embedding_dropout=dropout,
        attention_dropout=dropout,
        feed_forward_dropout=dropout,
        residual_dropout=dropout,
        activation="gelu",
        tie_weights=True,
        positions="rotary",
    )
    train = TrainConfig(
        learning_rate=PEAK_LEARNING_RATE,
        contexts_per_batch=contexts_per_batch,
        weight_decay=REPEATED_WEIGHT_DECAY if passes >= REPEATED_PASSES else WEIGHT_DECAY,
        adam_beta2=0.99,
        sampling="document",
        optimizer=OPTIMIZER,
        zero_init_projections=True,
    )
    return Recipe(model=model, train=train, plan=time_plan(seconds, train), threads=threads)


def planned_passes(total_flops: float, parameters: int, training_tokens: int | None) -> float:
    """How many times the run is predicted to read its training tokens (0 when their number
    is unknown)."""
    if not training_tokens:
        return 0.0
    return _predicted_tokens(total_flops, parameters) / training_tokens


def _predicted_tokens(total_flops: float, parameters: int) -> float:
    """Tokens that ``total_flops`` of training arithmetic trains a model of ``parameters`` on."""
    return total_flops / (6 * parameters)


def time_plan(seconds: float, train: TrainConfig) -> TimePlan:
    """The schedule over ``seconds`` that peaks at ``train``'s learning rate (a flag may have
    changed the recipe's)."""
    peak = train.peak_learning_rate
    schedule = TimeSchedule(
        shape="warmup_stable_decay",
        peak_lr=peak,
        min_lr=peak * MIN_LEARNING_RATE_RATIO,
        warmup_fraction=WARMUP_FRACTION,
        decay_fraction=DECAY_FRACTION,
    )
    return TimePlan(seconds=seconds, schedule=schedule, evaluations=EVALUATIONS)


def _shape_for(total_flops: float, vocab_size: int, training_tokens: int | None) -> tuple[int, int, int, int]:
    """The largest shape that still sees TOKENS_PER_PARAMETER tokens per parameter, and whose
    data holds UNIQUE_TOKENS_PER_PARAMETER distinct training tokens per parameter."""
    chosen = SHAPES[0]
    for shape in SHAPES:
        parameters = _parameters(shape, vocab_size)
        if _predicted_tokens(total_flops, parameters) < TOKENS_PER_PARAMETER * parameters:
            break
        if training_tokens is not None and training_tokens < UNIQUE_TOKENS_PER_PARAMETER * parameters:
            break
        chosen = shape
    return chosen


def _parameters(shape: tuple[int, int, int, int], vocab_size: int) -> int:
    embedding, blocks, _, context = shape
    return 12 * blocks * embedding * embedding + (2 * vocab_size + context) * embedding


def cpu_threads() -> int:
    """Torch threads that do not oversubscribe a busy machine: the cores the load leaves."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows has no load average
        return cores
    return max(1, min(cores, round(cores - load + 0.5)))


def measure_training_flops(device: torch.device | str, seconds: float = 0.3, windows: int = 3) -> float:
    """Multiply-add throughput of float32 matrix products of a small model's size on
    ``device``, in FLOP/s: a stand-in for training speed that costs a fraction of a second.

    The fastest of ``windows`` timings after a warm-up product: the first products of a
    process wake the thread pool, and on two threads three back-to-back single timings read
    11, 12 and 69 GFLOP/s on an otherwise idle machine."""
    import torch  # lazily: the CLI parser must not pay for it

    a = torch.randn(2048, 256, device=device)
    b = torch.randn(256, 256, device=device)
    (a @ b).sum().item()
    flops_per_product = 2 * a.shape[0] * a.shape[1] * b.shape[1]
    best = 0.0
    for _ in range(windows):
        products = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds / windows:
            (a @ b).sum().item()
            products += 1
        best = max(best, products * flops_per_product / (time.perf_counter() - started))
    return best
