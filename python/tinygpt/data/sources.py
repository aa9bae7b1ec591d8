"""Corpora as streams of documents, whatever their file format: what ``--data`` accepts.

One function, :func:`open_corpus`, turns a spec into a :class:`Corpus`:

- ``stories.parquet``: the first string column (or ``text_column``), read in record batches;
- ``stories.txt``: documents separated by lines that are exactly ``<|endoftext|>`` (two such
  lines in a row hold an empty document; one that opens or closes the file only frames it);
- ``stories.jsonl``: one JSON object per line, the ``"text"`` field (or ``text_column``);
- any other file name with ``format="text"`` (``--format text``; also ``txt``, ``parquet``,
  ``jsonl``): that file read in that format, whatever its name (``corpus.en``, ``book.md``);
- a directory: every such file below it, recursively, in sorted order (with ``format``:
  every file below it, read in that format);
- ``hf:owner/name``: a Hugging Face dataset repository, downloaded once into the hub cache;
- ``embedded``: the small corpus of stories shipped inside the package.

Files are streamed (never read whole), so corpora larger than memory work. Problems come back
as :class:`~tinygpt.errors.DataError` naming the file and the line or byte offset. Empty
documents are yielded like any other, whatever the format, so that consumers can count them.

>>> corpus = open_corpus("embedded")
>>> next(iter(corpus))[:46]
'Once upon a time, there was a girl named Mia. '
"""

from __future__ import annotations

import importlib.resources
import itertools
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterator

import numpy as np

from tinygpt.errors import DataError

if TYPE_CHECKING:
    import pyarrow
    import pyarrow.parquet

__all__ = ["Corpus", "embedded_corpus_path", "open_corpus", "FORMATS", "SUFFIXES", "DOCUMENT_SEPARATOR"]

DOCUMENT_SEPARATOR = "<|endoftext|>"
SUFFIXES = (".parquet", ".txt", ".jsonl")
# format names (format= / --format) and the suffix whose reader each one selects
FORMATS = {"text": ".txt", "txt": ".txt", "parquet": ".parquet", "jsonl": ".jsonl"}
HF_PREFIX = "hf:"
EMBEDDED = "embedded"

_CHUNK_BYTES = 8 << 20
_UTF8_BOM = b"\xef\xbb\xbf"
_PARQUET_BATCH_ROWS = 1024
_ARROW_BATCH_ROWS = 16384  # ~14 MB of stories: one compiled encoding call each
# A separator line, found by its literal start (many times faster than a ^ anchor, which the
# regex engine tries at every byte); that it starts a line is checked on each match.
_SEPARATOR = re.compile(rb"<\|endoftext\|>\r?\n")
_FINAL_SEPARATOR = re.compile(rb"^<\|endoftext\|>\r?\Z", re.MULTILINE)
_HF_REPO = re.compile(r"[\w.-]+/[\w.-]+")
_LOCAL_HINT = "pass a local .parquet, .txt or .jsonl file (or a directory of them) instead"


