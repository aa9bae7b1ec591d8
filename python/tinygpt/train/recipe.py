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

Windows are 256 tokens long, so that a whole story is one window, with the batch kept in
tokens: the largest single gain measured (0.04-0.09 bits per byte on the sample). Runs that
read their data twenty times or more keep 64, where the longer window lost.
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
# Context 256 from the first step: a TinyStories story (231 tokens on average with the sample's
# 2,048-token BPE) fits one window, and on the sample context 256 beat 64 by 0.044 bits per byte
# at the four-minute scale (3-5 passes) and by 0.087 at the ten-minute one (7-10 passes), the
# same tokens per step (see the batch below). Not for a run that reads its data
# REGULARISED_PASSES times or more: on the quickstart's stories (50 passes, with dropout) 64 won
# by 0.06-0.14, as a longer window gives a memorising model more of a training story to recall.
SHAPES = (
    (128, 4, 4, 256),
    (192, 4, 6, 256),
    (256, 6, 8, 256),
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
# Tokens per batch on a CPU: 1,024 (4 windows of 256). On one thread 16 windows of 64 won the
# sweep (more, noisier steps beat larger batches) and 4 windows of 256 beat 8 by 0.007 bits per
# byte. On two threads 2,048 tokens ran at 1.4x the tokens per second of 1,024 with windows of
# 64 and won the four-minute run by 0.005, but with windows of 256 at only 1.17x, and lost
# (0.9637 against 0.9617), so the batch no longer depends on the threads. Accelerators take 16
# windows, whatever their context.
CPU_TOKENS_PER_BATCH = 1024
ACCELERATOR_CONTEXTS_PER_BATCH = 16
MANY_PASSES_CONTEXT = 64
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

    def contexts_per_batch_for(self, context_length: int) -> int:
        """The batch for windows of ``context_length`` when a flag changes the recipe's."""
        return _contexts_per_batch(context_length, self.threads)


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
    many_passes = passes >= REGULARISED_PASSES
    dropout = REGULARISED_DROPOUT if many_passes else 0.0
    context = min(context, MANY_PASSES_CONTEXT) if many_passes else context
    threads = (threads or cpu_threads()) if device == "cpu" else None
    contexts_per_batch = _contexts_per_batch(context, threads)
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


def _contexts_per_batch(context_length: int, threads: int | None) -> int:
    """Windows per batch: CPU_TOKENS_PER_BATCH tokens on a CPU (``threads`` set), else
    ACCELERATOR_CONTEXTS_PER_BATCH windows."""
    if threads is None:
        return ACCELERATOR_CONTEXTS_PER_BATCH
    return max(1, CPU_TOKENS_PER_BATCH // context_length)


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
