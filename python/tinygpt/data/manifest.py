"""manifest.json: what a shard directory holds, so the directory alone is enough to train from.

One manifest per ``tinygpt tokenize`` job: ``manifest.json``, or ``manifest.part-IIII-of-NNNN.json``
for each ``--part``. A job rewrites its manifest atomically after every finished shard with
``"complete": false`` (that is its resume point) and once more at the end with ``true``.
``read_manifest`` merges complete part manifests on the fly; ``write_merged_manifest`` stores
the merge as ``manifest.json``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinygpt.atomic import atomic_write_text
from tinygpt.data.shards import HEADER_BYTES, read_header
from tinygpt.errors import DataError
from tinygpt.tokenizer.bpe import BPETokenizer

MANIFEST_NAME = "manifest.json"
TOKENIZER_NAME = "tokenizer.ron"
FORMAT = "tinygpt-token-shards"
FORMAT_VERSION = 1
SPLITS = ("train", "val")
_PART_GLOB = "manifest.part-*-of-*.json"


def part_manifest_name(index: int, count: int) -> str:
    return f"manifest.part-{index:04d}-of-{count:04d}.json"


@dataclass(frozen=True)
class ShardInfo:
    """One shard file (name relative to the directory) and what it holds."""

    file: str
    tokens: int
    documents: int
    text_bytes: int
    crc32: int | None = None  # of the token bytes; None in shards written by other tools


@dataclass
class SplitInfo:
    """One split: its shards in stream order and totals.

    ``tokens`` counts every token in the shards, one end-of-text token per document included;
    ``text_bytes`` is the UTF-8 size of the documents' text (for bits per byte);
    ``empty_documents`` were skipped and are not in ``documents``; ``input_documents`` is how
    many input documents this split has consumed (written + empty), the resume point.
    """

    shards: list[ShardInfo] = field(default_factory=list)
    documents: int = 0
    tokens: int = 0
    text_bytes: int = 0
    empty_documents: int = 0
    input_documents: int = 0

    def add_shard(self, shard: ShardInfo, input_documents: int, empty_documents: int) -> None:
        self.shards.append(shard)
        self.documents += shard.documents
        self.tokens += shard.tokens
        self.text_bytes += shard.text_bytes
        self.input_documents += input_documents
        self.empty_documents += empty_documents

    def extend(self, other: SplitInfo) -> None:
        self.shards.extend(other.shards)
        self.documents += other.documents
        self.tokens += other.tokens
        self.text_bytes += other.text_bytes
        self.empty_documents += other.empty_documents
        self.input_documents += other.input_documents


@dataclass
class Manifest:
    """A shard directory's manifest (see the module docstring and README "File formats").

    ``job`` holds the settings that identify the tokenize job (source, split rule, shard size,
    tokenizer); a resumed or merged job must match it exactly.
    """

    directory: Path
    tokenizer_fingerprint: str
    vocab_size: int
    eot_id: int
    dtype: str
    split_rule: str
    val_fraction: float
    job: dict[str, Any]
    splits: dict[str, SplitInfo]
    part: tuple[int, int] | None = None
    complete: bool = False

    @property
    def tokenizer_path(self) -> Path:
        return self.directory / TOKENIZER_NAME

    def shard_paths(self, split: str) -> list[Path]:
        return [self.directory / shard.file for shard in self.split(split).shards]

    def split(self, name: str) -> SplitInfo:
        if name not in self.splits:
            raise DataError(f"{self.directory}: no split {name!r}; it has {', '.join(self.splits)}")
        return self.splits[name]

    @property
    def file_name(self) -> str:
        return MANIFEST_NAME if self.part is None else part_manifest_name(*self.part)

    def to_record(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "complete": self.complete,
            "tokenizer_file": TOKENIZER_NAME,
            "tokenizer_fingerprint": self.tokenizer_fingerprint,
            "vocab_size": self.vocab_size,
            "eot_id": self.eot_id,
            "dtype": self.dtype,
            "split_rule": self.split_rule,
            "val_fraction": self.val_fraction,
            "part": list(self.part) if self.part else None,
            "job": self.job,
            "splits": {
                name: {
                    **{k: v for k, v in dataclasses.asdict(info).items() if k != "shards"},
                    "shards": [dataclasses.asdict(shard) for shard in info.shards],
                }
                for name, info in self.splits.items()
            },
        }

    def save(self) -> Path:
        path = self.directory / self.file_name
        atomic_write_text(path, json.dumps(self.to_record(), indent=2) + "\n")
        return path


def _field(record: dict, key: str, kind: type | tuple[type, ...], path: Path) -> Any:
    if key not in record:
        raise DataError(f"{path}: missing field {key!r}")
    value = record[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise DataError(f"{path}: field {key!r} has the wrong type ({type(value).__name__})")
    return value


def _split_from_record(record: Any, path: Path) -> SplitInfo:
    if not isinstance(record, dict):
        raise DataError(f"{path}: each split must be an object")
    shards = []
    for shard in _field(record, "shards", list, path):
        if not isinstance(shard, dict):
            raise DataError(f"{path}: each shard entry must be an object")
        shards.append(
            ShardInfo(
                file=_field(shard, "file", str, path),
                tokens=_field(shard, "tokens", int, path),
                documents=_field(shard, "documents", int, path),
                text_bytes=_field(shard, "text_bytes", int, path),
                crc32=_field(shard, "crc32", int, path) if shard.get("crc32") is not None else None,
            )
        )
    return SplitInfo(
        shards=shards,
        **{
            key: _field(record, key, int, path)
            for key in ("documents", "tokens", "text_bytes", "empty_documents", "input_documents")
        },
    )


def load_manifest_file(path: str | os.PathLike[str]) -> Manifest:
    """Parse one manifest file, complete or not; DataError naming the file when malformed."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: no such manifest") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{path}: not a readable JSON manifest: {error}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise DataError(f'{path}: not a tinygpt shard manifest (no "format": "{FORMAT}")')
    if record.get("format_version") != FORMAT_VERSION:
        raise DataError(
            f"{path}: manifest format_version {record.get('format_version')!r} is not supported "
            f"(this tinygpt reads version {FORMAT_VERSION})"
        )
    part = record.get("part")
    if part is not None and not (isinstance(part, list) and len(part) == 2 and all(isinstance(v, int) for v in part)):
        raise DataError(f"{path}: field 'part' must be null or [index, count]")
    splits = _field(record, "splits", dict, path)
    manifest = Manifest(
        directory=path.parent,
        tokenizer_fingerprint=_field(record, "tokenizer_fingerprint", str, path),
        vocab_size=_field(record, "vocab_size", int, path),
        eot_id=_field(record, "eot_id", int, path),
        dtype=_field(record, "dtype", str, path),
        split_rule=_field(record, "split_rule", str, path),
        val_fraction=_field(record, "val_fraction", (int, float), path),
        job=_field(record, "job", dict, path),
        splits={name: _split_from_record(info, path) for name, info in splits.items()},
        part=tuple(part) if part else None,
        complete=_field(record, "complete", bool, path),
    )
    _check_consistent(manifest, path)
    return manifest


