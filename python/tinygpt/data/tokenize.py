"""tokenize_corpus: a corpus into llm.c token shards, a manifest and a copy of the tokenizer.

The output directory alone is enough to train from. The corpus is streamed in batches of a few
MB of text; each batch is encoded by the compiled batch encoder on all cores (GIL released)
while the next one is read. Every document is written as its end-of-text token followed by its
tokens, and a shard only ever ends at a document boundary. Jobs are restartable: the manifest
is rewritten after every finished shard, and a re-run of the same command skips the documents
those shards hold and never rewrites them.
"""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol

import numpy as np

from tinygpt.data.manifest import (
    SPLITS,
    TOKENIZER_NAME,
    Manifest,
    ShardInfo,
    SplitInfo,
    load_manifest_file,
)
from tinygpt.progress import TokenizeProgress
from tinygpt.data.shards import MAX_SHARD_TOKENS, ShardBuilder, read_header, token_dtype
from tinygpt.data.split_rule import TRAIN, VAL, SplitRule
from tinygpt.errors import ConfigError, DataError
from tinygpt.data.sources import Corpus, open_corpus

DEFAULT_SHARD_TOKENS = 100_000_000  # llm.c's shard size: 200 MB of uint16
_BATCH_TEXT_BYTES = 2 << 20
_BATCH_MAX_DOCUMENTS = 16384
_IN_MEMORY_BYTES = 32 << 20  # corpora up to this size are read once, not twice


class Tokenizer(Protocol):
    """What tokenize_corpus needs of a tokenizer (tinygpt.BPETokenizer provides it)."""

    vocab_size: int
    eot_id: int | None

    def fingerprint(self) -> str: ...
    def save(self, path: str | os.PathLike[str]) -> None: ...
    def encode_to_array(self, texts: list[str], *, prepend: int | None = None, dtype: Any = ...,
                        num_threads: int | None = None, allowed_special: str = ...) -> np.ndarray: ...


@dataclass
class TokenizeSummary:
    """What a tokenize job produced (totals over the whole directory) and what this run did."""

    out_dir: Path
    manifest: Manifest
    seconds: float
    documents_processed: int = 0
    text_bytes_processed: int = 0
    shards_written: int = 0
    shards_kept: int = 0

    @property
    def documents(self) -> int:
        return sum(info.documents for info in self.manifest.splits.values())

    @property
    def tokens(self) -> int:
        return sum(info.tokens for info in self.manifest.splits.values())

    @property
    def text_bytes(self) -> int:
        return sum(info.text_bytes for info in self.manifest.splits.values())

    @property
    def empty_documents(self) -> int:
        return sum(info.empty_documents for info in self.manifest.splits.values())

    @property
    def bytes_per_token(self) -> float:
        """UTF-8 bytes per text token (end-of-text markers excluded): the compression ratio."""
        return self.text_bytes / max(1, self.tokens - self.documents)

    @property
    def megabytes_per_second(self) -> float:
        return self.text_bytes_processed / 1e6 / max(self.seconds, 1e-9)

    def report(self) -> str:
        """Human-readable summary, as `tinygpt tokenize` prints it."""
        lines = [
            f"{self.out_dir}: {self.documents:,} documents, {self.tokens:,} tokens, "
            f"{self.text_bytes / 1e6:,.2f} MB of text, {self.bytes_per_token:.2f} bytes per token",
        ]
        for name, info in self.manifest.splits.items():
            lines.append(
                f"  {name:<5} {info.documents:>12,} documents {info.tokens:>14,} tokens "
                f"{len(info.shards):>5,} shard(s)"
            )
        if self.empty_documents:
            lines.append(f"  skipped {self.empty_documents:,} empty document(s)")
        lines.append(
            f"this run: {self.documents_processed:,} documents, "
            f"{self.text_bytes_processed / 1e6:,.2f} MB in {self.seconds:.1f} s "
            f"({self.megabytes_per_second:,.2f} MB/s); {self.shards_written} shard(s) written"
            + (f", {self.shards_kept} kept from an earlier run" if self.shards_kept else "")
        )
        return "\n".join(lines)


