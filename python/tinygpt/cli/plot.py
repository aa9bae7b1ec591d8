"""`tinygpt plot RUN`: a PNG of the run's loss curves."""

from __future__ import annotations

import argparse


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
    from tinygpt.train.plot import plot_run

    print(plot_run(args.run, args.out))
    return 0
