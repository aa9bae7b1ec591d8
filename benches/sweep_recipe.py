"""The sweep that chose budget mode's recipe (tinygpt.train.recipe): each candidate is the
recipe with one or two changes, trained by `tinygpt.train.train` on the story shards for the
same budget and scored by the run's own exact held-out bits per byte (every held-out token,
float32; the held-out stories are never trained on).

The clock is the process's CPU time by default (``--clock cpu``) with one torch thread, so a
candidate's budget does not shrink when other jobs load the machine: the ranking is what an
idle core would give. ``--clock wall`` uses the wall clock, as `tinygpt train` does. Candidates
run in ``--workers`` processes at once.

    python benches/sweep_recipe.py --seconds 60 --workers 2 --out sweep.jsonl [NAME ...]

Prints a Markdown table (the one in benches/README.md) and appends one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from cpu_clock import use_cpu_clock
from story_shards import make_story_shards

SHARED = Path(os.environ.get("TINYGPT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PARQUET = SHARED / "tinystories" / "tinystories-5k.parquet"


def _dropout(probability: float) -> dict[str, float]:
    """All four of the model's dropouts at ``probability``."""
    return {f"{kind}_dropout": probability for kind in ("embedding", "attention", "feed_forward", "residual")}


# Each candidate: changes to the recipe's model, train config and time schedule, and run options.
CANDIDATES: dict[str, dict[str, Any]] = {
    "recipe": {},
    "peak lr 1.5e-3": {"schedule": {"peak_lr": 1.5e-3, "min_lr": 1.5e-4}},
    "peak lr 6e-3": {"schedule": {"peak_lr": 6e-3, "min_lr": 6e-4}},
    "batch 16": {"train": {"contexts_per_batch": 16}},
    "batch 32": {"train": {"contexts_per_batch": 32}},
    "batch 64": {"train": {"contexts_per_batch": 64}},
    "fp32": {"precision": "fp32"},
    "muon": {"train": {"optimizer": "muon"}},
    "muon, peak lr 1.5e-3": {"train": {"optimizer": "muon"}, "schedule": {"peak_lr": 1.5e-3, "min_lr": 1.5e-4}},
    "peak lr 1.5e-3, batch 16": {
        "train": {"contexts_per_batch": 16},
        "schedule": {"peak_lr": 1.5e-3, "min_lr": 1.5e-4},
    },
    "cosine decay": {"schedule": {"shape": "warmup_cosine"}},
    "2 blocks": {"model": {"block_count": 2}},
    "6 blocks": {"model": {"block_count": 6}},
    "width 192, 6 heads": {"model": {"embedding_size": 192, "head_count": 6}},
    "width 192, 6 heads, 6 blocks": {"model": {"embedding_size": 192, "head_count": 6, "block_count": 6}},
    "width 256, 8 heads": {"model": {"embedding_size": 256, "head_count": 8}},
    "peak lr 6e-3, width 192, 6 heads": {
        "model": {"embedding_size": 192, "head_count": 6},
        "schedule": {"peak_lr": 6e-3, "min_lr": 6e-4},
    },
    "peak lr 6e-3, 6 blocks": {"model": {"block_count": 6}, "schedule": {"peak_lr": 6e-3, "min_lr": 6e-4}},
    "width 192, 6 heads, context 128, batch 16": {
        "model": {"embedding_size": 192, "head_count": 6, "context_length": 128},
        "train": {"contexts_per_batch": 16},
    },
    "context 128, batch 16": {"model": {"context_length": 128}, "train": {"contexts_per_batch": 16}},
    "context 128, batch 8": {"model": {"context_length": 128}, "train": {"contexts_per_batch": 8}},
    "context 256, batch 4": {"model": {"context_length": 256}, "train": {"contexts_per_batch": 4}},
    "context 256, batch 8": {"model": {"context_length": 256}, "train": {"contexts_per_batch": 8}},
    "context 512, batch 2": {"model": {"context_length": 512}, "train": {"contexts_per_batch": 2}},
    "dropout 0.1": {"model": _dropout(0.1)},
    "width 192, 6 heads, dropout 0.1": {
        "model": {
            "embedding_size": 192,
            "head_count": 6,
            **_dropout(0.1),
        }
    },
    "context 128, batch 16, dropout 0.1": {
        "model": {
            "context_length": 128,
            **_dropout(0.1),
        },
        "train": {"contexts_per_batch": 16},
    },
    "tied head": {"model": {"tie_weights": True}},
    "gelu": {"model": {"activation": "gelu"}},
    "weight decay 0.3": {"train": {"weight_decay": 0.3}},
    "weight decay 1.0": {"train": {"weight_decay": 1.0}},
    "min lr 0": {"schedule": {"min_lr": 0.0}},
    "min lr 3e-5": {"schedule": {"min_lr": 3e-5}},
    "peak lr 6e-3, batch 16": {"train": {"contexts_per_batch": 16}, "schedule": {"peak_lr": 6e-3, "min_lr": 6e-4}},
    "batch 8": {"train": {"contexts_per_batch": 8}},
    "dropout 0.2": {"model": _dropout(0.2)},
    "dropout 0.3": {"model": _dropout(0.3)},
    "dropout 0.05": {"model": _dropout(0.05)},
    "weight decay 0.5": {"train": {"weight_decay": 0.5}},
    "decay 0.6": {"schedule": {"decay_fraction": 0.6}},
    "3 newton-schulz steps": {"muon": {"ns_steps": 3}},
    "embedding lr x3": {"embedding_lr_scale": 3.0},
    "embedding lr x0.3": {"embedding_lr_scale": 0.3},
    "embedding lr x10": {"embedding_lr_scale": 10.0},
    "compile": {"compile": True},
    "zero-init projections": {"train": {"zero_init_projections": True}},
    "rotary positions": {"model": {"positions": "rotary"}},
    "learned positions": {"model": {"positions": "learned"}},
    "normal-init projections": {"train": {"zero_init_projections": False}},
    "relu squared": {"architecture": ("relu_squared",)},
    "gpt-rs config, constant 2e-4": {"gptrs": True},
}