def tokenize_corpus(
    source: str | os.PathLike[str] | Corpus,
    tokenizer: Tokenizer | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    val_fraction: float = 0.1,
    split: str = "tail",
    shard_tokens: int = DEFAULT_SHARD_TOKENS,
    part: tuple[int, int] | None = None,
    text_column: str | None = None,
    num_threads: int | None = None,
    show_progress: bool = True,
) -> TokenizeSummary:
    """Tokenize ``source`` into ``out_dir``: shards, ``manifest.json``, ``tokenizer.ron``.

    ``source``: anything :func:`tinygpt.data.sources.open_corpus` accepts (or a Corpus);
    ``tokenizer``: a BPETokenizer or the path of its ``.ron``; it must have an end-of-text
    token. ``split="tail"`` holds out the last ``val_fraction`` of the documents, ``"hash"`` a
    pseudo-random ``val_fraction`` by text hash. ``part=(i, n)`` tokenizes only the i-th
    (0-based) of n contiguous slices of the documents and writes ``manifest.part-i-of-n.json``;
    run all n (anywhere, in any order) and the loader reads the directory as one.
    Re-running an interrupted job resumes it; a finished job returns at once.

    >>> summary = tokenize_corpus("stories.parquet", "tokenizer.ron", "out")
    >>> summary.manifest.splits["train"].documents
    9000
    """
    started = time.perf_counter()
    tokenizer = _load_tokenizer(tokenizer)
    if tokenizer.eot_id is None:
        raise DataError(
            "the tokenizer has no <|endoftext|> token, which shards need to mark where each "
            "document starts; train it with special_tokens=(\"<|endoftext|>\",)"
        )
    if not isinstance(shard_tokens, int) or not 1 <= shard_tokens <= MAX_SHARD_TOKENS:
        raise ConfigError(f"shard_tokens must lie in [1, {MAX_SHARD_TOKENS}], not {shard_tokens!r}")
    SplitRule(split, val_fraction, 0)  # validates the split arguments before any work
    _check_part(part)
    corpus = source if isinstance(source, Corpus) else open_corpus(source, text_column=text_column)
    out_dir = Path(out_dir)
    dtype = token_dtype(tokenizer.vocab_size)
    fingerprint = tokenizer.fingerprint()
    manifest = _start_or_resume(
        Manifest(
            directory=out_dir,
            tokenizer_fingerprint=fingerprint,
            vocab_size=tokenizer.vocab_size,
            eot_id=tokenizer.eot_id,
            dtype=dtype.name,
            split_rule=split,
            val_fraction=val_fraction,
            job=_job(corpus, split, val_fraction, shard_tokens, part, fingerprint),
            splits={name: SplitInfo() for name in SPLITS},
            part=part,
        )
    )
    kept = sum(len(info.shards) for info in manifest.splits.values())
    if manifest.complete:
        return TokenizeSummary(out_dir, manifest, time.perf_counter() - started, shards_kept=kept)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = _Run(manifest, tokenizer, dtype, shard_tokens, num_threads)
    # Serialising a large tokenizer is pure Python (tens of ms); it overlaps the encoding, which
    # runs without the GIL, and must be done before the manifest says "complete".
    with TokenizeProgress(show_progress) as progress, ThreadPoolExecutor(1) as saver:
        saved = saver.submit(tokenizer.save, out_dir / TOKENIZER_NAME)
        documents, count = _documents_and_count(corpus, progress, split == "tail" or part is not None)
        rule = SplitRule(split, val_fraction, count)
        first, stop = _part_range(part, count)
        progress.start("tokenizing", None if count is None else stop - first)
        run.execute(_read_batches(documents, rule, first, stop, manifest), progress)
        saved.result()
    manifest.complete = True
    manifest.save()
    return TokenizeSummary(
        out_dir,
        manifest,
        time.perf_counter() - started,
        documents_processed=run.documents,
        text_bytes_processed=run.text_bytes,
        shards_written=sum(len(info.shards) for info in manifest.splits.values()) - kept,
        shards_kept=kept,
    )


def _load_tokenizer(tokenizer: Tokenizer | str | os.PathLike[str]) -> Tokenizer:
    if isinstance(tokenizer, (str, os.PathLike)):
        from tinygpt.tokenizer import BPETokenizer

        return BPETokenizer.load(tokenizer)
    return tokenizer