class Corpus:
    """Documents from one or more files; iterate it as often as you like, each pass streams."""

    def __init__(self, paths: list[Path], *, text_column: str | None = None, format: str | None = None) -> None:
        self.paths = paths
        self.text_column = text_column
        self.format = format
        self.total_bytes = sum(path.stat().st_size for path in paths)
        self._readers: list[Callable[[], Iterator[str]]] = [
            _reader(path, text_column, _suffix(path, format)) for path in paths
        ]

    def __iter__(self) -> Iterator[str]:
        for read in self._readers:
            yield from read()

    @property
    def reads_arrow(self) -> bool:
        """Every file is parquet or plain text, so :meth:`iter_arrow` can hand out Arrow arrays."""
        return all(_suffix(path, self.format) in (".parquet", ".txt") for path in self.paths)

    def iter_arrow(self) -> Iterator[Any]:
        """The documents as pyarrow string arrays (a parquet record batch, or a chunk of a text
        file, each; a null row is an error, as in iteration): the text stays in Arrow's
        buffers, with no Python object per document."""
        if not self.reads_arrow:
            raise DataError("only parquet and text corpora are read as Arrow arrays")
        for path in self.paths:
            if _suffix(path, self.format) == ".parquet":
                yield from _read_parquet_arrays(path, _parquet_text_column(path, self.text_column), _ARROW_BATCH_ROWS)
            else:
                yield from _read_txt_arrays(path)

    def arrow_document_count(self) -> int:
        """The document count of a corpus that :meth:`iter_arrow` reads: parquet files' from
        their metadata (one document per row: a null row is an error when read), text files'
        from a pass that finds the separators but decodes nothing."""
        return sum(
            _parquet_file(path).metadata.num_rows
            if _suffix(path, self.format) == ".parquet"
            else sum(len(ranges) for _, ranges, _ in _txt_documents(path))
            for path in self.paths
        )

    def iter_batches(self, max_docs: int) -> Iterator[list[str]]:
        """Documents in lists of at most ``max_docs`` (for batch encoding)."""
        if max_docs < 1:
            raise ValueError(f"max_docs must be at least 1, got {max_docs}")
        documents = iter(self)
        while batch := list(itertools.islice(documents, max_docs)):
            yield batch

    def __repr__(self) -> str:
        return f"Corpus({len(self.paths)} file(s), {self.total_bytes:,} bytes)"


def open_corpus(spec: str | os.PathLike[str], *, text_column: str | None = None, format: str | None = None) -> Corpus:
    """Open a corpus: a file, a directory, ``hf:owner/name`` or ``embedded`` (see module doc).

    ``format`` (one of :data:`FORMATS`) reads files whatever their names; without it the
    suffix decides. Fails early, with a DataError naming the file, when a path is missing,
    unreadable, of an unknown type, or (parquet) lacks the text column.
    """
    if format is not None and format not in FORMATS:
        raise DataError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    text = os.fspath(spec)
    if text == EMBEDDED:
        return Corpus([embedded_corpus_path()], text_column=text_column)
    if text.startswith(HF_PREFIX):
        files = _corpus_files(_download_hf_dataset(text[len(HF_PREFIX) :]), format)
        return Corpus(files, text_column=text_column, format=format)
    return Corpus(_corpus_files(Path(text), format), text_column=text_column, format=format)


def embedded_corpus_path() -> Path:
    """The package's own stories (``tinygpt/assets/stories.txt``), the offline default corpus."""
    resource = importlib.resources.files("tinygpt") / "assets" / "stories.txt"
    path = Path(str(resource))
    if not path.is_file():
        raise DataError(f"the embedded corpus is missing from this installation ({path}); reinstall tinygpt")
    return path


def _suffix(path: Path, format: str | None) -> str:
    """The suffix whose reader reads ``path``: the format's when one is given."""
    return path.suffix if format is None else FORMATS[format]


def _corpus_files(path: Path, format: str | None = None) -> list[Path]:
    if path.is_dir():
        files = sorted(
            (found for found in _walk(path) if format is not None or found.suffix in SUFFIXES),
            key=lambda found: found.relative_to(path).as_posix(),
        )
        if not files:
            if any(path.glob("manifest*.json")):
                raise DataError(
                    f"{path}: holds token shards (a `tinygpt tokenize` output), not a "
                    "corpus of .parquet, .txt or .jsonl files"
                )
            if any(path.glob("*.bin")):
                raise DataError(
                    f"{path}: holds token shards (.bin) but no manifest.json, so it is neither a "
                    "corpus nor a complete `tinygpt tokenize` output; re-run the tokenize command "
                    "that wrote it"
                )
            wanted = "files" if format is not None else f"{', '.join(SUFFIXES)} files"
            raise DataError(f"{path}: no {wanted} in this directory")
        return files
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if format is None and path.suffix not in SUFFIXES:
        raise DataError(
            f"{path}: unsupported file type {path.suffix or '(no extension)'!r}; expected "
            f"{', '.join(SUFFIXES)} or a directory of them, or name the format: --format text "
            f"(format='text' in Python; also txt, parquet, jsonl)"
        )
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from error
    return [path]


