"""Build shard directories from plain token lists, so loader tests need no tokenizer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygpt.data.manifest import Manifest, ShardInfo, SplitInfo
from tinygpt.data.shards import write_shard

EOT = 0


def write_shard_dir(
    directory: Path,
    splits: dict[str, list[list[int]]],
    *,
    vocab_size: int = 1000,
    documents_per_shard: int = 3,
    dtype: str = "uint16",
) -> Path:
    """Write each split's documents (each preceded by EOT) into shards plus a manifest.json."""
    directory.mkdir(parents=True, exist_ok=True)
    infos = {}
    for name, documents in splits.items():
        info = SplitInfo()
        for index, first in enumerate(range(0, len(documents), documents_per_shard)):
            chunk = documents[first : first + documents_per_shard]
            tokens = np.array([t for doc in chunk for t in [EOT, *doc]], dtype=dtype)
            file = f"{name}_{index:06d}.bin"
            write_shard(directory / file, tokens)
            text_bytes = sum(len(doc) for doc in chunk)
            info.add_shard(ShardInfo(file, tokens.size, len(chunk), text_bytes), len(chunk), 0)
        infos[name] = info
    Manifest(
        directory=directory,
        tokenizer_fingerprint="test",
        vocab_size=vocab_size,
        eot_id=EOT,
        dtype=dtype,
        split_rule="tail",
        val_fraction=0.1,
        job={},
        splits=infos,
        complete=True,
    ).save()
    return directory


def write_stream_dir(
    directory: Path, stream: np.ndarray, cuts: list[int], *, vocab_size: int, dtype: str = "uint32"
) -> Path:
    """One 'train' split whose token stream is cut into shards at ``cuts`` (mid-document too)."""
    directory.mkdir(parents=True, exist_ok=True)
    info = SplitInfo()
    bounds = [0, *cuts, stream.size]
    for index, (start, stop) in enumerate(zip(bounds, bounds[1:])):
        file = f"train_{index:06d}.bin"
        write_shard(directory / file, stream[start:stop].astype(dtype))
        documents = int(np.count_nonzero(stream[start:stop] == EOT))
        info.add_shard(ShardInfo(file, stop - start, documents, 0), documents, 0)
    Manifest(directory, "test", vocab_size, EOT, dtype, "tail", 0.0, {}, {"train": info}, complete=True).save()
    return directory