def _check_part(part: tuple[int, int] | None) -> None:
    if part is None:
        return
    if (
        not isinstance(part, tuple)
        or len(part) != 2
        or not all(isinstance(v, int) for v in part)
        or not 0 <= part[0] < part[1]
    ):
        raise ConfigError(f"part must be (i, n) with 0 <= i < n, not {part!r}")


def _job(corpus: Corpus, split: str, val_fraction: float, shard_tokens: int,
         part: tuple[int, int] | None, fingerprint: str) -> dict[str, Any]:
    """The settings that identify a job: a resume or a merge must match them exactly."""
    return {
        "files": [str(path.resolve()) for path in corpus.paths],
        "total_bytes": corpus.total_bytes,
        "text_column": corpus.text_column,
        "split_rule": split,
        "val_fraction": val_fraction,
        "shard_tokens": shard_tokens,
        "tokenizer_fingerprint": fingerprint,
        "part": list(part) if part else None,
    }


def _start_or_resume(fresh: Manifest) -> Manifest:
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
            key for key in set(other.job) | set(fresh.job)
            if key != "part" and other.job.get(key) != fresh.job.get(key)
        )
        if differing:
            raise DataError(
                f"{directory} already holds shards of another tokenize job ({path.name} differs in "
                f"{', '.join(differing)}); choose another output directory or empty this one"
            )
    own = directory / fresh.file_name
    if not own.is_file():
        return fresh
    manifest = load_manifest_file(own)
    for name, info in manifest.splits.items():
        for shard in info.shards:
            found = read_header(directory / shard.file).token_count
            if found != shard.tokens:
                raise DataError(
                    f"{directory / shard.file}: holds {found} tokens but {own.name} recorded "
                    f"{shard.tokens}; the directory was changed, so tokenize into a fresh one"
                )
    _remove_stale_temp_files(directory, fresh.part)
    return manifest


def _shard_stem(split: str, part: tuple[int, int] | None) -> str:
    return split if part is None else f"{split}_part{part[0]:04d}"


def _remove_stale_temp_files(directory: Path, part: tuple[int, int] | None) -> None:
    """Temp files of shards a killed run was writing (never complete, never referenced)."""
    for split in SPLITS:
        pattern = re.compile(rf"\.{re.escape(_shard_stem(split, part))}_\d{{6}}\.bin\..+\.tmp")
        for path in directory.iterdir():
            if pattern.fullmatch(path.name):
                path.unlink(missing_ok=True)


def _documents_and_count(corpus: Corpus, progress: TokenizeProgress,
                         need_count: bool) -> tuple[Iterable[str], int | None]:
    """The documents to tokenize and, when the tail split or --part needs it, their count.

    Counting takes a reading pass, cheap next to encoding; a small corpus is kept from that
    pass rather than read twice.
    """
    if not need_count:
        return corpus, None
    if corpus.total_bytes <= _IN_MEMORY_BYTES:
        documents = list(corpus)
        return documents, len(documents)
    progress.start("counting documents", None)
    count = 0
    for batch in corpus.iter_batches(_BATCH_MAX_DOCUMENTS):
        count += len(batch)
        progress.advance(len(batch), 0)
    return corpus, count


def _part_range(part: tuple[int, int] | None, count: int | None) -> tuple[int, float]:
    if part is None:
        return 0, float("inf") if count is None else count
    index, parts = part
    return count * index // parts, count * (index + 1) // parts


@dataclass
class _Batch:
    """Documents read for one encode call, per split, in corpus order."""

    texts: dict[str, list[str]] = field(default_factory=lambda: {TRAIN: [], VAL: []})
    text_bytes: dict[str, list[int]] = field(default_factory=lambda: {TRAIN: [], VAL: []})
    total_bytes: int = 0
    documents: int = 0


def _read_batches(documents: Iterable[str], rule: SplitRule, first: int, stop: float,
                  manifest: Manifest) -> Iterator[_Batch]:
    """Batches of this part's documents that earlier runs have not already written."""
    done = {name: info.input_documents for name, info in manifest.splits.items()}
    seen = {TRAIN: 0, VAL: 0}
    batch = _Batch()
    for index, text in enumerate(documents):
        if index < first:
            continue
        if index >= stop:
            break
        data = text.encode("utf-8")
        name = rule.assign(index, data)
        seen[name] += 1
        if seen[name] <= done[name]:
            continue
        batch.texts[name].append(text)
        batch.text_bytes[name].append(len(data))
        batch.total_bytes += len(data)
        batch.documents += 1
        if batch.total_bytes >= _BATCH_TEXT_BYTES or batch.documents >= _BATCH_MAX_DOCUMENTS:
            yield batch
            batch = _Batch()
    if batch.documents:
        yield batch