def _walk(root: Path) -> Iterator[Path]:
    """Every non-hidden file below ``root``; a directory that cannot be listed is an error,
    never silently skipped (its documents would be missing from the corpus)."""

    def refuse(error: OSError) -> None:
        raise DataError(f"{error.filename}: cannot read this directory of the corpus ({error.strerror or error})")

    for directory, subdirectories, names in os.walk(root, onerror=refuse):
        subdirectories[:] = sorted(name for name in subdirectories if not name.startswith("."))
        for name in names:
            found = Path(directory, name)
            if not name.startswith(".") and found.is_file():
                yield found


def _reader(path: Path, text_column: str | None, suffix: str) -> Callable[[], Iterator[str]]:
    if suffix == ".parquet":
        column = _parquet_text_column(path, text_column)
        return lambda: _read_parquet(path, column)
    if suffix == ".jsonl":
        return lambda: _read_jsonl(path, text_column or "text")
    return lambda: _read_txt(path)


def _read_txt(path: Path) -> Iterator[str]:
    """Documents between ``<|endoftext|>`` lines (see :func:`_txt_documents`), as text."""
    for buffer, ranges, offset in _txt_documents(path):
        for start, end in ranges:
            yield _decode_document(buffer, start, end, offset, path)


def _read_txt_arrays(path: Path) -> Iterator[pyarrow.Array]:
    """Documents between ``<|endoftext|>`` lines as pyarrow string arrays, one per chunk read:
    their bytes gathered in one buffer, checked to be UTF-8 in bulk, no Python object per
    document."""
    # Lazy: pyarrow is slow to import and only Arrow reading needs it.
    import pyarrow

    for buffer, ranges, offset in _txt_documents(path):
        if not ranges:
            continue
        with memoryview(buffer) as view:
            data = b"".join([view[start:end] for start, end in ranges])
        offsets = np.zeros(len(ranges) + 1, dtype=np.int64)
        np.cumsum([end - start for start, end in ranges], out=offsets[1:])
        if not _whole_utf8_documents(data, offsets):
            for start, end in ranges:  # finds the first bad document, for its error
                _decode_document(buffer, start, end, offset, path)
        yield pyarrow.LargeStringArray.from_buffers(len(ranges), pyarrow.py_buffer(offsets), pyarrow.py_buffer(data))


