"""Training: `tinygpt train`'s loop, its optimizer, schedules, checkpoints and devices.

``train`` starts a run, ``resume`` continues one; both return a ``TrainSummary``. The names are
imported lazily so that ``tinygpt.device`` stays cheap to import.
"""

from __future__ import annotations

from tinygpt._lazy import lazy_exports

__all__ = ["TrainConfig", "TrainSummary", "resume", "train"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "TrainConfig": "tinygpt.train.config",
        "TrainSummary": "tinygpt.train.loop",
        "train": "tinygpt.train.session",
        "resume": "tinygpt.train.session",
    },
)