@dataclass
class _Encoded:
    """One split's share of a batch: tokens, and per input document its token count (0 when
    the document is empty and was skipped) and text size."""

    tokens: np.ndarray
    lengths: np.ndarray
    text_bytes: np.ndarray


class _Run:
    """Encodes batches on a worker thread while the caller reads the next, and writes shards."""

    def __init__(self, manifest: Manifest, tokenizer: Tokenizer, dtype: np.dtype,
                 shard_tokens: int, num_threads: int | None) -> None:
        self.manifest = manifest
        self.tokenizer = tokenizer
        self.dtype = dtype
        self.num_threads = num_threads
        self.writers = {name: _SplitWriter(manifest, name, dtype, shard_tokens) for name in SPLITS}
        self.documents = 0
        self.text_bytes = 0

    def execute(self, batches: Iterator[_Batch], progress: TokenizeProgress) -> None:
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tinygpt-encode") as pool:
                pending: tuple[_Batch, Future] | None = None
                for batch in batches:
                    submitted = (batch, pool.submit(self._encode, batch))
                    if pending is not None:
                        self._write(*pending, progress)
                    pending = submitted
                if pending is not None:
                    self._write(*pending, progress)
            for writer in self.writers.values():
                writer.close()
        except BaseException:
            for writer in self.writers.values():
                writer.abort()
            raise

    def _encode(self, batch: _Batch) -> dict[str, _Encoded]:
        return {name: self._encode_split(batch.texts[name], batch.text_bytes[name]) for name in SPLITS}

    def _encode_split(self, texts: list[str], text_bytes: list[int]) -> _Encoded:
        eot = self.tokenizer.eot_id
        nonempty = [text for text in texts if text]
        if not nonempty:
            return _Encoded(np.empty(0, self.dtype), np.zeros(len(texts), np.int64),
                            np.asarray(text_bytes, dtype=np.int64))
        tokens = self.tokenizer.encode_to_array(
            nonempty, prepend=eot, dtype=self.dtype, num_threads=self.num_threads,
            allowed_special="none",  # "<|endoftext|>" inside a story is text, not a boundary
        )
        starts = np.flatnonzero(tokens == eot)
        if starts.size != len(nonempty):
            raise DataError(
                f"the tokenizer produced {starts.size} end-of-text tokens for {len(nonempty)} "
                "documents; document text must not encode to the end-of-text token"
            )
        lengths = np.zeros(len(texts), dtype=np.int64)
        lengths[np.fromiter((bool(text) for text in texts), dtype=bool, count=len(texts))] = np.diff(
            np.append(starts, tokens.size)
        )
        return _Encoded(tokens, lengths, np.asarray(text_bytes, dtype=np.int64))

    def _write(self, batch: _Batch, encoded: Future, progress: TokenizeProgress) -> None:
        for name, part in encoded.result().items():
            self.writers[name].add(part)
        self.documents += batch.documents
        self.text_bytes += batch.total_bytes
        progress.advance(batch.documents, batch.total_bytes)


class _SplitWriter:
    """Appends one split's documents to shards of at most ``shard_tokens`` tokens (a longer
    document gets a shard of its own) and records each finished shard in the manifest."""

    def __init__(self, manifest: Manifest, split: str, dtype: np.dtype, shard_tokens: int) -> None:
        self.manifest = manifest
        self.info = manifest.splits[split]
        self.stem = _shard_stem(split, manifest.part)
        self.dtype = dtype
        self.shard_tokens = shard_tokens
        self.builder: ShardBuilder | None = None
        self.pending = {"documents": 0, "text_bytes": 0, "inputs": 0, "empty": 0}

    def add(self, part: _Encoded) -> None:
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

    def _append(self, part: _Encoded, first: int, stop: int, position: int, end: int) -> None:
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
        builder.finish()
        shard = ShardInfo(builder.path.name, builder.token_count, self.pending["documents"],
                          self.pending["text_bytes"])
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
