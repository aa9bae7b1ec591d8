"""Run directories: the layout `tinygpt train` writes, its checkpoints, and ``load_run``.

``load_run`` needs torch and is imported on first use, so that code which only reads a run's
layout (the CLI, plotting) does not pay for torch at start-up.
"""

from __future__ import annotations

from tinygpt._lazy import lazy_exports
from tinygpt.run.layout import RunError, RunLayout, read_run_info, require_run, resolve_checkpoint

__all__ = ["RunError", "RunLayout", "load_run", "read_run_info", "require_run", "resolve_checkpoint"]

__getattr__, __dir__ = lazy_exports(__name__, {"load_run": "tinygpt.run.load"})
