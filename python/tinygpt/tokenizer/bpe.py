"""BPETokenizer: the public face of the compiled BPE core (tinygpt._bpe).

Two modes share one merge engine and differ only in pre-tokenisation and alphabet:

* ``bytes``: byte-level BPE over pieces cut by a regex (GPT-2's by default); with GPT-2's
  vocabulary it encodes exactly as tiktoken does.
* ``words``: gpt-rs's tokenizer. The alphabet is characters, merges never cross a word
  boundary (a token may start with a space, a merge never puts one in the middle), and the
  do-not-merge characters (``"`` and ``\\n``) stay single tokens.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from tinygpt import _bpe
from tinygpt.errors import ConfigError, DataError
from tinygpt.tokenizer import streaming
from tinygpt.tokenizer.arrow import utf8_buffers
from tinygpt.tokenizer.hf_json import hf_json_text, read_hf_json
from tinygpt.tokenizer.patterns import PreTokenizer, resolve_pattern, split_at_specials
from tinygpt.tokenizer.persistence import read_tokenizer_file, write_tokenizer_file
from tinygpt.tokenizer.spec import DEFAULT_ALLOWED_SPECIAL, DEFAULT_DO_NOT_MERGE, ENDOFTEXT, MODES, TokenizerSpec
from tinygpt.tokenizer.streaming import checked_chunks, file_text_blocks, file_utf8_blocks
from tinygpt.tokenizer.training import Source, train_tokenizer
from tinygpt.tokenizer.vocab_merges import spec_from_vocab_merges


class BPETokenizer:
    """A trained byte-pair-encoding tokenizer.

    >>> tok = BPETokenizer.train(["the cat sat on the mat"] * 10, 270, show_progress=False)
    >>> tok.decode(tok.encode("the cat"))
    'the cat'

    Build one with :meth:`train`, :meth:`from_vocab_merges`, :meth:`from_alphabet_merges` or
    :meth:`load`; the constructor is internal.
    """

    def __init__(
        self,
        *,
        mode: str,
        pattern: str | None,
        base: Sequence[tuple[bytes, int]],
        merges: Sequence[Sequence[int]],
        special_tokens: Mapping[str, int],
        do_not_merge: Sequence[str] = (),
        added_tokens: Mapping[int, bytes] | None = None,
        byte_fallback: Sequence[int] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"mode must be 'bytes' or 'words', got {mode!r}")
        self._mode = mode
        self._pre: PreTokenizer | None = resolve_pattern(pattern) if mode == "bytes" else None
        self._base = [(bytes(token), int(token_id)) for token, token_id in base]
        self._merge_ids = [(int(a), int(b), int(t)) for a, b, t in merges]
        self._special_tokens = {str(name): int(token_id) for name, token_id in special_tokens.items()}
        self._do_not_merge = tuple(do_not_merge) if mode == "words" else ()
        self._added = {int(token_id): bytes(token) for token_id, token in (added_tokens or {}).items()}
        self._byte_ids = _byte_fallback_ids(mode, byte_fallback)
        self._token_bytes = self._build_token_table()
        if mode == "words":
            self._check_words_merges()
        self._built_encoder, self._encoder_ready = self._build_encoder()

    @property
    def _encoder(self) -> Any:
        """The compiled encoder, once its last part (built on a thread of its own) is done."""
        if self._encoder_ready is not None:
            self._encoder_ready.result()  # raises what the build raised
            self._encoder_ready = None
        return self._built_encoder

    # ----------------------------------------------------------------- construction
    @classmethod
    def train(
        cls,
        source: Source,
        vocab_size: int,
        *,
        mode: str = "bytes",
        pattern: str = "gpt2",
        special_tokens: Sequence[str] = (ENDOFTEXT,),
        num_threads: int | None = None,
        do_not_merge: Sequence[str] = DEFAULT_DO_NOT_MERGE,
        text_column: str | None = None,
        show_progress: bool = True,
        byte_fallback: bool = False,
        format: str | None = None,
    ) -> BPETokenizer:
        """Train on ``source``: a path (``.txt``/``.parquet``/``.jsonl``, a folder, ``hf:...``;
        ``format="text"`` reads any file name as plain text) or any iterable of str, streamed
        (memory grows with distinct pre-tokens only).

        ``byte_fallback=True`` (words mode) reserves 256 byte tokens after the merges, so that
        characters outside the alphabet encode as their UTF-8 bytes (SentencePiece's byte
        fallback) and ``decode(encode(s)) == s`` for every string; without it the alphabet is
        closed, exactly as gpt-rs's.

        ``vocab_size`` counts base tokens (256 bytes, or the corpus's characters in words
        mode), merges and special tokens; special tokens take the last ids. Bytes mode breaks
        count ties toward the lexicographically greatest ``(bytes, bytes)`` pair; words mode
        follows gpt-rs exactly (ties toward the greatest ``(first_id, second_id)``).

        >>> tok = BPETokenizer.train("stories.txt", 512, show_progress=False)
        >>> tok.vocab_size, tok.eot_id
        (512, 511)
        >>> tok.encode("Once upon a time")
        [420, 432, 258, 388]
        """
        return cls.from_spec(
            train_tokenizer(
                source,
                vocab_size,
                mode=mode,
                pattern=pattern,
                special_tokens=special_tokens,
                num_threads=num_threads,
                do_not_merge=do_not_merge,
                text_column=text_column,
                show_progress=show_progress,
                byte_fallback=byte_fallback,
                format=format,
            )
        )

    @classmethod
    def from_vocab_merges(
        cls,
        vocab: Mapping[int, bytes],
        merges: Sequence[tuple[bytes, bytes]],
        special_tokens: Mapping[str, int] | Sequence[str] | None = None,
        pattern: str = "gpt2",
    ) -> BPETokenizer:
        """A bytes-mode tokenizer from a GPT-2-style vocabulary (id -> bytes) and ordered merges.

        The vocabulary must hold all 256 single bytes and every merge's result; the special
        tokens are given as ``{name: id}``, or as names looked up in ``vocab`` or appended.
        Any other entry is an *added token* (Hugging Face's term), kept as it is: it decodes,
        but text never encodes to it unless it is also named a special token. So GPT-2's
        vocabulary loads as it is, ``<|endoftext|>`` included (it is then :attr:`eot_id`).
        With GPT-2's files (see :func:`read_gpt2_vocab_merges`) this encodes exactly as
        tiktoken's ``gpt2`` encoding.

        >>> from tinygpt.tokenizer import read_gpt2_vocab_merges
        >>> vocab, merges = read_gpt2_vocab_merges("gpt2")  # vocab.json and merges.txt
        >>> gpt2 = BPETokenizer.from_vocab_merges(vocab, merges)
        >>> gpt2.encode("The cat sat on the mat.")
        [464, 3797, 3332, 319, 262, 2603, 13]
        """
        return cls.from_spec(spec_from_vocab_merges(vocab, merges, special_tokens, pattern))

    @classmethod
    def from_alphabet_merges(
        cls,
        alphabet: Sequence[str],
        merges: Sequence[tuple[int, int]],
        special_tokens: Sequence[str] = (),
        do_not_merge: Sequence[str] = DEFAULT_DO_NOT_MERGE,
    ) -> BPETokenizer:
        """A words-mode tokenizer with gpt-rs's ids: ``alphabet[i]`` is id i, merge k makes id
        ``len(alphabet) + k``, special tokens follow."""
        chars = [str(c) for c in alphabet]
        if any(len(c) != 1 for c in chars) or len(set(chars)) != len(chars):
            raise DataError("alphabet must be distinct single characters")
        if any("\ud800" <= c <= "\udfff" for c in chars):
            raise DataError("alphabet holds a lone surrogate, which no UTF-8 text can contain")
        next_id = len(chars)
        merge_ids = []
        for number, (a, b) in enumerate(merges):
            if not (0 <= a < next_id and 0 <= b < next_id):
                raise DataError(f"merge #{number} ({a}, {b}) refers to an id that does not exist yet (< {next_id})")
            merge_ids.append((int(a), int(b), next_id))
            next_id += 1
        specials = {name: next_id + i for i, name in enumerate(special_tokens)}
        base = [(c.encode("utf-8"), i) for i, c in enumerate(chars)]
        return cls(
            mode="words", pattern=None, base=base, merges=merge_ids, special_tokens=specials, do_not_merge=do_not_merge
        )

    @classmethod
    def from_spec(cls, spec: TokenizerSpec) -> BPETokenizer:
        """The tokenizer that ``spec`` (what training and tokenizer files produce) describes."""
        return cls(**vars(spec))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BPETokenizer:
        """Read a tokenizer written by :meth:`save` (a RON file).

        >>> tok = BPETokenizer.load("tokenizer.ron")
        >>> tok.mode, tok.vocab_size
        ('bytes', 512)
        """
        spec = read_tokenizer_file(path)
        try:
            return cls.from_spec(spec)
        except (DataError, ConfigError) as exc:  # a well-formed file whose content is inconsistent
            raise DataError(f"{path}: {exc}") from None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the tokenizer as human-readable RON, atomically."""
        write_tokenizer_file(self.spec, path)

    @classmethod
    def from_hf_json(cls, path: str | os.PathLike[str]) -> BPETokenizer:
        """Read a Hugging Face ``tokenizer.json``: byte-level BPE (GPT-2's, say) or one that
        :meth:`to_hf_json` wrote in either mode."""
        return cls.from_spec(read_hf_json(path))

    def to_hf_json(self) -> str:
        """``tokenizer.json`` text with which the ``tokenizers`` library gives this tokenizer's ids."""
        return hf_json_text(self.spec, self.vocab)

    # ----------------------------------------------------------------- properties
    @property
    def spec(self) -> TokenizerSpec:
        """The plain data this tokenizer is built from (what its file holds)."""
        return TokenizerSpec(
            mode=self._mode,
            pattern=self.pattern,
            base=list(self._base),
            merges=list(self._merge_ids),
            special_tokens=dict(self._special_tokens),
            do_not_merge=self._do_not_merge,
            added_tokens=dict(self._added),
            byte_fallback=self.byte_fallback_ids,
        )

    @property
    def mode(self) -> str:
        """``"bytes"`` or ``"words"``."""
        return self._mode

    @property
    def pattern(self) -> str | None:
        """``"gpt2"``, ``"gpt4"``, a custom regex (bytes mode), or None (words mode)."""
        return self._pre.pattern if self._pre else None

    @property
    def do_not_merge(self) -> tuple[str, ...]:
        """Words mode: characters that never merge (gpt-rs: ``"`` and newline)."""
        return self._do_not_merge

    @property
    def alphabet(self) -> list[str]:
        """Words mode: the base characters in id order (empty in bytes mode)."""
        if self._mode != "words":
            return []
        return [token.decode("utf-8") for token, _ in sorted(self._base, key=lambda item: item[1])]

    @property
    def vocab_size(self) -> int:
        return len(self._token_bytes)

    @property
    def special_tokens(self) -> dict[str, int]:
        return dict(self._special_tokens)

    @property
    def eot_id(self) -> int | None:
        """Id of ``<|endoftext|>`` when the tokenizer has it (a special or an added token)."""
        found = self._special_tokens.get(ENDOFTEXT)
        if found is None:
            found = next((i for i, token in self._added.items() if token == ENDOFTEXT.encode()), None)
        return found

    @property
    def added_tokens(self) -> dict[int, bytes]:
        """Entries that are neither a base token, a merge result nor a special token: they
        decode, and text never encodes to them."""
        return dict(self._added)

    @property
    def byte_fallback(self) -> bool:
        """Words mode: characters outside the alphabet encode as their UTF-8 bytes."""
        return self._byte_ids is not None

    @property
    def byte_fallback_ids(self) -> list[int] | None:
        """Words mode with byte fallback: the id of each byte value 0..255."""
        return None if self._byte_ids is None else list(self._byte_ids)

    @property
    def vocab(self) -> dict[int, bytes]:
        """Every token's bytes by id, special tokens included."""
        return dict(enumerate(self._token_bytes))

    @property
    def merges(self) -> list[tuple[bytes, bytes]]:
        """The merges in training order, as byte strings (UTF-8 in words mode)."""
        return [(self._token_bytes[a], self._token_bytes[b]) for a, b, _ in self._merge_ids]

    @property
    def merge_ids(self) -> list[tuple[int, int, int]]:
        """The merges as ``(first_id, second_id, new_id)``."""
        return list(self._merge_ids)

    def token_bytes(self, token_id: int) -> bytes:
        if not 0 <= token_id < len(self._token_bytes):
            raise DataError(f"token id {token_id} is outside the vocabulary (size {self.vocab_size})")
        return self._token_bytes[token_id]

    def fingerprint(self) -> str:
        """sha256 of the canonical content: equal tokenizers give equal hashes."""
        canonical: dict[str, Any] = {
            "mode": self._mode,
            "pattern": self.pattern,
            "base": sorted((token.hex(), token_id) for token, token_id in self._base),
            "merges": self._merge_ids,
            "special_tokens": sorted(self._special_tokens.items()),
            "do_not_merge": list(self._do_not_merge),
        }
        # Only present when used, so that tokenizers without them keep their old fingerprints.
        if self._added:
            canonical["added_tokens"] = sorted((token_id, token.hex()) for token_id, token in self._added.items())
        if self._byte_ids is not None:
            canonical["byte_fallback"] = self._byte_ids
        return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BPETokenizer) and self.fingerprint() == other.fingerprint()

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Pickle by content (ids as packed arrays), so process pools, DataLoader workers,
        ``datasets.map(num_proc=...)``, Ray or Spark can ship it; the compiled encoder is
        rebuilt on arrival."""
        merges = np.asarray(self._merge_ids, dtype=np.uint32).reshape(-1, 3)
        state = {
            "mode": self._mode,
            "pattern": self.pattern,
            "base": self._base,
            "merges": merges.tobytes(),
            "special_tokens": self._special_tokens,
            "do_not_merge": self._do_not_merge,
            "added_tokens": self._added,
            "byte_fallback": self._byte_ids,
        }
        return _unpickle, (state,)

    def __repr__(self) -> str:
        pattern = f", pattern={self.pattern!r}" if self._pre else ""
        return f"BPETokenizer(mode={self._mode!r}{pattern}, vocab_size={self.vocab_size}, special_tokens={self._special_tokens})"

    # ----------------------------------------------------------------- encoding
    def encode(
        self,
        text: str,
        *,
        allowed_special: str | Iterable[str] = DEFAULT_ALLOWED_SPECIAL,
        on_unknown: str = "error",
    ) -> list[int]:
        """Token ids of ``text``.

        ``allowed_special`` (the same default in every encoding method): ``"none"`` (special
        tokens written in the text are plain text, as tiktoken's ``encode_ordinary``), ``"all"``
        (they become their control ids) or a set of names. Text becomes a control token only
        where the caller asks for it, so untrusted text (a REPL line, a scraped story) cannot
        inject one. ``on_unknown`` (words mode, characters outside the alphabet):
        ``"error"`` (a DataError naming the character and its offset), ``"skip"``, or a
        single alphabet character to put in its place.

        >>> tok = BPETokenizer.train(["hello world"] * 5, 265, show_progress=False)
        >>> tok.eot_id in tok.encode("hello<|endoftext|>")
        False
        >>> tok.encode("hello<|endoftext|>", allowed_special="all")[-1] == tok.eot_id
        True
        """
        if not isinstance(text, str):
            raise TypeError(f"encode expects str, got {type(text).__name__}")
        allowed = self._allowed_flags(allowed_special)
        unknown, replacement = self._unknown_policy(on_unknown)
        if self._pre is not None and self._pre.split is not None:
            return self._encode_custom([text], allowed, 1)[0]
        try:
            return self._encoder.encode(text, allowed, unknown, replacement)
        except _bpe.UnknownCharacter as exc:
            raise self._unknown_error(exc, [text]) from None

    def encode_batch(
        self,
        texts: Sequence[str],
        num_threads: int | None = None,
        *,
        allowed_special: str | Iterable[str] = DEFAULT_ALLOWED_SPECIAL,
        on_unknown: str = "error",
    ) -> list[list[int]]:
        """:meth:`encode` for many texts on C++ threads (GIL released).

        >>> BPETokenizer.load("tokenizer.ron").encode_batch(["a cat", "a dog"], num_threads=2)
        [[97, 277, 296], [97, 390, 103]]
        """
        texts = _as_str_list(texts)
        allowed = self._allowed_flags(allowed_special)
        unknown, replacement = self._unknown_policy(on_unknown)
        threads = _thread_count(num_threads, len(texts))
        if self._pre is not None and self._pre.split is not None:
            return self._encode_custom(texts, allowed, threads)
        try:
            return self._encoder.encode_batch(texts, allowed, unknown, replacement, threads)
        except _bpe.UnknownCharacter as exc:
            raise self._unknown_error(exc, texts) from None

    def encode_to_array(
        self,
        texts: Sequence[str],
        *,
        prepend: int | None = None,
        dtype: Any = np.uint16,
        num_threads: int | None = None,
        allowed_special: str | Iterable[str] = DEFAULT_ALLOWED_SPECIAL,
        on_unknown: str = "error",
    ) -> np.ndarray:
        """All texts' ids concatenated in one 1-D array, each text preceded by ``prepend``
        when given (the shard writer's end-of-text separator). GIL released while encoding.

        Special tokens written inside the texts are plain text by default, as everywhere: in
        a corpus, document boundaries (``prepend``) are the only end-of-text tokens.
        """
        dtype = self._token_dtype(dtype, prepend)
        texts = _as_str_list(texts)
        allowed = self._allowed_flags(allowed_special)
        unknown, replacement = self._unknown_policy(on_unknown)
        threads = _thread_count(num_threads, len(texts))
        if self._pre is not None and self._pre.split is not None:
            rows = self._encode_custom(texts, allowed, threads)
            parts = [[prepend, *row] if prepend is not None else row for row in rows]
            return np.fromiter((i for row in parts for i in row), dtype=dtype)
        try:
            return self._encoder.encode_into(
                texts,
                allowed,
                unknown,
                replacement,
                threads,
                -1 if prepend is None else prepend,
                lambda n: np.empty(n, dtype=dtype),
            )
        except _bpe.UnknownCharacter as exc:
            raise self._unknown_error(exc, texts) from None

    def encode_arrow(
        self,
        array: Any,
        *,
        prepend: int | None = None,
        dtype: Any = np.uint16,
        num_threads: int | None = None,
        allowed_special: str | Iterable[str] = DEFAULT_ALLOWED_SPECIAL,
        on_unknown: str = "error",
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`encode_to_array` over a pyarrow string array, read straight from the UTF-8
        bytes and offsets Arrow already holds: no Python object per text (what makes corpus
        reading as fast as the encoder). Empty texts get no ``prepend``.

        Returns ``(ids, counts)``: ``counts[i]`` is the number of ids of text i, ``prepend``
        included. The array must hold no nulls (``array.drop_null()``).
        """
        dtype = self._token_dtype(dtype, prepend)
        offsets, data = utf8_buffers(array)
        allowed = self._allowed_flags(allowed_special)
        unknown, replacement = self._unknown_policy(on_unknown)
        counts = np.empty(offsets.size - 1, dtype=np.int64)
        if self._pre is not None and self._pre.split is not None:
            texts = array.to_pylist()
            rows = self._encode_custom(texts, allowed, _thread_count(num_threads, len(texts)))
            parts = [[prepend, *row] if prepend is not None and text else row for text, row in zip(texts, rows)]
            counts[:] = [len(part) for part in parts]
            return np.fromiter((i for part in parts for i in part), dtype=dtype), counts
        threads = _thread_count(num_threads, counts.size)
        try:
            ids = self._encoder.encode_utf8_into(
                offsets,
                data,
                allowed,
                unknown,
                replacement,
                threads,
                -1 if prepend is None else prepend,
                lambda n: np.empty(n, dtype=dtype),
                counts,
            )
        except _bpe.UnknownCharacter as exc:
            raise self._unknown_error(exc, array.to_pylist()) from None
        return ids, counts

    def encode_iterable(
        self,
        chunks: Iterable[str],
        *,
        allowed_special: str | Iterable[str] = DEFAULT_ALLOWED_SPECIAL,
        on_unknown: str = "error",
    ) -> Iterator[int]:
        """Ids of text that arrives in pieces (lines of a file, blocks from a socket), exactly
        ``encode("".join(chunks))`` whatever the chunking: a word, a whitespace run or a
        special token split across chunks encodes as in the whole text.

        Memory stays bounded by one chunk plus the longest pre-tokenizer piece (plus a block
        of about 64 KiB: small chunks are gathered before each encoding step, so ids come out
        block by block, and the rest at the end), with the ``"gpt2"`` and ``"gpt4"`` patterns
        and in words mode.

        Limit: with a custom regex pattern the stream is *not* memory-bounded. A regex may look
        arbitrarily far ahead, so no piece is known to be final before the text ends: the
        whole text is gathered and encoded when this is called. Stream large text with a named
        pattern, or encode it document by document (``encode_batch``, ``tinygpt tokenize``).

        >>> tok = BPETokenizer.train(["Once upon a time. The end."] * 5, 270, show_progress=False)
        >>> list(tok.encode_iterable(["Once up", "on a ti", "me."])) == tok.encode("Once upon a time.")
        True
        """
        if isinstance(chunks, str):
            raise TypeError("encode_iterable expects an iterable of str, got one str (use encode)")
        allowed = self._allowed_flags(allowed_special)
        policy = self._unknown_policy(on_unknown)
        if self._pre is not None and self._pre.split is not None:
            return iter(
                self.encode("".join(checked_chunks(chunks)), allowed_special=allowed_special, on_unknown=on_unknown)
            )
        return self._encode_stream(chunks, allowed, policy, "the stream")

    def encode_file(
        self,
        path: str | os.PathLike[str],
        *,
        allowed_special: str | Iterable[str] = DEFAULT_ALLOWED_SPECIAL,
        on_unknown: str = "error",
    ) -> Iterator[int]:
        """Ids of a UTF-8 text file, streamed (:meth:`encode_iterable` over its blocks), so a
        file larger than memory encodes exactly as its whole text would (not with a custom
        regex pattern: see :meth:`encode_iterable`). Invalid UTF-8 is a DataError naming the
        file and the byte offset."""
        allowed = self._allowed_flags(allowed_special)
        policy = self._unknown_policy(on_unknown)
        if self._pre is not None and self._pre.split is not None:
            return iter(
                self.encode("".join(file_text_blocks(path)), allowed_special=allowed_special, on_unknown=on_unknown)
            )
        return self._encode_stream(file_utf8_blocks(path), allowed, policy, os.fspath(path), utf8_chunks=True)

    def _encode_stream(
        self,
        chunks: Iterable[str] | Iterable[bytes],
        allowed: list[bool],
        policy: tuple[int, int],
        where: str,
        utf8_chunks: bool = False,
    ) -> Iterator[int]:
        """Ids of text arriving in chunks, from the compiled stream (an iterator of ids);
        ``utf8_chunks``: the chunks are bytes already checked to be UTF-8 (a file's blocks)."""

        def unknown_error(byte_offset: int, cp: int) -> DataError:
            return DataError(
                f"{where}: character {chr(cp)!r} (U+{cp:04X}) at byte offset {byte_offset} is "
                "not in the tokenizer's alphabet; pass on_unknown='skip' or on_unknown='<a known "
                "character>' to encode anyway (--on-unknown on the command line)"
            )

        return self._encoder.stream(chunks, allowed, *policy, streaming.STREAM_BLOCK_BYTES, unknown_error, utf8_chunks)

    def decode_bytes(self, ids: Iterable[int] | np.ndarray) -> bytes:
        """The concatenated bytes of ``ids`` (may end inside a UTF-8 character)."""
        array = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids))
        if array.size == 0:
            return b""
        if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
            raise DataError(f"ids must be a flat sequence of integers, got array of {array.dtype} shape {array.shape}")
        if array.min() < 0 or array.max() >= self.vocab_size:
            bad = int(array[(array < 0) | (array >= self.vocab_size)][0])
            raise DataError(f"token id {bad} is outside the vocabulary (size {self.vocab_size})")
        return self._encoder.decode_bytes(np.ascontiguousarray(array, dtype=np.uint32))

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        """Text of ``ids``; bytes that do not form UTF-8 become U+FFFD (as tiktoken does).

        >>> tok = BPETokenizer.load("tokenizer.ron")
        >>> tok.decode([420, 432, 258, 388])
        'Once upon a time'
        >>> tok.decode(tok.encode("café")[:-1])  # the last id holds half of "é"
        'caf\ufffd'
        """
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    # ----------------------------------------------------------------- internals
    def _build_token_table(self) -> list[bytes]:
        table: dict[int, bytes] = {}

        def put(token_id: int, token: bytes, what: str) -> None:
            if token_id in table:
                raise DataError(f"token id {token_id} is assigned twice ({what})")
            table[token_id] = token

        for token, token_id in self._base:
            put(token_id, token, "base token")
        for a, b, t in self._merge_ids:  # put() inlined: GPT-2 has 50,000 of these
            first, second = table.get(a), table.get(b)
            if first is None or second is None:
                raise DataError(f"merge ({a}, {b}) -> {t} uses an id that is not defined before it")
            if t in table:
                raise DataError(f"token id {t} is assigned twice (merge result)")
            table[t] = first + second
        for name, token_id in self._special_tokens.items():
            put(token_id, name.encode("utf-8"), f"special token {name!r}")
        for token_id, token in self._added.items():
            put(token_id, token, "added token")
        for byte, token_id in enumerate(self._byte_ids or ()):
            put(token_id, bytes([byte]), "byte-fallback token")
        if sorted(table) != list(range(len(table))):
            hole = next(i for i in range(len(table) + 1) if i not in table)
            raise DataError(f"token ids must be 0..{len(table) - 1} without gaps; id {hole} is missing")
        return [table[i] for i in range(len(table))]

    def _check_words_merges(self) -> None:
        """Words-mode encoding cuts text into words and isolates do-not-merge characters; that
        equals applying the merges to the whole text only if no merge breaks gpt-rs's rules."""
        blocked = [c.encode("utf-8") for c in self._do_not_merge]
        for number, (a, b, _) in enumerate(self._merge_ids):
            first, second = self._token_bytes[a], self._token_bytes[b]
            if second.startswith(b" "):
                raise DataError(
                    f"merge #{number} {(first, second)!r} joins across a word boundary "
                    "(its second token starts with a space), which words mode never does"
                )
            if any(c in first or c in second for c in blocked):
                raise DataError(f"merge #{number} {(first, second)!r} contains a do-not-merge character")

    def _build_encoder(self) -> tuple[Any, Future[None] | None]:
        """The compiled encoder, and (bytes mode) the future of its last part, still building."""
        splitter = _bpe.SPLIT_WORDS if self._pre is None else self._pre.splitter
        encoder = _bpe.Encoder(splitter)
        for token_id, token in enumerate(self._token_bytes):
            encoder.add_token(token_id, token)
        for name, token_id in sorted(self._special_tokens.items(), key=lambda item: item[1]):
            encoder.add_special(token_id, name.encode("utf-8"))
        for token_id, token in self._added.items():
            encoder.add_decode_only(token_id, token)
        if self._mode == "words":
            if self._byte_ids is not None:
                for byte, token_id in enumerate(self._byte_ids):
                    encoder.set_byte_id(byte, token_id)
                encoder.enable_byte_fallback()
            for token, token_id in self._base:
                encoder.set_char_id(ord(token.decode("utf-8")), token_id)
            for char in self._do_not_merge:
                encoder.add_no_merge(ord(char))
            for rank, (a, b, t) in enumerate(self._merge_ids):
                encoder.add_merge(a, b, rank, t)
            return encoder, None
        for token, token_id in self._base:
            encoder.set_byte_id(token[0], token_id)
        # The merge rules (tiktoken's: every split of a merged token into two tokens merges at
        # its rank) take GPT-2's a tenth of a second, without the GIL: they are found on a
        # thread of their own while the caller goes on (reading the corpus, setting a job up),
        # and the first use of the encoder waits for them.
        builder = ThreadPoolExecutor(1, thread_name_prefix="tinygpt-merge-rules")
        ready = builder.submit(_add_bytes_rules, encoder, [t for _, _, t in self._merge_ids])
        builder.shutdown(wait=False)
        _PENDING_BUILDS.add(ready)
        ready.add_done_callback(_PENDING_BUILDS.discard)
        return encoder, ready

    def _token_dtype(self, dtype: Any, prepend: int | None) -> np.dtype:
        """The output dtype of the array encoders, checked against the vocabulary."""
        dtype = np.dtype(dtype)
        if dtype not in (np.dtype(np.uint16), np.dtype(np.uint32)):
            raise ConfigError(f"dtype must be uint16 or uint32, got {dtype}")
        if self.vocab_size > np.iinfo(dtype).max + 1:
            raise ConfigError(f"vocab_size {self.vocab_size} does not fit {dtype}; use uint32")
        if prepend is not None and not 0 <= prepend < self.vocab_size:
            raise ConfigError(f"prepend id {prepend} is outside the vocabulary (size {self.vocab_size})")
        return dtype

    def _allowed_flags(self, allowed_special: str | Iterable[str]) -> list[bool]:
        names = [name for name, _ in sorted(self._special_tokens.items(), key=lambda item: item[1])]
        if allowed_special == "all":
            return [True] * len(names)
        if allowed_special == "none":
            return [False] * len(names)
        if isinstance(allowed_special, str):
            raise ConfigError(f"allowed_special must be 'all', 'none' or a set of names, got {allowed_special!r}")
        wanted = set(allowed_special)
        unknown = wanted - set(names)
        if unknown:
            raise ConfigError(
                f"unknown special tokens in allowed_special: {sorted(unknown)}; this tokenizer has {names}"
            )
        return [name in wanted for name in names]

    def _unknown_policy(self, on_unknown: str) -> tuple[int, int]:
        if on_unknown == "error":
            return _bpe.UNKNOWN_ERROR, 0
        if on_unknown == "skip":
            return _bpe.UNKNOWN_SKIP, 0
        if isinstance(on_unknown, str) and len(on_unknown) == 1:
            if self._mode == "words" and on_unknown not in self.alphabet:
                raise ConfigError(f"replacement {on_unknown!r} is not in the tokenizer's alphabet")
            return _bpe.UNKNOWN_REPLACE, ord(on_unknown)
        raise ConfigError(f"on_unknown must be 'error', 'skip' or one replacement character, got {on_unknown!r}")

    def _unknown_error(self, exc: Exception, texts: Sequence[str]) -> DataError:
        index, byte_offset, cp = exc.args
        text = _bpe.utf8_safe(texts[index])
        offset = len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace"))
        where = f"text {index}, offset {offset}" if len(texts) > 1 else f"offset {offset}"
        return DataError(
            f"character {chr(cp)!r} (U+{cp:04X}) at {where} is not in the tokenizer's alphabet; "
            "pass on_unknown='skip' or on_unknown='<a known character>' to encode anyway "
            "(--on-unknown on the command line)"
        )

    def _encode_custom(self, texts: list[str], allowed: list[bool], threads: int) -> list[list[int]]:
        """Custom patterns: split at special tokens and by the regex in Python, merge in C++."""
        assert self._pre is not None and self._pre.split is not None
        names = [name for name, _ in sorted(self._special_tokens.items(), key=lambda item: item[1])]
        active = {name: self._special_tokens[name] for name, ok in zip(names, allowed) if ok}
        results = []
        for text in texts:
            pieces: list[str] = []
            layout: list[int | None] = []
            for segment, special in split_at_specials(_bpe.utf8_safe(text), active):
                if special is not None:
                    layout.append(special)
                    continue
                found = self._pre.split(segment)
                pieces.extend(found)
                layout.extend([None] * len(found))
            encoded = iter(self._encoder.encode_batch(pieces, [], _bpe.UNKNOWN_ERROR, 0, threads))
            ids: list[int] = []
            for item in layout:
                if item is None:
                    ids.extend(next(encoded))
                else:
                    ids.append(item)
            results.append(ids)
        return results


