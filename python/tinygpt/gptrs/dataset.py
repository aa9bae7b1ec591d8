"""gpt-rs dataset files: its words-mode tokenizer and its tokenized stories in one RON file.

gpt-rs writes ``dataset_<vocab>_<corpus>.ron`` as

``(char_to_id:{'a':0,…},id_to_char:{0:'a',…},mergings:[(from:(3,7),to:64),…],encoded_data:[[…],…])``

ids 0..A-1 are the alphabet's characters, merge ``i`` produces id ``A + i``, and every story
is a list of ids. Importing gives a :class:`~tinygpt.tokenizer.BPETokenizer` with exactly
these ids plus the stories; exporting writes a file gpt-rs reads, so a gpt-rs user can move
either way.

>>> from tinygpt import BPETokenizer
>>> words = BPETokenizer.train("stories.txt", 300, mode="words", special_tokens=(), show_progress=False)
>>> export_gptrs_dataset(words, ["Once upon a time there was a cat."], "dataset.ron")
1
>>> tokenizer, stories = import_gptrs_dataset("dataset.ron")
>>> stories
[[233, 244, 71, 200, 40, 204, 92, 71, 90, 109, 7]]
>>> tokenizer.decode(stories[0]), tokenizer == words
('Once upon a time there was a cat.', True)
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence, cast

from tinygpt import ron
from tinygpt.errors import DataError
from tinygpt.tokenizer.bpe import BPETokenizer

__all__ = ["GptrsDataset", "export_gptrs_dataset", "import_gptrs_dataset", "read_gptrs_dataset"]

FIELDS = ("char_to_id", "id_to_char", "mergings", "encoded_data")
_ENCODE_BATCH = 1024


@dataclass
class GptrsDataset:
    """The content of a gpt-rs dataset file, checked: ids ``0..len(alphabet)-1`` are
    ``alphabet``, merge ``i`` (a pair of ids) makes id ``len(alphabet) + i``."""

    alphabet: list[str]
    merges: list[tuple[int, int]]
    stories: list[list[int]]

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet) + len(self.merges)


def read_gptrs_dataset(path: str | os.PathLike[str]) -> GptrsDataset:
    """Parse and check a gpt-rs dataset file; DataError names the file and the bad entry."""
    path = Path(path)
    content = ron.load(path)
    if type(content) is not dict:
        raise DataError(f"{path}: not a gpt-rs dataset file: expected a struct ({', '.join(FIELDS)})")
    problems = []
    if missing := [field for field in FIELDS if field not in content]:
        problems.append(f"missing field(s) {', '.join(missing)}")
    if unknown := sorted(set(content) - set(FIELDS)):
        problems.append(f"unknown field(s) {', '.join(unknown)}")
    if problems:
        raise DataError(f"{path}: not a gpt-rs dataset file: {'; '.join(problems)}")
    alphabet = _alphabet(path, content["char_to_id"], content["id_to_char"])
    merges = _merges(path, content["mergings"], len(alphabet))
    stories = _stories(path, content["encoded_data"], len(alphabet) + len(merges))
    return GptrsDataset(alphabet, merges, stories)


def import_gptrs_dataset(
    path: str | os.PathLike[str], *, special_tokens: Sequence[str] = ()
) -> tuple[BPETokenizer, list[list[int]]]:
    """The tokenizer (words mode, gpt-rs's ids) and the encoded stories of a gpt-rs file.

    ``special_tokens`` are appended after gpt-rs's ids (e.g. ``("<|endoftext|>",)`` to mark
    document boundaries in shards); every other id stays as in the file.
    """
    dataset = read_gptrs_dataset(path)
    tokenizer = BPETokenizer.from_alphabet_merges(
        dataset.alphabet, dataset.merges, special_tokens=tuple(special_tokens)
    )
    return tokenizer, dataset.stories


def export_gptrs_dataset(
    tokenizer: BPETokenizer,
    stories: Iterable[str] | Iterable[Sequence[int]],
    path: str | os.PathLike[str],
    *,
    num_threads: int | None = None,
) -> int:
    """Write ``tokenizer`` and ``stories`` (texts, or id lists from this tokenizer) as a gpt-rs
    dataset file, atomically; returns the number of stories written.

    The tokenizer must be words mode. Its special tokens are left out (gpt-rs has none; they
    hold the last ids, so no other id moves), and a story may not contain one. Its
    ``do_not_merge`` characters are not stored either: gpt-rs's are fixed (``"`` and newline).
    """
    alphabet, merges = _gptrs_tables(tokenizer)
    vocab_size = len(alphabet) + len(merges)
    encoded = _encode_stories(tokenizer, stories, num_threads)
    _check_ids(encoded, vocab_size, "story", "(a special token, or ids from another tokenizer)")
    ron.dump(
        {
            "char_to_id": ron.RonMap({ron.Char(char): token for token, char in enumerate(alphabet)}),
            "id_to_char": ron.RonMap({token: ron.Char(char) for token, char in enumerate(alphabet)}),
            "mergings": [{"from": pair, "to": len(alphabet) + rank} for rank, pair in enumerate(merges)],
            "encoded_data": encoded,
        },
        path,
    )
    return len(encoded)


def _gptrs_tables(tokenizer: BPETokenizer) -> tuple[list[str], list[tuple[int, int]]]:
    """gpt-rs's view of a words-mode tokenizer: the alphabet in id order and the merges as id
    pairs, the ``to`` of merge ``i`` being ``len(alphabet) + i``."""
    if tokenizer.mode != "words":
        raise DataError(f"gpt-rs dataset files hold words-mode tokenizers; this one is {tokenizer.mode} mode")
    alphabet = tokenizer.alphabet
    merges = []
    for rank, (first, second, made) in enumerate(tokenizer.merge_ids):
        if made != len(alphabet) + rank:
            raise DataError(f"merge {rank} makes id {made}, but gpt-rs needs {len(alphabet) + rank}")
        merges.append((first, second))
    return alphabet, merges


def _alphabet(path: Path, char_to_id: Any, id_to_char: Any) -> list[str]:
    if not isinstance(char_to_id, dict) or not isinstance(id_to_char, dict):
        raise DataError(f"{path}: char_to_id and id_to_char must be maps {{'a': 0, ...}} / {{0: 'a', ...}}")
    size = len(id_to_char)
    alphabet = [id_to_char.get(token) for token in range(size)]
    for token, char in enumerate(alphabet):
        if not (isinstance(char, str) and len(char) == 1):
            found = "nothing" if char is None else repr(char)
            raise DataError(f"{path}: id_to_char must map ids 0..{size - 1} to characters; id {token} has {found}")
    if len(char_to_id) != size or any(char_to_id.get(char) != token for token, char in enumerate(alphabet)):
        raise DataError(f"{path}: char_to_id is not the inverse of id_to_char")
    return [str(char) for char in alphabet]


def _merges(path: Path, mergings: Any, alphabet_size: int) -> list[tuple[int, int]]:
    if not isinstance(mergings, list):
        raise DataError(f"{path}: mergings must be a list of (from: (a, b), to: id)")
    merges = []
    for rank, merging in enumerate(mergings):
        expected = alphabet_size + rank
        pair = merging.get("from") if isinstance(merging, dict) else None
        target = merging.get("to") if isinstance(merging, dict) else None
        if not (
            isinstance(pair, tuple)
            and len(pair) == 2
            and all(type(token) is int and 0 <= token < expected for token in pair)
        ):
            raise DataError(
                f"{path}: mergings[{rank}]: expected (from: (a, b), to: {expected}) with a, b < {expected}, found {merging!r}"
            )
        if target != expected:
            raise DataError(
                f"{path}: mergings[{rank}] makes id {target!r}; gpt-rs numbers merges after the "
                f"alphabet, so it must be {expected}"
            )
        merges.append(pair)
    return merges


def _stories(path: Path, encoded_data: Any, vocab_size: int) -> list[list[int]]:
    if not isinstance(encoded_data, list):
        raise DataError(f"{path}: encoded_data must be a list of lists of ids")
    for number, story in enumerate(encoded_data):
        if not isinstance(story, list) or not all(type(token) is int for token in story):
            raise DataError(f"{path}: encoded_data[{number}] is not a list of ids")
    _check_ids(encoded_data, vocab_size, f"{path}: encoded_data", "")
    return encoded_data


def _check_ids(stories: list[list[int]], vocab_size: int, where: str, hint: str) -> None:
    for number, story in enumerate(stories):
        if story and not 0 <= min(story) <= max(story) < vocab_size:
            bad = next(token for token in story if not 0 <= token < vocab_size)
            raise DataError(
                f"{where}[{number}]: id {bad} is outside gpt-rs's vocabulary of {vocab_size} ids {hint}".rstrip()
            )


def _encode_stories(
    tokenizer: BPETokenizer, stories: Iterable[str] | Iterable[Sequence[int]], num_threads: int | None
) -> list[list[int]]:
    """Id lists for ``stories``: encoded in batches when they are texts, copied when ids."""
    items = iter(stories)
    first = next(items, None)
    if first is None:
        return []
    items = itertools.chain([first], items)
    if isinstance(first, str):
        encoded: list[list[int]] = []
        while batch := list(itertools.islice(items, _ENCODE_BATCH)):
            texts = [text for text in batch if isinstance(text, str)]
            if len(texts) != len(batch):
                raise TypeError("stories must be all texts or all id sequences")
            encoded.extend(tokenizer.encode_batch(texts, num_threads=num_threads))
        return encoded
    return [[int(token) for token in cast(Sequence[int], story)] for story in items]
