"""TokenLoader: training and evaluation batches from memory-mapped shards, no Python in the loop.

The compiled ``tinygpt._loader`` maps a split's shards, indexes its documents by their
end-of-text tokens and fills batches on a background thread; this class states the policy
(arguments, resume state, tensors).
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any, Iterator

import torch

from tinygpt import _loader
from tinygpt.data.manifest import Manifest, read_manifest
from tinygpt.errors import ConfigError, DataError

SAMPLING_MODES = ("document", "stream")
_STATE_VERSION = 1
_SEED_MASK = 2**64 - 1

_LIVE_LOADERS: weakref.WeakSet[TokenLoader] = weakref.WeakSet()
# Batch streams inherited through fork(): their C++ thread exists only in the parent, so they
# must never be waited on or destroyed in the child; they are parked here instead.
_INHERITED_STREAMS: list[Any] = []


def _restart_streams_after_fork() -> None:
    for loader in _LIVE_LOADERS:
        if loader._stream is not None:
            _INHERITED_STREAMS.append(loader._stream)
            loader._stream = None  # the child's next batch starts its own thread


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restart_streams_after_fork)


class TokenLoader:
    """An endless, reproducible stream of ``(x, y)`` int64 batches from a shard directory.

    ``x`` and ``y`` are ``(batch_size, context_length)`` tensors, ``y`` is ``x`` shifted by one
    token. ``sampling="document"`` draws a window at any token of a document (its end-of-text
    token or a text token, all equally likely) and runs it for ``context_length + 1`` tokens; a
    window that would pass the end-of-text token closing the document (the next document's, or
    the one implied at the end of the split) moves back to end on it, so a model learns where a
    document ends as often as in the stream. Only a document shorter than one window gives a
    padded window (``x`` with the end-of-text id, ``y`` with -1, to be ignored:
    ``cross_entropy(..., ignore_index=-1)``); ``"stream"`` draws full windows anywhere
    in the concatenated split. Batch ``b`` depends only on ``(seed, b, rank, world_size)``, never
    on ``prefetch`` or thread timing; the ``world_size`` ranks draw disjoint streams (rank ``r``
    gets the global batches ``b * world_size + r``). ``pin_memory=True`` copies each batch into
    page-locked memory for faster, asynchronous host-to-GPU transfers.

    >>> loader = TokenLoader("out", batch_size=64, context_length=64)
    >>> x, y = next(iter(loader))
    >>> x.shape, x.dtype, bool(((x[:, 1:] == y[:, :-1]) | (y[:, :-1] == -1)).all())
    (torch.Size([64, 64]), torch.int64, True)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        batch_size: int,
        context_length: int,
        *,
        split: str = "train",
        seed: int = 0,
        sampling: str = "document",
        rank: int = 0,
        world_size: int = 1,
        prefetch: int = 2,
        pin_memory: bool = False,
    ) -> None:
        _check_positive(batch_size=batch_size, context_length=context_length, prefetch=prefetch, world_size=world_size)
        if sampling not in SAMPLING_MODES:
            raise ConfigError(f"sampling must be one of {SAMPLING_MODES}, not {sampling!r}")
        if not 0 <= rank < world_size:
            raise ConfigError(f"rank must satisfy 0 <= rank < world_size={world_size}, not {rank}")
        if pin_memory and not torch.cuda.is_available():
            raise ConfigError("pin_memory=True needs CUDA, and torch sees no CUDA device")
        self.manifest: Manifest = read_manifest(path)
        self.batch_size = batch_size
        self.context_length = context_length
        self.split = split
        self.seed = seed
        self.sampling = sampling
        self.rank = rank
        self.world_size = world_size
        self.prefetch = prefetch
        self.pin_memory = pin_memory
        info = self.manifest.split(split)
        if info.tokens == 0:
            raise DataError(f"{self.manifest.directory}: split {split!r} is empty")
        self._store = _loader.TokenStore(
            [os.fspath(p) for p in self.manifest.shard_paths(split)],
            token_bytes=4 if self.manifest.dtype == "uint32" else 2,
            eot_id=self.manifest.eot_id,
            vocab_size=self.manifest.vocab_size,
        )
        self._batches = 0  # batches handed out: the resume point
        self._stream: Any = None  # started at the first batch, so eval-only loaders cost nothing
        _LIVE_LOADERS.add(self)

    @property
    def tokenizer_path(self) -> Path:
        """The tokenizer the shards were written with (``tokenizer.ron`` beside them)."""
        return self.manifest.tokenizer_path

    @property
    def num_tokens(self) -> int:
        return self._store.num_tokens

    @property
    def num_documents(self) -> int:
        return self._store.num_documents

    def __iter__(self) -> TokenLoader:
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._stream is None:
            self._stream = self._random_stream()
        x, y = self._stream.next()
        self._batches += 1
        return self._to_tensors(x, y)

    def iter_eval(self, batch_size: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One sequential pass over the split that predicts every token exactly once.

        Windows advance by ``context_length``. With ``sampling="document"`` each document is
        swept on its own from its end-of-text token, so every text token and the end-of-text
        token closing the document is a target once, with context from its own document only
        (as in training); with ``"stream"`` the sweep runs
        over the concatenated split and every token after the first is a target. The last
        window of each sweep is padded: ``y == -1`` marks positions to ignore
        (``cross_entropy(..., ignore_index=-1)``), and the last batch may have fewer rows. Rank
        ``r`` of ``world_size`` gets windows ``r, r + world_size, ...``.
        """
        rows = self.batch_size if batch_size is None else batch_size
        _check_positive(batch_size=rows)
        stream = _loader.sequential_batches(
            self._store,
            self.sampling == "document",
            rows,
            self.context_length,
            self.rank,
            self.world_size,
            self.prefetch,
        )
        while (batch := stream.next()) is not None:
            yield self._to_tensors(*batch)

    def state_dict(self) -> dict[str, Any]:
        """Where the stream stands; ``load_state_dict`` on an equal loader continues exactly."""
        return {
            "version": _STATE_VERSION,
            "batches": self._batches,
            **self._identity(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (from ``state_dict``); its settings must match this loader's.

        ``rank`` may differ: every rank has served the same number of batches.
        """
        if state.get("version") != _STATE_VERSION or not isinstance(state.get("batches"), int):
            raise ConfigError(f"not a TokenLoader state (version {_STATE_VERSION}): {state!r}")
        mismatched = [key for key, value in self._identity().items() if state.get(key) != value]
        if mismatched:
            details = ", ".join(f"{k}: saved {state.get(k)!r}, now {self._identity()[k]!r}" for k in mismatched)
            raise ConfigError(f"loader state does not match this loader ({details})")
        self._batches = state["batches"]
        self._stream = None

    def close(self) -> None:
        """Stop the background thread now rather than at garbage collection."""
        self._stream = None

    def _identity(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "split": self.split,
            "sampling": self.sampling,
            "batch_size": self.batch_size,
            "context_length": self.context_length,
            "world_size": self.world_size,
            "num_tokens": self.num_tokens,
            "tokenizer_fingerprint": self.manifest.tokenizer_fingerprint,
        }

    def _random_stream(self) -> Any:
        try:
            return _loader.random_batches(
                self._store,
                self.sampling == "document",
                self.batch_size,
                self.context_length,
                self.seed & _SEED_MASK,
                self.rank,
                self.world_size,
                self._batches,
                self.prefetch,
            )
        except DataError as error:
            raise DataError(f"{self.manifest.directory}, split {self.split!r}: {error}") from None

    def _to_tensors(self, x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        if self.pin_memory:
            return x.pin_memory(), y.pin_memory()
        return x, y


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, not {value!r}")