def _byte_fallback_ids(mode: str, byte_fallback: Sequence[int] | None) -> list[int] | None:
    if byte_fallback is None:
        return None
    if mode != "words":
        raise ConfigError("byte_fallback is for words mode; bytes mode covers every byte already")
    ids = [int(token_id) for token_id in byte_fallback]
    if len(ids) != 256:
        raise DataError(f"byte fallback needs the ids of all 256 byte values, got {len(ids)}")
    return ids


def _unpickle(state: dict[str, Any]) -> BPETokenizer:
    packed = np.frombuffer(state.pop("merges"), dtype=np.uint32).reshape(-1, 3).tolist()
    merges = [(a, b, t) for a, b, t in packed]
    return BPETokenizer(merges=merges, **state)


def _as_str_list(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("expected a sequence of str, got one str (wrap it in a list)")
    return texts if isinstance(texts, list) else list(texts)


def _thread_count(num_threads: int | None, jobs: int) -> int:
    if num_threads is None:
        num_threads = os.cpu_count() or 1
    if num_threads < 1:
        raise ConfigError(f"num_threads must be >= 1, got {num_threads}")
    return max(1, min(num_threads, jobs))


# Encoder builds still running. A fork must not copy one half done (the child has no thread to
# finish it), so a fork waits for them first.
_PENDING_BUILDS: set[Future[None]] = set()


def _finish_pending_builds() -> None:
    wait(list(_PENDING_BUILDS))


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(before=_finish_pending_builds)


def _add_bytes_rules(encoder: Any, targets: list[int]) -> None:
    """The last part of a bytes-mode encoder: its merge rules, then its index of whole tokens."""
    encoder.add_bytes_rules(targets)
    encoder.index_whole_tokens()