def _whole_utf8_documents(data: bytes, offsets: np.ndarray) -> bool:
    """Every ``data[offsets[i]:offsets[i + 1]]`` is UTF-8: the whole is, and no document starts
    with a continuation byte (which would complete a character the one before it cut)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    starts = offsets[:-1][np.diff(offsets) > 0]
    return not np.any((np.frombuffer(data, dtype=np.uint8)[starts] & 0xC0) == 0x80)


def _txt_documents(path: Path) -> Iterator[tuple[bytearray, list[tuple[int, int]], int]]:
    """The documents of a ``.txt`` corpus, found in large binary chunks: per chunk, the buffer,
    each document's ``(start, end)`` in it (without the newline ending its last line), and the
    file offset of the buffer's first byte. The buffer changes once the next item is asked for.

    Each separator line ends the document before it, empty or not, except one that opens the
    file; after the last separator only a non-empty rest is a document. So files that put a
    separator after every document, or before every one, hold no spurious empty document. A
    UTF-8 byte-order mark opening the file is an encoding marker, not text.
    """
    pending = bytearray()
    pending_offset = 0  # file offset of pending[0]
    scanned = 0  # pending[:scanned] holds no complete separator line
    text_start = 0  # file offset of the first byte of text (3 after a byte-order mark)
    with _open_binary(path) as handle:
        while chunk := _read_chunk(handle, path):
            if pending_offset == 0 and not pending and chunk.startswith(_UTF8_BOM):
                chunk, pending_offset = chunk[len(_UTF8_BOM) :], len(_UTF8_BOM)
                text_start = pending_offset
            pending += chunk
            start = 0
            ranges = []
            for separator in _SEPARATOR.finditer(pending, max(0, scanned)):
                if separator.start() and pending[separator.start() - 1] != 0x0A:
                    continue
                if pending_offset + separator.start() > text_start:
                    ranges.append((start, _without_final_newline(pending, start, separator.start())))
                start = separator.end()
            yield pending, ranges, pending_offset
            del pending[:start]
            pending_offset += start
            scanned = len(pending) - len(DOCUMENT_SEPARATOR) - 2
    final = _FINAL_SEPARATOR.search(pending)
    if final is not None:
        if pending_offset + final.start() > text_start:
            yield pending, [(0, _without_final_newline(pending, 0, final.start()))], pending_offset
    elif pending:
        yield pending, [(0, _without_final_newline(pending, 0, len(pending)))], pending_offset


def _without_final_newline(buffer: bytearray, start: int, end: int) -> int:
    """The end of ``buffer[start:end]`` without the newline (LF or CRLF) that ends its last line."""
    if end > start and buffer[end - 1] == 0x0A:
        end -= 2 if end - 1 > start and buffer[end - 2] == 0x0D else 1
    return end


def _decode_document(buffer: bytearray, start: int, end: int, offset: int, path: Path) -> str:
    """UTF-8 text of ``buffer[start:end]``; DataError naming the file, line and byte offset."""
    try:
        return buffer[start:end].decode("utf-8")
    except UnicodeDecodeError as error:
        byte = offset + start + error.start
        raise DataError(f"{path}:{_line_at(path, byte)}: invalid UTF-8 at byte offset {byte}") from None


def _line_at(path: Path, offset: int) -> int:
    """1-based line number of a byte offset (only computed when reporting an error)."""
    line, done = 1, 0
    with path.open("rb") as handle:
        while done < offset and (chunk := handle.read(min(_CHUNK_BYTES, offset - done))):
            line += chunk.count(b"\n")
            done += len(chunk)
    return line


def _read_jsonl(path: Path, field: str) -> Iterator[str]:
    offset = 0
    with _open_binary(path) as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            if number == 1 and raw.startswith(_UTF8_BOM):  # an encoding marker, not text
                raw, offset = raw[len(_UTF8_BOM) :], len(_UTF8_BOM)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise DataError(f"{where}: invalid UTF-8 at byte offset {offset + error.start}") from None
            offset += len(raw)
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(f"{where}: invalid JSON: {error.msg} (column {error.colno})") from None
            if not isinstance(record, dict):
                raise DataError(f"{where}: expected a JSON object per line, found {type(record).__name__}")
            if field not in record:
                available = ", ".join(sorted(record)) or "none"
                raise DataError(f"{where}: no {field!r} field (available: {available}); choose one with --text-column")
            text = record[field]
            if not isinstance(text, str):
                raise DataError(f"{where}: field {field!r} is {type(text).__name__}, expected a string")
            yield text


def _parquet_file(path: Path) -> pyarrow.parquet.ParquetFile:
    # Lazy: pyarrow is slow to import and only parquet input needs it.
    import pyarrow
    import pyarrow.parquet

    try:
        # pre_buffer (pyarrow's default) keeps every column chunk it has fetched until the file
        # is closed: reading batch after batch, memory grew by the whole compressed file.
        return pyarrow.parquet.ParquetFile(path, pre_buffer=False)
    except (OSError, pyarrow.ArrowException) as error:
        raise DataError(f"{path}: not a readable parquet file: {error}") from error


def _is_text_type(arrow_type: pyarrow.DataType) -> bool:
    # Lazy: pyarrow is slow to import and only parquet input needs it.
    import pyarrow.types as types

    is_view = getattr(types, "is_string_view", lambda _: False)
    return types.is_string(arrow_type) or types.is_large_string(arrow_type) or is_view(arrow_type)


def _parquet_text_column(path: Path, text_column: str | None) -> str:
    """The column to read: ``text_column`` if given, else the first string column."""
    schema = _parquet_file(path).schema_arrow
    columns = ", ".join(f"{field.name} ({field.type})" for field in schema) or "none"
    if text_column is not None:
        if text_column not in schema.names:
            raise DataError(f"{path}: no column {text_column!r} (available: {columns})")
        if not _is_text_type(schema.field(text_column).type):
            raise DataError(f"{path}: column {text_column!r} is {schema.field(text_column).type}, not text")
        return text_column
    for field in schema:
        if _is_text_type(field.type):
            return field.name
    raise DataError(f"{path}: no string column to read text from (columns: {columns})")


def _read_parquet(path: Path, column: str) -> Iterator[str]:
    for array in _read_parquet_arrays(path, column, _PARQUET_BATCH_ROWS):
        yield from array.to_pylist()


def _read_parquet_arrays(path: Path, column: str, rows: int) -> Iterator[pyarrow.Array]:
    # Lazy: pyarrow is slow to import and only parquet input needs it.
    import pyarrow

    # One column gains nothing from Arrow's thread pool, whose threads would take cores from
    # the encoder's.
    batches = _parquet_file(path).iter_batches(batch_size=rows, columns=[column], use_threads=False)
    row = 0
    try:
        for batch in batches:
            texts = batch.column(0)
            if texts.null_count:  # as in .jsonl: a missing text is an error, never dropped unseen
                first_null = int(texts.is_null().to_numpy(zero_copy_only=False).argmax())
                raise DataError(
                    f"{path}: row {row + first_null} of column {column!r} is null, not a string; "
                    "drop or fill the null rows"
                )
            row += len(texts)
            yield texts
    except (OSError, pyarrow.ArrowException) as error:
        raise DataError(f"{path}: cannot read column {column!r}: {error}") from error


def _open_binary(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from error


def _read_chunk(handle: BinaryIO, path: Path) -> bytes:
    try:
        return handle.read(_CHUNK_BYTES)
    except OSError as error:
        raise DataError(f"{path}: read failed: {error.strerror or error}") from error


def _download_hf_dataset(repo_id: str) -> Path:
    """Snapshot a dataset repository's corpus files into the hub cache (once) and return it."""
    return hub_snapshot(
        repo_id,
        repo_type="dataset",
        allow_patterns=[f"*{suffix}" for suffix in SUFFIXES],
        example="flpelerin/tinystories-10k",
        local_hint=_LOCAL_HINT,
    )


def hub_snapshot(repo_id: str, *, repo_type: str, allow_patterns: list[str], example: str, local_hint: str) -> Path:
    """The hub cache's copy of ``allow_patterns`` in ``repo_id``, downloaded once; errors name
    ``hf:repo_id`` and end with ``local_hint`` (what to pass instead)."""
    if not _HF_REPO.fullmatch(repo_id):
        raise DataError(f"hf:{repo_id}: expected hf:owner/name, e.g. hf:{example}")
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise DataError(
            f"hf:{repo_id} needs huggingface_hub, which is not installed: pip install 'tinygpt[hub]', or {local_hint}"
        ) from None
    try:
        folder = snapshot_download(repo_id=repo_id, repo_type=repo_type, allow_patterns=allow_patterns)
    # The hub client raises many unrelated types for "no network" and "no such repo"
    # (httpx / requests errors, HfHubHTTPError, LocalEntryNotFoundError); all mean the same here.
    except Exception as error:
        raise DataError(
            f"hf:{repo_id}: could not download the {repo_type} (offline, or no such {repo_type} "
            f"repository, and no cached copy): {type(error).__name__}: {' '.join(str(error).split())}; "
            f"{local_hint}"
        ) from error
    return Path(folder)
