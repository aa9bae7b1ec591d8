"""tokenize_corpus: a corpus into llm.c token shards, a manifest and a copy of the tokenizer.

The output directory alone is enough to train from. The corpus is streamed in batches of a few
MB of text; each batch is encoded by the compiled batch encoder on all cores (GIL released)
while the next one is read. Every document is written as its end-of-text token followed by its
tokens, and a shard only ever ends at a document boundary. Jobs are restartable: the manifest
is rewritten after every finished shard, and a re-run of the same command skips the documents
those shards hold and never rewrites them.
"""

from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from tinygpt.allocator import arrow_reuses_freed_memory, keep_freed_memory
from tinygpt.data.manifest import SPLITS, TOKENIZER_NAME, Manifest, SplitInfo
from tinygpt.data.read_ahead import ReadAhead
from tinygpt.data.shards import MAX_SHARD_TOKENS, token_dtype
from tinygpt.data.sources import Corpus, open_corpus
from tinygpt.data.split_rule import TRAIN, VAL, SplitRule
from tinygpt.data.tokenize.job import check_part, job_identity, part_range, start_or_resume
from tinygpt.data.tokenize.summary import TokenizeSummary
from tinygpt.data.tokenize.writer import Encoded, SplitWriter
from tinygpt.errors import ConfigError, DataError
from tinygpt.progress import TokenizeProgress
from tinygpt.tokenizer.arrow import utf8_buffers
from tinygpt.tokenizer.bpe import BPETokenizer
from tinygpt.tokenizer.unknown import UnknownText

DEFAULT_SHARD_TOKENS = 100_000_000  # llm.c's shard size: 200 MB of uint16
_BATCH_TEXT_BYTES = 2 << 20
_BATCH_MAX_DOCUMENTS = 16384
# Arrow batches cost no Python work per document, so they can be larger: fewer thread start-ups
# and cold piece caches in the encoder.
_ARROW_BATCH_BYTES = 8 << 20
_IN_MEMORY_BYTES = 32 << 20  # corpora up to this size are read once, not twice
_READ_AHEAD_BATCHES = 4  # Arrow record batches decoded ahead of the encoder (~14 MB of text each)


