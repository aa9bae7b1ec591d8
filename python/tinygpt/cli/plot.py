"""`tinygpt plot RUN`: a PNG of the run's loss curves.

matplotlib is an optional extra: `pip install tinygpt[plot]`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from tinygpt.atomic import atomic_write
from tinygpt.errors import TinyGPTError
from tinygpt.run.layout import RunLayout, require_run
from tinygpt.train.metrics import read_metrics


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plot",
        help="draw a run's loss curves into a PNG",
        description="Plot training loss, the periodic train/held-out estimates and the exact "
        "held-out loss of a `tinygpt train` run against steps (needs matplotlib: "
        "pip install 'tinygpt[plot]').",
    )
    parser.add_argument("run", metavar="RUN", help="run directory")
    parser.add_argument("--out", metavar="PNG", help="output file (default RUN/loss.png)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(plot_run(args.run, args.out))
    return 0


def plot_run(run: str | os.PathLike[str], out: str | os.PathLike[str] | None = None) -> Path:
    """Draw training loss, the periodic train/held-out estimates and the exact held-out loss
    against steps; returns the PNG's path (default RUN/loss.png)."""
    try:
        # matplotlib is an optional extra, and slow to import: only this command needs it.
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise TinyGPTError("tinygpt plot needs matplotlib: pip install 'tinygpt[plot]' (or matplotlib)") from None
    layout = RunLayout.of(run)
    require_run(layout)
    if not layout.metrics.is_file():
        raise TinyGPTError(f"{layout.metrics} does not exist yet: the run has logged nothing")
    records = read_metrics(layout.metrics)
    figure, axes = plt.subplots(figsize=(8, 5))
    _line(axes, records, "train", "loss", "training loss (log window mean)", alpha=0.5)
    _line(axes, records, "eval", "train_loss", "train estimate", marker="o")
    _line(axes, records, "eval", "val_loss", "held-out estimate", marker="o")
    _line(axes, records, "held_out", "loss", "held-out (every token)", marker="*", markersize=12, linestyle="none")
    axes.set_xlabel("step")
    axes.set_ylabel("loss (nats per token)")
    axes.set_title(f"{layout.root.resolve().name}: loss against steps")
    axes.grid(alpha=0.3)
    axes.legend()
    target = Path(out) if out is not None else layout.root / "loss.png"
    with atomic_write(target) as handle:
        figure.savefig(handle, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    return target


def _line(axes: Any, records: list[dict[str, Any]], kind: str, key: str, label: str, **style: Any) -> None:
    points = [(r["step"], r[key]) for r in records if r.get("kind") == kind and key in r]
    if points:
        steps, values = zip(*points)
        axes.plot(steps, values, label=label, **style)