def _check_consistent(manifest: Manifest, path: Path) -> None:
    """What the manifest says about itself must add up (ids in range, totals = their shards)."""
    if manifest.vocab_size < 1:
        raise DataError(f"{path}: vocab_size must be positive, not {manifest.vocab_size}")
    if not 0 <= manifest.eot_id < manifest.vocab_size:
        raise DataError(f"{path}: eot_id {manifest.eot_id} lies outside the vocabulary of {manifest.vocab_size} tokens")
    if manifest.dtype not in ("uint16", "uint32"):
        raise DataError(f"{path}: dtype must be uint16 or uint32, not {manifest.dtype!r}")
    for name, info in manifest.splits.items():
        for total in ("tokens", "documents", "text_bytes"):
            shards_total = sum(getattr(shard, total) for shard in info.shards)
            if shards_total != getattr(info, total):
                raise DataError(
                    f"{path}: split {name!r} says {getattr(info, total)} {total} but "
                    f"its shards add up to {shards_total}"
                )


def verify_shards(manifest: Manifest) -> None:
    """Every shard the manifest lists exists and its header agrees on the dtype and the token
    count; otherwise DataError naming the shard. Headers only (1 KiB each), so cheap enough to
    run each time a directory is opened."""
    for split in manifest.splits:
        for shard, shard_path in zip(manifest.split(split).shards, manifest.shard_paths(split)):
            if not shard_path.is_file():
                raise DataError(
                    f"{shard_path}: listed in {manifest.directory / manifest.file_name} "
                    "but missing; re-run the `tinygpt tokenize` command that wrote it"
                )
            header = read_header(shard_path)
            if (header.dtype, header.token_count) != (manifest.dtype, shard.tokens):
                raise DataError(
                    f"{shard_path}: its header says {header.token_count} {header.dtype} tokens, "
                    f"the manifest {shard.tokens} {manifest.dtype} tokens; the directory was "
                    "changed after `tinygpt tokenize` wrote it: re-run that command"
                )
            if shard.crc32 is not None and not _crc32_matches(shard_path, shard.crc32):
                raise DataError(
                    f"{shard_path}: its tokens are damaged (their CRC-32 differs from the one "
                    "recorded when `tinygpt tokenize` wrote it): re-run that command"
                )