def combined(*names: str) -> dict[str, Any]:
    """The changes of several candidates at once (later ones win where they touch the same field)."""
    changes: dict[str, Any] = {}
    for name in names:
        for part, fields in CANDIDATES[name].items():
            if isinstance(fields, dict):
                changes[part] = {**changes.get(part, {}), **fields}
            elif isinstance(fields, tuple):
                changes[part] = (*changes.get(part, ()), *fields)
            else:
                changes[part] = fields
    return changes


COMBINATIONS = (
    ("tied head", "gelu"),
    ("tied head", "weight decay 0.3"),
    ("tied head", "weight decay 1.0"),
    ("tied head", "min lr 0"),
    ("tied head", "batch 16"),
    ("tied head", "dropout 0.05"),
    ("tied head", "min lr 0", "batch 16"),
    ("tied head", "gelu", "min lr 0", "batch 16"),
    ("tied head", "min lr 0", "batch 16", "weight decay 0.3"),
    ("tied head", "min lr 0", "batch 16", "dropout 0.05"),
    ("tied head", "peak lr 6e-3, batch 16", "min lr 0"),
    ("tied head", "min lr 0", "batch 8"),
    ("tied head", "gelu", "min lr 0", "batch 16", "weight decay 0.3"),
    ("tied head", "gelu", "min lr 0", "batch 16", "weight decay 0.3", "dropout 0.2"),
    ("weight decay 0.3", "decay 0.6"),
    ("weight decay 0.3", "3 newton-schulz steps"),
    ("weight decay 0.3", "dropout 0.05"),
    ("weight decay 0.3", "dropout 0.1"),
    ("weight decay 0.3", "embedding lr x3"),
    ("weight decay 0.3", "embedding lr x0.3"),
    ("weight decay 0.3", "embedding lr x10"),
    ("weight decay 0.3", "batch 32"),
    ("weight decay 0.3", "zero-init projections"),
    ("weight decay 0.3", "rotary positions"),
    ("weight decay 0.3", "relu squared"),
    ("weight decay 0.3", "context 128, batch 8"),
    ("weight decay 0.3", "context 256, batch 4"),
    ("weight decay 0.3", "context 256, batch 8"),
    ("weight decay 0.3", "context 512, batch 2"),
    ("weight decay 0.3", "dropout 0.2", "context 256, batch 4"),
    ("weight decay 0.3", "dropout 0.2", "context 512, batch 2"),
    ("weight decay 0.3", "rotary positions", "zero-init projections"),
    ("weight decay 0.3", "rotary positions", "context 128, batch 8"),
    ("weight decay 0.3", "rotary positions", "context 256, batch 4"),
    ("weight decay 0.3", "learned positions", "normal-init projections"),
    ("weight decay 0.3", "learned positions"),
    ("weight decay 0.3", "normal-init projections"),
    ("weight decay 0.3", "dropout 0.2"),
    ("weight decay 0.3", "dropout 0.2", "learned positions", "normal-init projections"),
)
CANDIDATES.update({", ".join(names): combined(*names) for names in COMBINATIONS})


