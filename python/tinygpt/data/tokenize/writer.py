"""Shard writing: one split's encoded documents into shards that end at document boundaries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygpt.data.manifest import Manifest, ShardInfo
from tinygpt.data.shards import ShardBuilder
from tinygpt.data.tokenize.job import shard_stem


@dataclass
class Encoded:
    """One split's share of a batch: tokens, and per input document its token count (0 when
    the document is empty and was skipped) and text size."""

    tokens: np.ndarray
    lengths: np.ndarray
    text_bytes: np.ndarray


class SplitWriter:
    """Appends one split's documents to shards of at most ``shard_tokens`` tokens (a longer
    document gets a shard of its own) and records each finished shard in the manifest."""

    def __init__(self, manifest: Manifest, split: str, dtype: np.dtype, shard_tokens: int) -> None:
        self.manifest = manifest
        self.info = manifest.splits[split]
        self.stem = shard_stem(split, manifest.part)
        self.dtype = dtype
        self.shard_tokens = shard_tokens
        self.builder: ShardBuilder | None = None
        self.pending = {"documents": 0, "text_bytes": 0, "inputs": 0, "empty": 0}

    def add(self, part: Encoded) -> None:
        ends = np.cumsum(part.lengths)
        first, position = 0, 0
        while first < part.lengths.size:
            filled = self.builder.token_count if self.builder else 0
            stop = int(np.searchsorted(ends, position + self.shard_tokens - filled, side="right"))
            if stop == first:
                if filled:
                    self._finish_shard()
                    continue
                stop = first + 1  # a document longer than a shard: a shard of its own
            end = int(ends[stop - 1])
            self._append(part, first, stop, position, end)
            first, position = stop, end
            if first < part.lengths.size:
                self._finish_shard()

    def _append(self, part: Encoded, first: int, stop: int, position: int, end: int) -> None:
        if end > position:
            if self.builder is None:
                name = f"{self.stem}_{len(self.info.shards):06d}.bin"
                self.builder = ShardBuilder(self.manifest.directory / name, self.dtype)
            self.builder.append(part.tokens[position:end])
        lengths = part.lengths[first:stop]
        self.pending["documents"] += int(np.count_nonzero(lengths))
        self.pending["empty"] += int(lengths.size - np.count_nonzero(lengths))
        self.pending["inputs"] += stop - first
        self.pending["text_bytes"] += int(part.text_bytes[first:stop].sum())

    def _finish_shard(self) -> None:
        builder, self.builder = self.builder, None
        assert builder is not None, "a shard is finished only after tokens were appended to it"
        builder.finish()
        shard = ShardInfo(
            builder.path.name,
            builder.token_count,
            self.pending["documents"],
            self.pending["text_bytes"],
            crc32=builder.crc32,
        )
        self.info.add_shard(shard, self.pending["inputs"], self.pending["empty"])
        self.pending = dict.fromkeys(self.pending, 0)
        self.manifest.save()

    def close(self) -> None:
        """Finish the last shard; record trailing empty documents even when no shard is open."""
        if self.builder is not None:
            self._finish_shard()
        elif self.pending["inputs"]:
            self.info.input_documents += self.pending["inputs"]
            self.info.empty_documents += self.pending["empty"]
            self.pending = dict.fromkeys(self.pending, 0)

    def abort(self) -> None:
        if self.builder is not None:
            self.builder.abort()
            self.builder = None