# (path, size, mtime) of shards whose CRC-32 matched: each is read once per process, however
# many loaders open the directory.
_VERIFIED: set[tuple[str, int, int, int]] = set()


def _crc32_matches(path: Path, expected: int) -> bool:
    status = path.stat()
    key = (str(path.resolve()), status.st_size, status.st_mtime_ns, expected)
    if key in _VERIFIED:
        return True
    crc = 0
    with path.open("rb") as handle:
        handle.seek(HEADER_BYTES)
        while chunk := handle.read(8 << 20):
            crc = zlib.crc32(chunk, crc)
    if crc != expected:
        return False
    _VERIFIED.add(key)
    return True


def _merge_parts(directory: Path, paths: list[Path]) -> Manifest:
    manifests = [load_manifest_file(path) for path in paths]
    counts = {manifest.part[1] for manifest in manifests if manifest.part}
    if len(counts) != 1 or any(manifest.part is None for manifest in manifests):
        raise DataError(f"{directory}: part manifests of different --part counts: {sorted(counts)}")
    count = counts.pop()
    by_index = {manifest.part[0]: manifest for manifest in manifests if manifest.part}
    missing = [i for i in range(count) if i not in by_index or not by_index[i].complete]
    if missing:
        raise DataError(
            f"{directory}: parts {', '.join(f'{i}/{count}' for i in missing)} of {count} are missing "
            "or unfinished; run (or resume) `tinygpt tokenize ... --part I/N` for each"
        )
    first = by_index[0]
    for index in range(count):
        other = by_index[index]
        if {**other.job, "part": None} != {**first.job, "part": None}:
            raise DataError(
                f"{directory / other.file_name}: part {index}/{count} comes from a different "
                "tokenize job (source, tokenizer or split settings differ) than part 0"
            )
    splits = {name: SplitInfo() for name in first.splits}
    for index in range(count):
        for name, info in by_index[index].splits.items():
            splits[name].extend(info)
    return dataclasses.replace(first, splits=splits, part=None, job={**first.job, "part": None})


def read_manifest(directory: str | os.PathLike[str]) -> Manifest:
    """The manifest of a `tinygpt tokenize` output directory, merging part manifests if needed.

    Raises DataError when the directory has none, when its job has not finished (resume it
    by re-running the same command), or when a shard disagrees with the manifest.

    >>> read_manifest("out").splits["val"].tokens
    9990
    """
    directory = Path(directory)
    main = directory / MANIFEST_NAME
    if main.is_file():
        manifest = load_manifest_file(main)
        if not manifest.complete:
            raise DataError(
                f"{main}: the tokenize job that writes this directory has not finished; re-run the "
                "same `tinygpt tokenize` command to resume it"
            )
        verify_shards(manifest)
        return manifest
    parts = sorted(directory.glob(_PART_GLOB))
    if not parts:
        if not directory.is_dir():
            raise DataError(f"{directory}: no such directory")
        raise DataError(
            f"{directory}: no {MANIFEST_NAME}; create the shards with "
            f"`tinygpt tokenize --data SRC --tokenizer TOK.ron --out {directory}`"
        )
    manifest = _merge_parts(directory, parts)
    verify_shards(manifest)
    return manifest


def write_merged_manifest(directory: str | os.PathLike[str]) -> Manifest:
    """Merge the complete part manifests of ``directory`` into its ``manifest.json``."""
    directory = Path(directory)
    parts = sorted(directory.glob(_PART_GLOB))
    if not parts:
        raise DataError(f"{directory}: no part manifests ({_PART_GLOB}) to merge")
    manifest = _merge_parts(directory, parts)
    manifest.complete = True
    manifest.save()
    return manifest


def check_shards_match_tokenizer(manifest: Manifest, tokenizer: BPETokenizer, data_dir: str | os.PathLike[str]) -> None:
    """Shards made by another tokenizer would train (or evaluate) on meaningless ids."""
    expected = tokenizer.fingerprint()
    if manifest.tokenizer_fingerprint != expected:
        raise DataError(
            f"{data_dir}: shards were made by another tokenizer (manifest fingerprint "
            f"{manifest.tokenizer_fingerprint[:12]}…, this tokenizer {expected[:12]}…); "
            "re-tokenize the corpus with this run's tokenizer.ron"
        )
