"""A tokenize job's identity and resumption.

The settings that identify a job are recorded in its manifest; a re-run with the same settings
resumes where the manifest says it stopped, and a directory holding another job's shards is
refused. ``part=(i, n)`` jobs tokenize one contiguous slice of the documents each.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tinygpt.data.manifest import SPLITS, TOKENIZER_NAME, Manifest, load_manifest_file
from tinygpt.data.shards import read_header
from tinygpt.data.sources import Corpus
from tinygpt.errors import ConfigError, DataError


def check_part(part: tuple[int, int] | None) -> None:
    if part is None:
        return
    if (
        not isinstance(part, tuple)
        or len(part) != 2
        or not all(isinstance(v, int) for v in part)
        or not 0 <= part[0] < part[1]
    ):
        raise ConfigError(f"part must be (i, n) with 0 <= i < n, not {part!r}")


def part_range(part: tuple[int, int] | None, count: int | None) -> tuple[int, float]:
    if part is None:
        return 0, float("inf") if count is None else count
    if count is None:
        raise ConfigError("a part of the corpus needs its document count")
    index, parts = part
    return count * index // parts, count * (index + 1) // parts


def job_identity(
    corpus: Corpus,
    split: str,
    val_fraction: float,
    shard_tokens: int,
    part: tuple[int, int] | None,
    fingerprint: str,
    on_unknown: str | None = None,
) -> dict[str, Any]:
    """The settings that identify a job: a resume or a merge must match them exactly.
    ``on_unknown`` is recorded only when it skips or replaces characters, so that jobs which
    never meet one keep the identity they had before the setting existed."""
    optional = {} if on_unknown is None else {"on_unknown": on_unknown}
    return {
        "files": [str(path.resolve()) for path in corpus.paths],
        "total_bytes": corpus.total_bytes,
        "text_column": corpus.text_column,
        "format": corpus.format,
        "split_rule": split,
        "val_fraction": val_fraction,
        "shard_tokens": shard_tokens,
        "tokenizer_fingerprint": fingerprint,
        "part": list(part) if part else None,
        **optional,
    }


def start_or_resume(fresh: Manifest) -> Manifest:
    """The job's own manifest if an interrupted run left one, else ``fresh``.

    Refuses a directory that holds another job's shards, and one whose recorded shards were
    changed since.
    """
    directory = fresh.directory
    if directory.exists() and not directory.is_dir():
        raise DataError(f"{directory}: exists and is not a directory")
    others = sorted(directory.glob("manifest*.json")) if directory.is_dir() else []
    for path in others:
        other = load_manifest_file(path)
        differing = sorted(
            key for key in set(other.job) | set(fresh.job) if key != "part" and other.job.get(key) != fresh.job.get(key)
        )
        if differing:
            raise DataError(
                f"{directory} already holds shards of another tokenize job ({path.name} differs in "
                f"{', '.join(differing)}); choose another output directory or empty this one"
            )
    own = directory / fresh.file_name
    if directory.is_dir():
        _remove_stale_temp_files(directory, fresh.part, fresh.file_name)
    if not own.is_file():
        return fresh
    manifest = load_manifest_file(own)
    for info in manifest.splits.values():
        for shard in info.shards:
            found = read_header(directory / shard.file).token_count
            if found != shard.tokens:
                raise DataError(
                    f"{directory / shard.file}: holds {found} tokens but {own.name} recorded "
                    f"{shard.tokens}; the directory was changed, so tokenize into a fresh one"
                )
    return manifest


def shard_stem(split: str, part: tuple[int, int] | None) -> str:
    return split if part is None else f"{split}_part{part[0]:04d}"


def _remove_stale_temp_files(directory: Path, part: tuple[int, int] | None, manifest_name: str) -> None:
    """Temp files a killed run of this job was writing (never complete, never referenced):
    its shards, its manifest and, without --part (parts may run at once and share it), the
    tokenizer."""
    stems = [rf"{re.escape(shard_stem(split, part))}_\d{{6}}\.bin" for split in SPLITS]
    stems.append(re.escape(manifest_name))
    if part is None:
        stems.append(re.escape(TOKENIZER_NAME))
    pattern = re.compile(rf"\.(?:{'|'.join(stems)})\..+\.tmp")
    for path in directory.iterdir():
        if pattern.fullmatch(path.name):
            path.unlink(missing_ok=True)
