"""The training loop: AdamW steps with accumulation, periodic estimates and checkpoints,
a clean stop on Ctrl-C or a time budget, and the exact held-out loss at the end."""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ContextManager, cast

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from tinygpt.allocator import keep_freed_memory
from tinygpt.evaluate import IGNORE_INDEX, HeldOutLoss, held_out_loss, mean_batch_loss
from tinygpt.model.config import GPTConfig
from tinygpt.model.gpt import GPT
from tinygpt.precision import autocast, precision_name
from tinygpt.run.checkpoint import load_trainer_state, load_weights, save_checkpoint
from tinygpt.run.layout import RunLayout
from tinygpt.train.budget import TimePlan
from tinygpt.train.config import TrainConfig
from tinygpt.train.data import TrainingData, micro_batch_size
from tinygpt.train.distributed import DistContext
from tinygpt.train.divergence import require_finite_loss, require_finite_weights
from tinygpt.train.interrupt import stop_on_interrupt
from tinygpt.train.metrics import MetricsLog
from tinygpt.train.optim import build_optimizer, set_learning_rate
from tinygpt.train.pace import Pace, StepPace, TimePace
from tinygpt.train.report import PlainReport, ReportFactory, TrainingReport
from tinygpt.train.rng import capture_rng_state, restore_rng_state, seed_everything


@dataclass(frozen=True)
class TrainSummary:
    """What a training call achieved; ``stopped_early`` when Ctrl-C or max_seconds ended it."""

    run_dir: Path
    steps: int
    tokens_seen: int
    train_loss: float | None
    val_loss: float | None
    held_out: HeldOutLoss | None
    best_checkpoint: str | None
    last_checkpoint: str | None
    elapsed_seconds: float
    tokens_per_second: float
    stopped_early: bool
    interrupted: bool