def tokenize_corpus(
    source: str | os.PathLike[str] | Corpus,
    tokenizer: BPETokenizer | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    val_fraction: float = 0.1,
    split: str = "tail",
    shard_tokens: int = DEFAULT_SHARD_TOKENS,
    part: tuple[int, int] | None = None,
    text_column: str | None = None,
    num_threads: int | None = None,
    show_progress: bool = True,
    format: str | None = None,
    on_unknown: str = "error",
) -> TokenizeSummary:
    """Tokenize ``source`` into ``out_dir``: shards, ``manifest.json``, ``tokenizer.ron``.

    ``source``: anything :func:`tinygpt.data.sources.open_corpus` accepts (or a Corpus);
    ``tokenizer``: a BPETokenizer or the path of its ``.ron``; it must have an end-of-text
    token. ``split="tail"`` holds out the last ``val_fraction`` of the documents, ``"hash"`` a
    pseudo-random ``val_fraction`` by text hash. ``part=(i, n)`` tokenizes only the i-th
    (0-based) of n contiguous slices of the documents and writes ``manifest.part-i-of-n.json``;
    run all n (anywhere, in any order) and the loader reads the directory as one.
    Re-running an interrupted job resumes it; a finished job returns at once.

    >>> summary = tokenize_corpus("stories.parquet", "tokenizer.ron", "shards")
    >>> summary.manifest.splits["train"].documents, summary.manifest.splits["val"].documents
    (276, 31)
    """
    started = time.perf_counter()
    if not isinstance(shard_tokens, int) or not 1 <= shard_tokens <= MAX_SHARD_TOKENS:
        raise ConfigError(f"shard_tokens must lie in [1, {MAX_SHARD_TOKENS}], not {shard_tokens!r}")
    SplitRule(split, val_fraction, 0)  # validates the split arguments before any work
    check_part(part)
    corpus = source if isinstance(source, Corpus) else open_corpus(source, text_column=text_column, format=format)
    with _arrays_read_ahead(corpus) as arrays:
        if isinstance(tokenizer, (str, os.PathLike)):
            tokenizer = BPETokenizer.load(tokenizer)
        if tokenizer.eot_id is None:
            raise DataError(
                "the tokenizer has no <|endoftext|> token, which shards need to mark where each "
                'document starts; train it with special_tokens=("<|endoftext|>",)'
            )
        unknown = UnknownText.for_tokenizer(tokenizer, on_unknown)
        out_dir = Path(out_dir)
        dtype = token_dtype(tokenizer.vocab_size)
        fingerprint = tokenizer.fingerprint()
        manifest = start_or_resume(
            Manifest(
                directory=out_dir,
                tokenizer_fingerprint=fingerprint,
                vocab_size=tokenizer.vocab_size,
                eot_id=tokenizer.eot_id,
                dtype=dtype.name,
                split_rule=split,
                val_fraction=val_fraction,
                # Skipping or replacing changes the shards: a resume must not mix policies.
                job=job_identity(
                    corpus,
                    split,
                    val_fraction,
                    shard_tokens,
                    part,
                    fingerprint,
                    on_unknown if unknown.counting and on_unknown != "error" else None,
                ),
                splits={name: SplitInfo() for name in SPLITS},
                part=part,
            )
        )
        kept = sum(len(info.shards) for info in manifest.splits.values())
        if manifest.complete:
            return TokenizeSummary(out_dir, manifest, time.perf_counter() - started, shards_kept=kept)
        created = _make_out_dir(out_dir)
        keep_freed_memory()  # each batch reuses the last one's buffers: see tinygpt.allocator
        pipeline = _EncodeAndWrite(manifest, tokenizer, dtype, shard_tokens, num_threads, unknown)
        try:
            # Serialising a large tokenizer is pure Python (tens of ms); it overlaps the encoding,
            # which runs without the GIL, and must be done before the manifest says "complete".
            with TokenizeProgress(show_progress) as progress, ThreadPoolExecutor(1) as saver:
                saved = saver.submit(tokenizer.save, out_dir / TOKENIZER_NAME)
                count: int | None
                if arrays is not None:
                    count = corpus.arrow_document_count()
                    rule = SplitRule(split, val_fraction, count)
                    first, stop = part_range(part, count)
                    batches: Iterator[_Batch | _ArrowBatch] = _read_arrow_batches(arrays, rule, first, stop, manifest)
                else:
                    documents, count = _documents_and_count(corpus, progress, split == "tail" or part is not None)
                    rule = SplitRule(split, val_fraction, count)
                    first, stop = part_range(part, count)
                    batches = _read_batches(documents, rule, first, stop, manifest)
                progress.start("tokenizing", None if count is None else int(stop - first))
                pipeline.execute(batches, progress)
                saved.result()
            _require_text(manifest, corpus)
        except BaseException:
            _undo_unresumable_start(out_dir, created)
            raise
        manifest.complete = True
        manifest.save()
        return TokenizeSummary(
            out_dir,
            manifest,
            time.perf_counter() - started,
            documents_processed=pipeline.documents,
            text_bytes_processed=pipeline.text_bytes,
            shards_written=sum(len(info.shards) for info in manifest.splits.values()) - kept,
            shards_kept=kept,
            unknown=unknown if unknown.counting else None,
        )


@contextlib.contextmanager
def _arrays_read_ahead(corpus: Corpus) -> Iterator[ReadAhead[Any] | None]:
    """A parquet or text corpus's Arrow arrays, read from now on by a thread of their own
    (None for other corpora): decoding the first batches overlaps loading the tokenizer and
    setting the job up, which leave the other cores idle. Batches reuse freed memory."""
    if not corpus.reads_arrow:
        yield None
        return
    with arrow_reuses_freed_memory(), ReadAhead(corpus.iter_arrow(), _READ_AHEAD_BATCHES) as arrays:
        yield arrays


def _require_text(manifest: Manifest, corpus: Corpus) -> None:
    """An empty corpus is a mistake (a wrong path or column), not a dataset: say so instead of
    writing shards that no training can use. A part of a larger job may be empty."""
    if manifest.part is not None or any(info.documents for info in manifest.splits.values()):
        return
    empty = sum(info.empty_documents for info in manifest.splits.values())
    where = str(corpus.paths[0]) if len(corpus.paths) == 1 else f"the {len(corpus.paths)} corpus files"
    raise DataError(f"{where}: no text to tokenize ({empty} empty document(s)); check --data and --text-column")