def candidate_run(name: str, shards: Path, seconds: float, clock: str, out: Path) -> dict[str, Any]:
    """Train one candidate in this process and return its figures."""
    import torch

    from tinygpt.data import read_manifest
    from tinygpt.model.config import GPTConfig
    from tinygpt.train import TrainConfig, train
    from tinygpt.train.budget import TimePlan
    from tinygpt.train.recipe import plan_recipe

    torch.set_num_threads(1)
    if clock == "cpu":
        use_cpu_clock()
    changes = CANDIDATES[name]
    vocab_size = read_manifest(shards).vocab_size
    # No speed figure: the recipe as it is before the data rule regularises it for many passes.
    recipe = plan_recipe(seconds, vocab_size=vocab_size, device="cpu", flops_per_second=0.0, threads=1)
    model = GPTConfig(**{**recipe.model.to_dict(), **changes.get("model", {})})
    config = recipe.train.replace(**changes.get("train", {}))
    plan = TimePlan(
        seconds=seconds,
        schedule=replace(recipe.plan.schedule, **changes.get("schedule", {})),
        evaluations=recipe.plan.evaluations,
    )
    if changes.get("gptrs"):  # gpt-rs's own recipe, its constant rate over the same time
        model = GPTConfig(vocab_size=vocab_size)
        config = TrainConfig()
        plan = replace(
            plan, schedule=replace(plan.schedule, peak_lr=2e-4, min_lr=2e-4, warmup_fraction=0.0, decay_fraction=0.0)
        )
    if changes.get("muon"):  # Muon's own options, which no config file sets
        monkeypatch_muon(changes["muon"])
    if changes.get("embedding_lr_scale"):
        monkeypatch_embedding_lr(changes["embedding_lr_scale"])
    for patch in changes.get("architecture", ()):
        ARCHITECTURE_PATCHES[patch]()
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    summary = train(
        shards,
        out,
        model,
        config,
        device="cpu",
        seed=0,
        show_progress=False,
        precision=changes.get("precision", "auto"),
        compile=changes.get("compile", False),
        time_plan=plan,
    )
    return {
        "name": name,
        "clock": clock,
        "budget_seconds": seconds,
        "bits_per_byte": summary.held_out.bits_per_byte,
        "held_out_loss": summary.held_out.loss,
        "steps": summary.steps,
        "tokens": summary.tokens_seen,
        "passes": summary.tokens_seen / read_manifest(shards).split("train").tokens,
        "parameters": sum(p.numel() for p in _model_parameters(out)),
        "wall_seconds": time.perf_counter() - started_wall,
        "cpu_seconds": time.process_time() - started_cpu,
        "load_average": os.getloadavg()[0],
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def monkeypatch_muon(options: dict[str, Any]) -> None:
    """Make this worker's Muon take ``options`` (e.g. ``ns_steps``) on top of the recipe's."""
    import functools

    import tinygpt.train.optim
    from tinygpt.train.muon import StackedMuon

    tinygpt.train.optim.StackedMuon = functools.partial(StackedMuon, **options)  # type: ignore[misc]


def monkeypatch_embedding_lr(scale: float) -> None:
    """Give this worker's embeddings (the tied head among them) ``scale`` times the schedule's
    learning rate, in an AdamW group of their own."""
    from torch import nn

    import tinygpt.train.loop
    from tinygpt.model.gpt import GPT

    groups_of = GPT.optimizer_groups

    def groups(self: GPT, weight_decay: float) -> list[dict[str, Any]]:
        decayed, rest = groups_of(self, weight_decay)
        embeddings = {id(m.weight) for m in self.modules() if isinstance(m, nn.Embedding)}
        return [
            decayed,
            {"params": [p for p in rest["params"] if id(p) in embeddings], "weight_decay": 0.0, "lr_scale": scale},
            {"params": [p for p in rest["params"] if id(p) not in embeddings], "weight_decay": 0.0},
        ]

    def set_learning_rate(optimizer: Any, learning_rate: float) -> None:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate * group.get("lr_scale", 1.0)

    GPT.optimizer_groups = groups  # type: ignore[method-assign]
    tinygpt.train.loop.set_learning_rate = set_learning_rate  # type: ignore[assignment]


def monkeypatch_relu_squared() -> None:
    """Feed-forward activation relu(x)^2 instead of GELU."""
    import torch

    from tinygpt.model import gpt

    class ReluSquared(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(x).square()

    gpt.ACTIVATION_MODULES["gelu"] = ReluSquared


ARCHITECTURE_PATCHES = {"relu_squared": monkeypatch_relu_squared}


def _model_parameters(run: Path) -> list[Any]:
    from safetensors.torch import load_file

    index = json.loads((run / "checkpoints" / "index.json").read_text())
    return list(load_file(run / "checkpoints" / index["last"] / "model.safetensors").values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="candidates to run (default: all)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("sweep.jsonl"))
    parser.add_argument("--shards", type=Path, help="story shards (default: made in a temp dir)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a worker process: run one candidate
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sweep-"))
    shards = args.shards or make_story_shards(PARQUET, work / "shards")
    if args.one:
        result = candidate_run(args.one, shards, args.seconds, args.clock, work / "run")
        print(json.dumps(result))
        return 0
    names = args.names or list(CANDIDATES)
    unknown = sorted(set(names) - set(CANDIDATES))
    if unknown:
        parser.error(f"unknown candidate(s) {unknown}; known: {list(CANDIDATES)}")

    def run_one(name: str) -> dict[str, Any]:
        command = [
            sys.executable,
            __file__,
            "--one",
            name,
            "--seconds",
            str(args.seconds),
            "--clock",
            args.clock,
            "--shards",
            str(shards),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return {"name": name, "error": done.stderr.strip().splitlines()[-1:]}
        result = json.loads(done.stdout.strip().splitlines()[-1])
        with args.out.open("a", encoding="utf-8") as log:
            log.write(json.dumps(result) + "\n")
        print(
            f"{name}: {result['bits_per_byte']:.4f} bits per byte, {result['steps']} steps", file=sys.stderr, flush=True
        )
        return result

    with ThreadPoolExecutor(args.workers) as pool:
        results = list(pool.map(run_one, names))
    print_table(results)
    return 0


def print_table(results: list[dict[str, Any]]) -> None:
    print("| candidate | held-out bits/byte | steps | tokens | passes | parameters | wall s | load |")
    print("|---|---|---|---|---|---|---|---|")
    for r in sorted(results, key=lambda r: r.get("bits_per_byte", float("inf"))):
        if "error" in r:
            print(f"| {r['name']} | failed: {r['error']} | | | | | | |")
            continue
        print(
            f"| {r['name']} | {r['bits_per_byte']:.4f} | {r['steps']:,} | {r['tokens']:,} | {r['passes']:.1f} | "
            f"{r['parameters']:,} | {r['wall_seconds']:.0f} | {r['load_average']:.1f} |"
        )


if __name__ == "__main__":
    sys.exit(main())
