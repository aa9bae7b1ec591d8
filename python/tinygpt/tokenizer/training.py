"""Training orchestration: stream the source in batches into the compiled pre-token counter,
then run the incremental merge loop, with a progress bar on stderr."""

from __future__ import annotations

import os
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar, Union

from tinygpt import _bpe
from tinygpt.data.sources import open_corpus
from tinygpt.errors import ConfigError, DataError
from tinygpt.progress import progress_bar
from tinygpt.tokenizer.patterns import resolve_pattern, split_at_specials
from tinygpt.tokenizer.spec import TokenizerSpec

T = TypeVar("T")
Source = Union[str, "os.PathLike[str]", Iterable[str]]

# Texts are handed to the counter in batches of about this many bytes: big enough to keep the
# threads busy, small enough that memory stays flat on corpora larger than RAM.
BATCH_BYTES = 8 << 20
MERGE_CHUNK = 256


def train_tokenizer(
    source: Source,
    vocab_size: int,
    *,
    mode: str,
    pattern: str | None,
    special_tokens: Sequence[str],
    num_threads: int | None,
    do_not_merge: Sequence[str],
    text_column: str | None,
    show_progress: bool,
    byte_fallback: bool = False,
    format: str | None = None,
) -> TokenizerSpec:
    """Count the source's pre-tokens, merge until ``vocab_size``, return the result as data."""
    specials = _check_specials(special_tokens)
    if byte_fallback and mode != "words":
        raise ConfigError("byte_fallback is for words mode; bytes mode covers every byte already")
    fallback_size = 256 if byte_fallback else 0
    if mode == "words":
        if pattern not in (None, "gpt2"):
            raise ConfigError("words mode splits at spaces itself; it takes no pre-tokenisation pattern")
        if any(not isinstance(c, str) or len(c) != 1 for c in do_not_merge):
            raise ConfigError(f"do_not_merge must be single characters, got {list(do_not_merge)!r}")
        pre = None
    elif mode == "bytes":
        pre = resolve_pattern(pattern or "gpt2")
    else:
        raise ConfigError(f"mode must be 'bytes' or 'words', got {mode!r}")
    if not isinstance(vocab_size, int) or vocab_size < 1:
        raise ConfigError(f"vocab_size must be a positive integer, got {vocab_size!r}")
    if mode == "bytes" and vocab_size < 256 + len(specials):
        raise ConfigError(f"vocab_size {vocab_size} is below 256 bytes + {len(specials)} special tokens")
    if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
        raise ConfigError(f"num_threads must be a positive integer, got {num_threads!r}")
    threads = num_threads or os.cpu_count() or 1

    trainer = _bpe.Trainer(_bpe.SPLIT_WORDS if pre is None else pre.splitter, pre is None)
    for name in specials:
        trainer.add_special(name.encode("utf-8"))
    for char in do_not_merge if pre is None else ():
        trainer.add_no_merge(ord(char))

    documents, total_bytes = _documents(source, text_column, format)
    batches = _batches(documents)
    if isinstance(source, (str, os.PathLike)):
        batches = read_ahead(batches)  # our own reader: safe to run on another thread
    with progress_bar("counting pre-tokens", total_bytes, unit="bytes", enabled=show_progress) as advance:
        for batch, size in batches:
            if pre is not None and pre.split is not None:
                _count_with_regex(trainer, batch, pre.split, specials)
            else:
                trainer.count(batch, threads)
            advance(size)

    base_size = trainer.prepare()
    wanted = vocab_size - base_size - fallback_size - len(specials)
    if wanted < 0:
        fallback = " plus 256 byte-fallback tokens" if byte_fallback else ""
        raise ConfigError(
            f"vocab_size {vocab_size} is smaller than the alphabet ({base_size} distinct characters){fallback} "
            f"plus {len(specials)} special tokens; use vocab_size >= {base_size + fallback_size + len(specials)}"
        )
    done = 0
    with progress_bar("merging", wanted, unit="merges", enabled=show_progress) as advance:
        while done < wanted:
            step = trainer.merge(min(MERGE_CHUNK, wanted - done))
            done += step
            advance(step)
            if step == 0:
                break

    tokens = trainer.tokens()
    merges = [(a, b, base_size + k) for k, (a, b) in enumerate(trainer.merges())]
    # Words-mode ids: alphabet, merges (gpt-rs's ids either way), byte-fallback tokens, specials.
    fallback_ids = list(range(base_size + len(merges), base_size + len(merges) + fallback_size))
    special_ids = {name: base_size + len(merges) + fallback_size + i for i, name in enumerate(specials)}
    base = [(tokens[i], i) for i in range(base_size)]
    return TokenizerSpec(
        mode=mode,
        pattern=None if pre is None else pre.pattern,
        base=base,
        merges=merges,
        special_tokens=special_ids,
        do_not_merge=tuple(do_not_merge),
        byte_fallback=fallback_ids if byte_fallback else None,
    )


def _check_specials(special_tokens: Sequence[str]) -> list[str]:
    if isinstance(special_tokens, str):
        raise ConfigError("special_tokens must be a sequence of names, not one str")
    specials = list(special_tokens)
    if any(not isinstance(s, str) or not s for s in specials) or len(set(specials)) != len(specials):
        raise ConfigError(f"special_tokens must be distinct non-empty strings, got {specials!r}")
    return specials


def _documents(source: Source, text_column: str | None, format: str | None) -> tuple[Iterable[str], int | None]:
    """Documents of ``source`` and, when known, their total size in bytes (for the bar)."""
    if isinstance(source, (str, os.PathLike)):
        corpus = open_corpus(source, text_column=text_column, format=format)
        sized = corpus.format != "parquet" and all(p.suffix != ".parquet" for p in corpus.paths)
        return corpus, corpus.total_bytes if sized else None
    if isinstance(source, (bytes, bytearray)):
        raise ConfigError("source must be a path or an iterable of str, not bytes")
    return source, None


def _batches(documents: Iterable[str]) -> Iterator[tuple[list[str], int]]:
    batch: list[str] = []
    size = 0
    for number, doc in enumerate(documents):
        if not isinstance(doc, str):
            raise DataError(f"document {number} of the source is {type(doc).__name__}, expected str")
        batch.append(doc)
        size += len(doc)
        if size >= BATCH_BYTES:
            yield batch, size
            batch, size = [], 0
    if batch:
        yield batch, size


def read_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``items``, produced up to ``depth`` ahead on a background thread.

    Reading and decoding a corpus is Python work that holds the GIL; counting is C++ that
    releases it, so the next batch is read while this one is counted.
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    finished = object()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(finished)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            offer(exc)

    worker = threading.Thread(target=produce, name="tinygpt-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is finished:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _count_with_regex(
    trainer: _bpe.Trainer, batch: list[str], split: Callable[[str], list[str]], specials: list[str]
) -> None:
    active = {name: i for i, name in enumerate(specials)}
    counts: Counter[str] = Counter()
    for doc in batch:
        for segment, special in split_at_specials(_bpe.utf8_safe(doc), active):
            if special is None:
                counts.update(split(segment))
    for piece, n in counts.items():
        trainer.add_count(piece.encode("utf-8"), n)
