"""Best story model per CPU-minute: tinygpt's budget mode against what a user would pick
instead, side by side in one run on the same shards, scored by one evaluator.

Contenders, each in its own process, for the same budget:

- ``nanogpt``: nanoGPT's CPU recipe as a plain PyTorch loop (benches/baseline_train_loop.py),
  float32, ``--threads`` threads;
- ``tinygpt``: ``tinygpt train --data SHARDS --out RUN --max-seconds S --threads N`` and
  nothing else; ``tinygpt-fp32`` adds ``--precision fp32`` (what the recipe runs on a CPU
  without native bf16, AVX2 say), ``tinygpt-lr1.5e-3`` and ``tinygpt-lr4.5e-3`` another peak
  learning rate, ``tinygpt-batch16`` the batch of one thread at context 64 and
  ``tinygpt-batch4`` at context 256;
- ``gptrs``: gpt-rs's own recipe (its configs: constant 2e-4, 64 x 64 batches, dropout 0.05)
  in tinygpt, cut at S by ``--max-seconds``, ``--threads`` threads.

Every worker then scores its model with the same evaluator: the exact loss over every held-out
token (float32, windows of the model's context), in bits per byte of the held-out text.

Every contender trains on ``--threads`` threads (N above). Left to itself, budget mode takes
the cores the load average leaves, and one after the other that average still counts the
contender before.

``--clock wall`` (default) gives each contender S seconds of wall clock, one after the other;
``--clock cpu`` gives each S seconds of its own CPU time (use ``--threads 1``: one idle core's
worth, whatever else loads the machine) and runs them all at once (``--parallel``).

    python benches/compare_recipes.py --seconds 240 --out compare-240
    python benches/compare_recipes.py --seconds 240 --threads 1 --clock cpu --parallel --out c
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
from baseline_train_loop import NANOGPT_CPU, PlainConfig, PlainGPT, nanogpt_cpu_recipe
from cpu_clock import use_cpu_clock
from story_shards import make_story_shards

from tinygpt.cli import main as tinygpt_main
from tinygpt.data import TokenLoader, read_manifest
from tinygpt.evaluate import held_out_loss
from tinygpt.model.config import GPTConfig
from tinygpt.run import load_run
from tinygpt.train.config import TrainConfig

SHARED = Path(os.environ.get("TINYGPT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PARQUET = SHARED / "tinystories" / "tinystories-5k.parquet"
TINYGPT_FLAGS = {
    "tinygpt": [],
    "tinygpt-fp32": ["--precision", "fp32"],
    "tinygpt-lr1.5e-3": ["--learning-rate", "1.5e-3"],
    "tinygpt-batch16": ["--contexts-per-batch", "16"],
    "tinygpt-lr4.5e-3": ["--learning-rate", "4.5e-3"],
    "tinygpt-batch4": ["--contexts-per-batch", "4"],
}
CONTENDERS = ("nanogpt", *TINYGPT_FLAGS, "gptrs")
PROMPT = "Once upon a time"


def worker(name: str, out: Path, shards: Path, seconds: float, threads: int, clock: str) -> None:
    """Train contender ``name`` into ``out``, then score it; writes ``out/result.json``."""
    if clock == "cpu":
        use_cpu_clock()
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    if name == "nanogpt":
        torch.set_num_threads(threads)
        vocab_size = read_manifest(shards).vocab_size
        model, steps = nanogpt_cpu_recipe(
            shards / "train_000000.bin",
            vocab_size,
            seconds=seconds,
            clock=time.process_time if clock == "cpu" else time.perf_counter,
        )
        out.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), out / "model.pt")
        (out / "steps.json").write_text(json.dumps({"steps": steps, "vocab_size": vocab_size}))
    else:
        command = ["train", "--data", str(shards), "--out", str(out), "--max-seconds", str(seconds), "--no-progress"]
        if name == "gptrs":
            configs = out.parent / f"{out.name}-configs"
            configs.mkdir(parents=True, exist_ok=True)
            GPTConfig(vocab_size=read_manifest(shards).vocab_size).save(configs / "transformer_config.ron")
            TrainConfig().save(configs / "train_config.ron")
            command += [
                "--transformer-config",
                str(configs / "transformer_config.ron"),
                "--train-config",
                str(configs / "train_config.ron"),
            ]
        else:
            command += TINYGPT_FLAGS[name]
        command += ["--threads", str(threads)]
        if tinygpt_main(command) != 0:
            raise RuntimeError(f"{name}: tinygpt train failed")
    training = {"wall_seconds": time.perf_counter() - started_wall, "cpu_seconds": time.process_time() - started_cpu}
    model, context = load_contender(name, out)
    result = {
        "name": name,
        **training,
        "steps": _steps(name, out),
        "threads": torch.get_num_threads(),
        "parameters": sum(p.numel() for p in model.parameters()),
        **score(model, context, shards),
        "load_average_after": os.getloadavg()[0],
    }
    (out / "result.json").write_text(json.dumps(result))


def _steps(name: str, out: Path) -> int:
    if name == "nanogpt":
        return int(json.loads((out / "steps.json").read_text())["steps"])
    index = json.loads((out / "checkpoints" / "index.json").read_text())
    return int(index["last"].removeprefix("step_"))


def load_contender(name: str, out: Path) -> tuple[torch.nn.Module, int]:
    """The trained model (the run's best checkpoint for tinygpt) and its context length."""
    if name == "nanogpt":
        vocab_size = json.loads((out / "steps.json").read_text())["vocab_size"]
        model = PlainGPT(PlainConfig(vocab_size=vocab_size, **NANOGPT_CPU))
        model.load_state_dict(torch.load(out / "model.pt"))
        return model, NANOGPT_CPU["context_length"]
    model, _ = load_run(out, checkpoint="best", device="cpu")
    return model, model.config.context_length


def score(model: torch.nn.Module, context_length: int, shards: Path) -> dict[str, float]:
    """The one evaluator: exact float32 loss over every held-out token, and bits per byte."""
    windows = TokenLoader(shards, 32, context_length, split="val").iter_eval()
    text_bytes = read_manifest(shards).split("val").text_bytes
    result = held_out_loss(model.float().eval(), windows, torch.device("cpu"), text_bytes=text_bytes)
    return {"held_out_loss": result.loss, "bits_per_byte": result.bits_per_byte or 0.0}


def story(run: Path) -> str:
    done = subprocess.run(
        ["tinygpt", "generate", str(run), "--input", PROMPT, "--token-count", "160", "--seed", "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def compare(
    shards: Path,
    out: Path,
    seconds: float,
    threads: int,
    clock: str,
    parallel: bool,
    contenders: tuple[str, ...] = CONTENDERS,
) -> list[dict[str, Any]]:
    """Train and score every contender, each in a fresh process; writes ``out/results.json``."""
    out.mkdir(parents=True, exist_ok=True)

    def run(name: str) -> dict[str, Any]:
        load_before = os.getloadavg()[0]
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                name,
                "--out",
                str(out / name),
                "--shards",
                str(shards),
                "--seconds",
                str(seconds),
                "--threads",
                str(threads),
                "--clock",
                clock,
            ],
            check=True,
        )
        return {**json.loads((out / name / "result.json").read_text()), "load_average_before": load_before}

    with ThreadPoolExecutor(len(contenders) if parallel else 1) as pool:
        results = list(pool.map(run, contenders))
    meta = {
        "seconds": seconds,
        "threads": threads,
        "clock": clock,
        "parallel": parallel,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "aten_cpu_capability": os.environ.get("ATEN_CPU_CAPABILITY"),
        "cpus": os.cpu_count(),
    }
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--parallel", action="store_true", help="run the contenders at once")
    parser.add_argument("--out", type=Path, default=Path("compare"))
    parser.add_argument("--shards", type=Path, help="story shards (default: made under --out)")
    parser.add_argument("--contenders", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    shards = args.shards or make_story_shards(PARQUET, args.out / "shards")
    if args.worker:
        worker(args.worker, args.out, shards, args.seconds, args.threads, args.clock)
        return 0
    results = compare(shards, args.out, args.seconds, args.threads, args.clock, args.parallel, tuple(args.contenders))
    print(
        f"{args.seconds:g} s of {args.clock} clock each, {args.threads} thread(s), {torch.backends.cpu.get_cpu_capability()}, "
        f"{'at once' if args.parallel else 'one after the other'}"
    )
    print("| contender | held-out bits/byte | steps | parameters | threads | wall s | CPU s | load |")
    print("|---|---|---|---|---|---|---|---|")
    for r in sorted(results, key=lambda r: r["bits_per_byte"]):
        print(
            f"| {r['name']} | {r['bits_per_byte']:.4f} | {r['steps']:,} | {r['parameters']:,} | "
            f"{r['threads']} | {r['wall_seconds']:.0f} | {r['cpu_seconds']:.0f} | "
            f"{r['load_average_before']:.1f}-{r['load_average_after']:.1f} |"
        )
    if "tinygpt" in args.contenders:
        print(f"\ntinygpt's story:\n{story(args.out / 'tinygpt')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
