"""Read GPT-2-style ``vocab.json`` + ``merges.txt`` (tokens spelled in the printable byte alphabet)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tinygpt.errors import DataError


def printable_byte_alphabet() -> dict[str, int]:
    """GPT-2's map from the printable stand-in characters back to the bytes they spell.

    Printable Latin-1 bytes stand for themselves; the others are shifted to U+0100 and up.
    """
    printable = [b for b in range(256) if chr(b).isprintable() and chr(b) != " "]
    mapping = {chr(b): b for b in printable}
    shifted = 0
    for b in range(256):
        if b not in mapping.values():
            mapping[chr(256 + shifted)] = b
            shifted += 1
    return mapping


def read_gpt2_vocab_merges(
    directory: str | os.PathLike[str],
) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """``(vocab, merges)`` from ``directory/vocab.json`` and ``directory/merges.txt``.

    The result feeds :meth:`BPETokenizer.from_vocab_merges`.
    """
    folder = Path(directory)
    alphabet = printable_byte_alphabet()

    def to_bytes(token: str, where: str) -> bytes:
        try:
            return bytes(alphabet[ch] for ch in token)
        except KeyError as exc:
            raise DataError(f"{where}: token {token!r} uses {exc.args[0]!r}, not a GPT-2 byte character") from None

    vocab_path, merges_path = folder / "vocab.json", folder / "merges.txt"
    try:
        raw_vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
        merge_lines = merges_path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read GPT-2 vocabulary files in {folder}: {exc}") from exc
    if not isinstance(raw_vocab, dict):
        raise DataError(f"{vocab_path}: expected a JSON object of token -> id")
    vocab: dict[int, bytes] = {}
    for token, token_id in raw_vocab.items():
        if not isinstance(token_id, int):
            raise DataError(f"{vocab_path}: id of {token!r} is not an integer")
        vocab[token_id] = to_bytes(token, str(vocab_path))
    merges: list[tuple[bytes, bytes]] = []
    for number, line in enumerate(merge_lines, start=1):
        if not line.strip() or line.startswith("#version"):
            continue
        parts = line.split(" ")
        if len(parts) != 2:
            raise DataError(f"{merges_path}:{number}: expected two tokens separated by a space")
        where = f"{merges_path}:{number}"
        merges.append((to_bytes(parts[0], where), to_bytes(parts[1], where)))
    return vocab, merges
