"""Loss curves of a run as a PNG (matplotlib is an optional extra: `pip install tinygpt[plot]`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tinygpt.errors import TinyGPTError
from tinygpt.run import RunLayout, require_run
from tinygpt.train.metrics import read_metrics


def plot_run(run: str | os.PathLike[str], out: str | os.PathLike[str] | None = None) -> Path:
    """Draw training loss, the periodic train/held-out estimates and the exact held-out loss
    against steps; returns the PNG's path (default RUN/loss.png)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise TinyGPTError(
            "tinygpt plot needs matplotlib: pip install 'tinygpt[plot]' (or matplotlib)"
        ) from None
    layout = RunLayout.of(run)
    require_run(layout)
    if not layout.metrics.is_file():
        raise TinyGPTError(f"{layout.metrics} does not exist yet: the run has logged nothing")
    records = read_metrics(layout.metrics)
    figure, axes = plt.subplots(figsize=(8, 5))
    _line(axes, records, "train", "loss", "training loss (log window mean)", alpha=0.5)
    _line(axes, records, "eval", "train_loss", "train estimate", marker="o")
    _line(axes, records, "eval", "val_loss", "held-out estimate", marker="o")
    _line(axes, records, "held_out", "loss", "held-out (every token)", marker="*", markersize=12,
          linestyle="none")
    axes.set_xlabel("step")
    axes.set_ylabel("loss (nats per token)")
    axes.set_title(f"{layout.root.resolve().name}: loss against steps")
    axes.grid(alpha=0.3)
    axes.legend()
    target = Path(out) if out is not None else layout.root / "loss.png"
    from tinygpt.atomic import atomic_write

    with atomic_write(target) as handle:
        figure.savefig(handle, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    return target


def _line(axes: Any, records: list[dict[str, Any]], kind: str, key: str, label: str,
          **style: Any) -> None:
    points = [(r["step"], r[key]) for r in records if r.get("kind") == kind and key in r]
    if points:
        steps, values = zip(*points)
        axes.plot(steps, values, label=label, **style)