def _make_out_dir(out_dir: Path) -> bool:
    """Create ``out_dir`` if needed (True when created here); DataError when it cannot be
    created or written, before any work."""
    created = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"{out_dir}: cannot create the output directory ({error.strerror or error})") from None
    if not os.access(out_dir, os.W_OK):
        raise DataError(f"{out_dir}: the output directory is not writable")
    return created


def _undo_unresumable_start(out_dir: Path, created: bool) -> None:
    """A job that failed before saving any manifest has nothing to resume: remove the
    tokenizer it wrote (and the directory, if it made it), so OUT looks untouched."""
    if any(out_dir.glob("manifest*.json")):
        return
    with contextlib.suppress(OSError):
        (out_dir / TOKENIZER_NAME).unlink()
        if created:
            out_dir.rmdir()


def _documents_and_count(
    corpus: Corpus, progress: TokenizeProgress, need_count: bool
) -> tuple[Iterable[str], int | None]:
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


@dataclass
class _ArrowBatch:
    """Documents read for one encode call, per split, as slices of Arrow string arrays, with
    each document's UTF-8 size."""

    arrays: dict[str, list[Any]] = field(default_factory=lambda: {TRAIN: [], VAL: []})
    text_bytes: dict[str, list[np.ndarray]] = field(default_factory=lambda: {TRAIN: [], VAL: []})
    total_bytes: int = 0
    documents: int = 0


def _read_arrow_batches(
    arrays: Iterable[Any], rule: SplitRule, first: int, stop: float, manifest: Manifest
) -> Iterator[_ArrowBatch]:
    """_read_batches over Arrow arrays: documents are assigned, skipped and batched by slicing
    or filtering whole arrays, never as Python objects one by one."""
    done = {name: info.input_documents for name, info in manifest.splits.items()}
    seen = {TRAIN: 0, VAL: 0}
    batch = _ArrowBatch()
    begin = 0
    for array in arrays:
        end = begin + len(array)
        # min() with the array's end keeps the window finite when the corpus's end is unknown (inf).
        for name, piece in _split_pieces(array, rule, begin, max(begin, first), int(min(end, stop))):
            skip = min(len(piece), max(0, done[name] - seen[name]))
            seen[name] += len(piece)
            if len(piece) > skip:
                piece = piece.slice(skip)
                sizes = np.diff(utf8_buffers(piece)[0])
                batch.arrays[name].append(piece)
                batch.text_bytes[name].append(sizes)
                batch.total_bytes += int(sizes.sum())
                batch.documents += len(piece)
        begin = end
        if batch.total_bytes >= _ARROW_BATCH_BYTES:
            yield batch
            batch = _ArrowBatch()
        if begin >= stop:
            break
    if batch.documents:
        yield batch


def _split_pieces(array: Any, rule: SplitRule, begin: int, low: int, high: int) -> list[tuple[str, Any]]:
    """The documents of ``array`` (corpus indexes from ``begin``) in [low, high), per split, in
    corpus order: slices at the tail split's boundary, or the hash rule's choice filtered out."""
    if rule.rule == "tail":
        return [(name, array.slice(a - begin, b - a)) for name, a, b in _tail_slices(rule.train_documents, low, high)]
    if high <= low:
        return []
    window = array.slice(low - begin, high - low)
    held = rule.held_out(*utf8_buffers(window))
    return [(TRAIN, window.filter(~held)), (VAL, window.filter(held))]


def _tail_slices(train_documents: int, low: int, high: int) -> list[tuple[str, int, int]]:
    """The corpus indexes [low, high) cut at the train/val boundary: (split, low, high) each."""
    cut = min(max(low, train_documents), high)
    return [(name, a, b) for name, a, b in ((TRAIN, low, cut), (VAL, cut, high)) if b > a]


@dataclass
class _Batch:
    """Documents read for one encode call, per split, in corpus order."""

    texts: dict[str, list[str]] = field(default_factory=lambda: {TRAIN: [], VAL: []})
    text_bytes: dict[str, list[int]] = field(default_factory=lambda: {TRAIN: [], VAL: []})
    total_bytes: int = 0
    documents: int = 0


