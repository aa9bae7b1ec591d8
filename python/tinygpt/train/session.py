"""Starting a run (a new run directory) or resuming one; both end in `Trainer.run`."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from tinygpt import limits
from tinygpt.atomic import atomic_write_text
from tinygpt.model.config import GPTConfig
from tinygpt.precision import autocast_dtype, precision_name
from tinygpt.run.claim import claim_existing_run, claim_new_run
from tinygpt.run.layout import RunLayout, read_run_info, resolve_checkpoint
from tinygpt.tokenizer.bpe import BPETokenizer
from tinygpt.train.budget import TimePlan
from tinygpt.train.config import TrainConfig
from tinygpt.train.data import TrainingData, micro_batch_size
from tinygpt.train.distributed import DistContext, context_from_environment
from tinygpt.train.loop import Trainer, TrainSummary
from tinygpt.train.report import ReportFactory


def train(
    data_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    model_config: GPTConfig,
    train_config: TrainConfig,
    *,
    device: str = "auto",
    precision: str = "auto",
    seed: int = 0,
    show_progress: bool = True,
    report: ReportFactory | None = None,
    max_seconds: float | None = None,
    compile: bool = False,
    time_plan: TimePlan | None = None,
) -> TrainSummary:
    """Train a new model on the shards in ``data_dir`` (a `tinygpt tokenize` output) into the
    new run directory ``out_dir``, which receives the tokenizer and both configs.

    ``max_seconds`` stops cleanly after that much training time, with a checkpoint.
    ``report`` draws the run's progress (default: plain lines on stderr; the CLI passes its live
    display, tinygpt.cli.display.TrainingDisplay); ``show_progress=False`` silences it.
    ``time_plan`` (budget mode, see tinygpt.train.recipe) replaces the step count and the
    schedule of ``train_config`` by a schedule planned in time. Under torchrun every process
    calls this; only rank 0 writes.
    """
    limits.seed(seed)
    _check_budget(max_seconds)
    dist = context_from_environment()
    target = dist.device(device)
    dtype = autocast_dtype(precision, target)
    micro_batch_size(train_config, dist.world_size)
    layout = RunLayout.of(out_dir)
    with claim_new_run(layout) if dist.is_main else contextlib.nullcontext():
        return _start(
            data_dir,
            layout,
            model_config,
            train_config,
            dist=dist,
            target=target,
            dtype=dtype,
            precision=precision,
            seed=seed,
            show_progress=show_progress,
            report=report,
            max_seconds=max_seconds,
            compile=compile,
            time_plan=time_plan,
        )


def _start(
    data_dir: str | os.PathLike[str],
    layout: RunLayout,
    model_config: GPTConfig,
    train_config: TrainConfig,
    *,
    dist: DistContext,
    target: Any,
    dtype: Any,
    precision: str,
    seed: int,
    show_progress: bool,
    report: ReportFactory | None,
    max_seconds: float | None,
    compile: bool,
    time_plan: TimePlan | None,
) -> TrainSummary:
    dist.start(target)
    try:
        trainer = _open_trainer(
            data_dir,
            layout,
            model_config,
            train_config,
            dist=dist,
            target=target,
            dtype=dtype,
            seed=seed,
            compile=compile,
            time_plan=time_plan,
        )
        if dist.is_main:
            _create_run(
                layout,
                trainer.data,
                model_config,
                train_config,
                seed=seed,
                device=str(target),
                precision=precision_name(dtype),
                dist=dist,
                time_plan=time_plan,
            )
        dist.barrier()
        return _run_to_end(trainer, dist, show_progress=show_progress, max_seconds=max_seconds, report=report)
    finally:
        dist.stop()


def resume(
    run_dir: str | os.PathLike[str],
    *,
    data_dir: str | os.PathLike[str] | None = None,
    train_config: TrainConfig | None = None,
    device: str = "auto",
    precision: str = "auto",
    show_progress: bool = True,
    report: ReportFactory | None = None,
    max_seconds: float | None = None,
    compile: bool = False,
) -> TrainSummary:
    """Continue a run from its last checkpoint exactly as if it had never stopped.

    ``data_dir`` defaults to the shards the run was started on; ``train_config`` (e.g. more
    training_iterations) replaces the run's own and is saved into it.
    """
    _check_budget(max_seconds)
    dist = context_from_environment()
    target = dist.device(device)
    dtype = autocast_dtype(precision, target)
    layout = RunLayout.of(run_dir)
    with claim_existing_run(layout) if dist.is_main else contextlib.nullcontext():
        info = read_run_info(run_dir)
        checkpoint_dir = resolve_checkpoint(run_dir, "last")
        model_config = GPTConfig.load(layout.transformer_config)
        config = train_config or TrainConfig.load(layout.train_config)
        micro_batch_size(config, dist.world_size)
        dist.start(target)
        try:
            trainer = _open_trainer(
                data_dir or info["data"],
                layout,
                model_config,
                config,
                dist=dist,
                target=target,
                dtype=dtype,
                seed=info["seed"],
                compile=compile,
                time_plan=_time_plan(info),
                tokenizer=BPETokenizer.load(layout.tokenizer),
            )
            trainer.restore(checkpoint_dir)
            if dist.is_main and train_config is not None:
                config.save(layout.train_config)
            return _run_to_end(trainer, dist, show_progress=show_progress, max_seconds=max_seconds, report=report)
        finally:
            dist.stop()


def _open_trainer(
    data_dir: str | os.PathLike[str],
    layout: RunLayout,
    model_config: GPTConfig,
    train_config: TrainConfig,
    *,
    dist: DistContext,
    target: Any,
    dtype: Any,
    seed: int,
    compile: bool,
    time_plan: TimePlan | None,
    tokenizer: BPETokenizer | None = None,
) -> Trainer:
    """The shards opened for ``model_config`` and a Trainer over them: what a new run and a
    resumed one (which passes its own ``tokenizer`` to check the shards against) share."""
    data = TrainingData.open(
        data_dir,
        vocab_size=model_config.vocab_size,
        context_length=model_config.context_length,
        config=train_config,
        seed=seed,
        dist=dist,
        pin_memory=target.type == "cuda",
        tokenizer=tokenizer,
    )
    return Trainer(
        layout=layout,
        model_config=model_config,
        train_config=train_config,
        data=data,
        device=target,
        dtype=dtype,
        dist=dist,
        seed=seed,
        compile=compile,
        time_plan=time_plan,
    )


def _run_to_end(
    trainer: Trainer,
    dist: DistContext,
    *,
    show_progress: bool,
    max_seconds: float | None,
    report: ReportFactory | None,
) -> TrainSummary:
    """Run ``trainer``; then every rank finishes its last collective and lets go of its DDP model,
    so that the caller's `DistContext.stop` tears the process group down with nothing using it."""
    summary = trainer.run(show_progress=show_progress, max_seconds=max_seconds, report=report)
    dist.barrier()
    trainer.release_process_group()
    return summary


