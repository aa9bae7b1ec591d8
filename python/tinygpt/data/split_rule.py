"""Which documents are held out: deterministic, so every run and every --part agrees.

``tail`` (like gpt-rs): the first floor(N * (1 - val_fraction)) documents of the corpus train,
the rest are held out; it needs N, the corpus' document count. ``hash``: a document is held out
when the BLAKE2b hash of its UTF-8 text, read as a fraction of 2**64, is below val_fraction; it
needs no count and does not depend on the order or slicing of the corpus.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from tinygpt.errors import ConfigError

SPLIT_RULES = ("tail", "hash")
TRAIN, VAL = "train", "val"


class SplitRule:
    """Assigns the document at corpus index ``index`` with UTF-8 text ``text`` to a split."""

    def __init__(self, rule: str, val_fraction: float, document_count: int | None) -> None:
        if rule not in SPLIT_RULES:
            raise ConfigError(f"split must be one of {SPLIT_RULES}, not {rule!r}")
        if not 0.0 <= val_fraction < 1.0:
            raise ConfigError(f"val_fraction must lie in [0, 1), not {val_fraction}")
        self.rule = rule
        self.val_fraction = val_fraction
        if rule == "tail":
            if document_count is None:
                raise ConfigError("the tail split needs the corpus' document count")
            self.train_documents = math.floor(document_count * (1.0 - val_fraction))
        self._hash_threshold = int(val_fraction * 2**64)

    def assign(self, index: int, text: bytes) -> str:
        if self.rule == "tail":
            return TRAIN if index < self.train_documents else VAL
        return VAL if self._hashed_out(text) else TRAIN

    def held_out(self, offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
        """The hash rule over texts laid out as Arrow lays them out (text i is
        ``data[offsets[i]:offsets[i + 1]]``, UTF-8): True where a text is held out. No Python
        object is made per text but its hash."""
        view = memoryview(data.data)
        bounds = offsets.tolist()
        held = (self._hashed_out(view[a:b]) for a, b in zip(bounds, bounds[1:]))
        return np.fromiter(held, dtype=bool, count=len(bounds) - 1)

    def _hashed_out(self, text: bytes | memoryview) -> bool:
        digest = hashlib.blake2b(text, digest_size=8).digest()
        return int.from_bytes(digest, "little") < self._hash_threshold