class Trainer:
    """One process's share of a run (the only one, unless under torchrun)."""

    def __init__(
        self,
        *,
        layout: RunLayout,
        model_config: GPTConfig,
        train_config: TrainConfig,
        data: TrainingData,
        device: torch.device,
        dtype: torch.dtype | None,
        dist: DistContext,
        seed: int,
        compile: bool,
        time_plan: TimePlan | None = None,
    ) -> None:
        self.layout = layout
        self.config = train_config
        self.data = data
        self.device = device
        self.dtype = dtype
        self.dist = dist
        self.context_length = model_config.context_length
        seed_everything(seed + dist.rank)
        if device.type == "cpu":
            keep_freed_memory()  # no page faults on each step's activations: see tinygpt.allocator
        self.raw_model = GPT(model_config).to(device)
        if train_config.zero_init_projections:
            self.raw_model.zero_output_projections()
        self.optimizer = build_optimizer(self.raw_model, train_config, device)
        # torch.compile of a Module returns a Module (an OptimizedModule), typed as a callable.
        forward_model = cast(nn.Module, torch.compile(self.raw_model)) if compile else self.raw_model
        self.model = dist.wrap(forward_model, device)
        self.pace: Pace = (
            StepPace(train_config)
            if time_plan is None
            else TimePace(
                time_plan,
                tokens_per_step=self.tokens_per_step,
                held_out_tokens=data.held_out_tokens // dist.world_size,
                estimate_tokens=2 * train_config.evaluation_iterations * self._micro_batch_tokens,
                agree=self._mean_over_ranks if dist.enabled else None,
            )
        )
        self.step = 0
        self.tokens_seen = 0
        self.best_checkpoint: str | None = None
        self.last_checkpoint: str | None = None
        self._checkpointed_step: int | None = None

    def release_process_group(self) -> None:
        """Drop the DDP wrapper once training is over: its reducer holds the process group, which
        must be torn down with nothing using it (`DistContext.stop`)."""
        self.model = self.raw_model

    @property
    def tokens_per_step(self) -> int:
        return self.config.contexts_per_batch * self.context_length

    @property
    def _micro_batch_tokens(self) -> int:
        """Tokens in one of this process's evaluation batches (a micro-batch)."""
        return micro_batch_size(self.config, self.dist.world_size) * self.context_length

    def restore(self, checkpoint_dir: Path) -> None:
        """Continue exactly from a checkpoint: weights, optimizer, step, RNG and loaders."""
        load_weights(self.raw_model, checkpoint_dir)
        state = load_trainer_state(checkpoint_dir)
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = self._checkpointed_step = state["step"]
        self.last_checkpoint = checkpoint_dir.name
        self.tokens_seen = state["tokens_seen"]
        self.pace.load_state_dict(state.get("pace", {}))
        ranks = state["ranks"]
        if len(ranks) == self.dist.world_size:
            restore_rng_state(ranks[self.dist.rank]["rng"], self.device)
            self.data.load_state_dict(ranks[self.dist.rank]["loaders"])
        elif self.dist.is_main:
            print(
                f"resuming {len(ranks)} process(es)' run with {self.dist.world_size}: weights "
                "and optimizer continue, the data streams and random state start afresh "
                "(not an exact resume)",
                file=sys.stderr,
            )

    def run(
        self, *, show_progress: bool, max_seconds: float | None, report: ReportFactory | None = None
    ) -> TrainSummary:
        started = time.perf_counter()
        start_step = self.step
        batches = self.data.batches()
        metrics = MetricsLog(self.layout.metrics, resume_step=start_step) if self.dist.is_main else None
        display = (report or PlainReport)(
            self.pace.total_steps, start_step, enabled=show_progress and self.dist.is_main
        )
        window = _Window(self.device, started)
        last_eval: tuple[float, float] | None = None
        train_loss: float | None = None
        interrupted = stopped_early = False
        try:
            with stop_on_interrupt() as stop_requested, display:
                display.message(
                    f"{self.raw_model.num_parameters():,} parameters, {self.device}, "
                    f"{precision_name(self.dtype)}, {self.dist.world_size} process(es), "
                    f"{self._extent(start_step)}, {self.tokens_per_step:,} tokens/step"
                )
                self.pace.start(self.step)
                while not self.pace.finished(self.step):
                    learning_rate = self.pace.learning_rate(self.step)
                    window.add(self._train_step(batches["train"], learning_rate))
                    self.step += 1
                    self.tokens_seen += self.tokens_per_step
                    at_end = self.pace.finished(self.step)
                    if self.step % self.config.log_interval == 0 or at_end:
                        train_loss = self._log(window, learning_rate, metrics, display, started)
                    if at_end or self.pace.evaluation_due(self.step):
                        last_eval = self._evaluate(batches, metrics, display)
                        self._checkpoint(val_loss=last_eval[1], train_loss=last_eval[0], at_end=at_end)
                    if not at_end and self._should_stop(stop_requested, started, max_seconds):
                        interrupted = stop_requested()
                        stopped_early = True
                        self._checkpoint(val_loss=None, train_loss=train_loss)
                        display.message(
                            f"stopped at step {self.step}; checkpoint {self.last_checkpoint} "
                            f"written (continue with `tinygpt train --resume {self.layout.root}`)"
                        )
                        break
            held_out = None if interrupted else self._held_out(metrics, display)
        finally:
            if metrics is not None:
                metrics.close()
        elapsed = time.perf_counter() - started
        return TrainSummary(
            run_dir=self.layout.root,
            steps=self.step,
            tokens_seen=self.tokens_seen,
            train_loss=train_loss,
            val_loss=None if last_eval is None else last_eval[1],
            held_out=held_out,
            best_checkpoint=self.best_checkpoint,
            last_checkpoint=self.last_checkpoint,
            elapsed_seconds=elapsed,
            tokens_per_second=(self.step - start_step) * self.tokens_per_step / max(elapsed, 1e-9),
            stopped_early=stopped_early,
            interrupted=interrupted,
        )

    def _mean_over_ranks(self, value: float) -> float:
        return self.dist.mean(torch.tensor(value, device=self.device)).item()

    def _extent(self, start_step: int) -> str:
        if self.pace.total_steps is None:
            assert isinstance(self.pace, TimePace)
            return f"a {self.pace.plan.seconds:g} s budget planned in time"
        return f"steps {start_step}-{self.pace.total_steps}"

    def _train_step(self, batches: Any, learning_rate: float) -> torch.Tensor:
        """One optimizer step over grad_accumulation micro-batches; returns the mean loss as a
        device tensor (no host sync here: it would stall a GPU every step)."""
        set_learning_rate(self.optimizer, learning_rate)
        accumulation = self.config.grad_accumulation
        step_loss = torch.zeros((), device=self.device)
        for micro in range(accumulation):
            x, y = next(batches)
            x = x.to(self.device, non_blocking=True)
            y = y.to(self.device, non_blocking=True)
            with self._gradient_sync(micro == accumulation - 1):
                with autocast(self.device, self.dtype):
                    logits = self.model(x)
                    # A document shorter than a window comes padded with ignored targets.
                    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=IGNORE_INDEX) / accumulation
                loss.backward()
            step_loss += loss.detach()
        if self.config.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.raw_model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return step_loss

    def _gradient_sync(self, last_micro_batch: bool) -> ContextManager:
        """DDP all-reduces gradients only on the last micro-batch of an accumulated step."""
        if self.dist.enabled and not last_micro_batch:
            return cast(DistributedDataParallel, self.model).no_sync()
        return contextlib.nullcontext()

    def _log(
        self,
        window: _Window,
        learning_rate: float,
        metrics: MetricsLog | None,
        display: TrainingReport,
        started: float,
    ) -> float:
        loss, tokens_per_second = window.flush(self.dist, self.tokens_per_step)
        if metrics is not None:
            metrics.write(
                "train",
                self.step,
                loss=loss,
                lr=learning_rate,
                tokens_per_second=tokens_per_second,
                tokens=self.tokens_seen,
                elapsed=time.perf_counter() - started,
            )
        require_finite_loss(
            loss,
            what="the training loss",
            step=self.step,
            learning_rate=learning_rate,
            last_checkpoint=self.last_checkpoint,
            run=self.layout.root,
        )
        display.update(self.step, loss=loss, lr=learning_rate, tokens_per_second=tokens_per_second)
        return loss

    def _evaluate(
        self, batches: dict[str, Any], metrics: MetricsLog | None, display: TrainingReport
    ) -> tuple[float, float]:
        """gpt-rs's estimate: mean loss over evaluation_iterations batches of each split, in
        float32 like the final held-out score, whose duration its timing predicts."""
        iterations = self.config.evaluation_iterations
        started = time.perf_counter()
        train_loss, val_loss = (
            self.dist.mean(mean_batch_loss(self.raw_model, batches[name], iterations, self.device)).item()
            for name in ("eval_train", "eval_val")
        )
        self.pace.evaluated(time.perf_counter() - started, 2 * iterations * self._micro_batch_tokens)
        if metrics is not None:
            metrics.write("eval", self.step, train_loss=train_loss, val_loss=val_loss)
        for what, value in (("the training loss", train_loss), ("the held-out loss", val_loss)):
            require_finite_loss(
                value,
                what=what,
                step=self.step,
                learning_rate=None,
                last_checkpoint=self.last_checkpoint,
                run=self.layout.root,
            )
        display.evaluation(self.step, train_loss=train_loss, val_loss=val_loss)
        return train_loss, val_loss

    def _held_out(self, metrics: MetricsLog | None, display: TrainingReport) -> HeldOutLoss:
        """The exact loss over every held-out token (float32), and bits per byte."""
        result = held_out_loss(
            self.raw_model,
            self.data.held_out_windows(self.config.contexts_per_batch // self.dist.world_size),
            self.device,
            text_bytes=self.data.held_out_text_bytes,
            all_reduce_sum=self.dist.sum,
        )
        if metrics is not None:
            metrics.write("held_out", self.step, **result.to_dict())
        bits = result.bits_per_byte
        display.message(
            f"held-out loss {result.loss:.4f} over {result.tokens:,} tokens"
            + ("" if bits is None else f", {bits:.4f} bits per byte")
        )
        return result

    def _checkpoint(self, *, val_loss: float | None, train_loss: float | None, at_end: bool = False) -> None:
        """Rank 0 writes; every rank's RNG and loader state goes in, for an exact resume.

        A time plan's last checkpoint is its best: the decay ends there, and the estimates
        (a few batches each) are too noisy to pick an earlier, undecayed model over it; one
        named a checkpoint 0.02 bits per byte worse than the last in a 10-minute run."""
        if self._checkpointed_step == self.step:
            return
        require_finite_weights(
            self.raw_model, step=self.step, last_checkpoint=self.last_checkpoint, run=self.layout.root
        )
        self._checkpointed_step = self.step
        per_rank = self.dist.gather({"rng": capture_rng_state(self.device), "loaders": self.data.state_dict()})
        if self.dist.is_main:
            trainer_state = {
                "step": self.step,
                "tokens_seen": self.tokens_seen,
                "pace": self.pace.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "ranks": per_rank,
            }
            meta = {
                "step": self.step,
                "val_loss": val_loss,
                "train_loss": train_loss,
                "tokens_seen": self.tokens_seen,
                "world_size": self.dist.world_size,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
            index = save_checkpoint(
                self.layout,
                self.step,
                self.raw_model,
                trainer_state,
                meta,
                keep_last=self.config.checkpoints_kept,
                best=at_end and isinstance(self.pace, TimePace),
            )
            self.best_checkpoint, self.last_checkpoint = index.best, index.last
        self.dist.barrier()

    def _should_stop(self, stop_requested: Any, started: float, max_seconds: float | None) -> bool:
        # Under torchrun the ranks must agree, which costs a collective: ask only at log steps.
        if self.dist.enabled and self.step % self.config.log_interval:
            return False
        over_budget = max_seconds is not None and time.perf_counter() - started >= max_seconds
        return self.dist.any(stop_requested() or over_budget, self.device)


class _Window:
    """Losses and time since the last log line, kept on the device until the log step."""

    def __init__(self, device: torch.device, started: float) -> None:
        self.device = device
        self.loss_sum = torch.zeros((), device=device)
        self.steps = 0
        self.since = started

    def add(self, step_loss: torch.Tensor) -> None:
        self.loss_sum += step_loss
        self.steps += 1

    def flush(self, dist: DistContext, tokens_per_step: int) -> tuple[float, float]:
        loss = dist.mean(self.loss_sum / self.steps).item()
        now = time.perf_counter()
        tokens_per_second = self.steps * tokens_per_step / max(now - self.since, 1e-9)
        self.loss_sum = torch.zeros((), device=self.device)
        self.steps = 0
        self.since = now
        return loss, tokens_per_second