def _check_budget(max_seconds: float | None) -> None:
    if max_seconds is not None:
        limits.seconds(max_seconds)


def _create_run(
    layout: RunLayout,
    data: TrainingData,
    model_config: GPTConfig,
    train_config: TrainConfig,
    *,
    seed: int,
    device: str,
    precision: str,
    dist: DistContext,
    time_plan: TimePlan | None,
) -> None:
    """Make the run self-contained: tokenizer and configs copied in, provenance in run.json."""
    layout.root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data.tokenizer_path, layout.tokenizer)
    model_config.save(layout.transformer_config)
    train_config.save(layout.train_config)
    info = {
        "data": str(Path(data.directory).resolve()),
        "tokenizer_fingerprint": data.tokenizer.fingerprint(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tinygpt_version": _version(),
        "seed": seed,
        "device": device,
        "precision": precision,
        "world_size": dist.world_size,
    }
    if time_plan is not None:
        info["time_plan"] = time_plan.to_dict()
    atomic_write_text(layout.info, json.dumps(info, indent=2) + "\n")


def _time_plan(info: dict[str, Any]) -> TimePlan | None:
    """A budget run resumes on its own time plan, its clock continuing from the checkpoint."""
    record = info.get("time_plan")
    return None if record is None else TimePlan.from_dict(record)


def _version() -> str:
    try:
        return metadata.version("tinygpt")
    except metadata.PackageNotFoundError:
        return "unknown"