def _read_batches(
    documents: Iterable[str], rule: SplitRule, first: int, stop: float, manifest: Manifest
) -> Iterator[_Batch]:
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


class _EncodeAndWrite:
    """Encodes batches on a worker thread while the caller reads the next, and writes shards."""

    def __init__(
        self,
        manifest: Manifest,
        tokenizer: BPETokenizer,
        dtype: np.dtype,
        shard_tokens: int,
        num_threads: int | None,
        unknown: UnknownText,
    ) -> None:
        self.manifest = manifest
        self.tokenizer = tokenizer
        self.dtype = dtype
        self.num_threads = num_threads
        self.unknown = unknown
        self.writers = {name: SplitWriter(manifest, name, dtype, shard_tokens) for name in SPLITS}
        self.documents = 0
        self.text_bytes = 0

    def execute(self, batches: Iterator[_Batch | _ArrowBatch], progress: TokenizeProgress) -> None:
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tinygpt-encode") as pool:
                pending: tuple[_Batch | _ArrowBatch, Future] | None = None
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

    def _encode(self, batch: _Batch | _ArrowBatch) -> dict[str, Encoded]:
        if isinstance(batch, _ArrowBatch):
            return {name: self._encode_arrays(batch.arrays[name], batch.text_bytes[name]) for name in SPLITS}
        return {name: self._encode_split(batch.texts[name], batch.text_bytes[name]) for name in SPLITS}

    def _encode_arrays(self, arrays: list[Any], sizes: list[np.ndarray]) -> Encoded:
        if not arrays:
            return Encoded(np.empty(0, self.dtype), np.zeros(0, np.int64), np.zeros(0, np.int64))
        parts = [
            self.tokenizer.encode_arrow(
                array,
                prepend=self.tokenizer.eot_id,
                dtype=self.dtype,
                num_threads=self.num_threads,
                on_unknown=self.unknown.policy,
            )
            for array in arrays
        ]
        # A batch is usually one array (a parquet batch fills it): its ids are used as they are,
        # not copied (a copy is megabytes of fresh memory per batch).
        tokens = parts[0][0] if len(parts) == 1 else np.concatenate([ids for ids, _ in parts])
        eot_count = int(np.count_nonzero(tokens == self.tokenizer.eot_id))
        self._check_boundaries(eot_count, int(sum(np.count_nonzero(size) for size in sizes)))
        if self.unknown.counting:  # a closed alphabet (words mode): its texts are counted in Python
            sizes = [self.unknown.scored_sizes(array.to_pylist(), size) for array, size in zip(arrays, sizes)]
        return Encoded(tokens, np.concatenate([counts for _, counts in parts]), np.concatenate(sizes))

    def _encode_split(self, texts: list[str], text_bytes: list[int]) -> Encoded:
        eot = self.tokenizer.eot_id
        nonempty = [text for text in texts if text]
        if not nonempty:
            return Encoded(
                np.empty(0, self.dtype), np.zeros(len(texts), np.int64), np.asarray(text_bytes, dtype=np.int64)
            )
        tokens = self.tokenizer.encode_to_array(
            nonempty,
            prepend=eot,
            dtype=self.dtype,
            num_threads=self.num_threads,
            on_unknown=self.unknown.policy,
        )
        starts = np.flatnonzero(tokens == eot)
        self._check_boundaries(starts.size, len(nonempty))
        lengths = np.zeros(len(texts), dtype=np.int64)
        lengths[np.fromiter((bool(text) for text in texts), dtype=bool, count=len(texts))] = np.diff(
            np.append(starts, tokens.size)
        )
        return Encoded(tokens, lengths, self.unknown.scored_sizes(texts, np.asarray(text_bytes, dtype=np.int64)))

    def _check_boundaries(self, eot_count: int, documents: int) -> None:
        """Exactly one end-of-text token per non-empty document."""
        if eot_count != documents:
            raise DataError(
                f"the tokenizer produced {eot_count} end-of-text tokens for {documents} "
                "documents; document text must not encode to the end-of-text token"
            )

    def _write(self, batch: _Batch | _ArrowBatch, encoded: Future, progress: TokenizeProgress) -> None:
        for name, part in encoded.result().items():
            self.writers[name].add(part)
        self.documents += batch.documents
        self.text_bytes += batch.total_bytes
        progress.advance(batch.documents, batch.total_bytes)
