"""The embedded default corpus: ``tinygpt quickstart`` trains on it with no network, so it must
ship inside the installed package and be a well-formed, original TinyStories-style text file."""

from __future__ import annotations

import importlib.resources
import string
from pathlib import Path

import pytest

SEPARATOR = "<|endoftext|>"
# Plain ASCII text only: letters, digits, straight quotes and ordinary punctuation, one
# paragraph per line. Curly quotes or other non-ASCII characters would bloat a char-level
# vocabulary and differ from the reference dataset's register.
ALLOWED_CHARS = frozenset(string.ascii_letters + string.digits + " .,!?'\"-:;()\n")
MIN_STORIES = 100
MIN_BYTES, MAX_BYTES = 50_000, 150_000


def split_stories(text: str) -> list[str]:
    """Stories as the reference file lays them out: separated by a line holding only the
    separator, with no separator after the last story."""
    return text.removesuffix("\n").split(f"\n{SEPARATOR}\n")


@pytest.fixture(scope="module")
def corpus_bytes() -> bytes:
    resource = importlib.resources.files("tinygpt") / "assets" / "stories.txt"
    assert resource.is_file(), "stories.txt is not shipped inside the tinygpt package"
    return resource.read_bytes()


@pytest.fixture(scope="module")
def stories(corpus_bytes: bytes) -> list[str]:
    return split_stories(corpus_bytes.decode("utf-8"))


def test_corpus_is_ascii_text_of_the_documented_size(corpus_bytes: bytes, stories: list[str]) -> None:
    """Quickstart's run time and the README's figures assume a corpus of roughly 50-150 KB."""
    assert MIN_BYTES <= len(corpus_bytes) <= MAX_BYTES
    stray = sorted(set("".join(stories)) - ALLOWED_CHARS)
    assert not stray, f"unexpected characters in stories.txt: {stray!r}"


def test_corpus_layout_matches_the_reference_format(corpus_bytes: bytes) -> None:
    """Readers split on separator lines, so the file must follow the reference layout exactly."""
    text = corpus_bytes.decode("utf-8")
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert not text.rstrip("\n").endswith(SEPARATOR), "no separator after the last story"
    assert not text.startswith(SEPARATOR)
    for number, line in enumerate(text.splitlines(), start=1):
        assert line.strip(), f"blank line {number} inside a story"
        assert line == line.strip(), f"line {number} has leading or trailing spaces"
        assert SEPARATOR not in line or line == SEPARATOR, f"separator mixed into line {number}"


def test_corpus_has_enough_distinct_nonempty_stories(stories: list[str]) -> None:
    """Each story is a training document; empty or repeated ones would skew the tiny corpus."""
    assert len(stories) >= MIN_STORIES
    assert all(story.strip() for story in stories)
    assert len(set(stories)) == len(stories), "duplicate stories in stories.txt"


def test_corpus_stories_are_not_copied_from_the_reference_dataset(stories: list[str], tinystories_txt: Path) -> None:
    """The corpus is written for this project; no story may be lifted from TinyStories."""
    reference_text = tinystories_txt.read_text(encoding="utf-8")
    copied = [story[:60] for story in stories if story in reference_text]
    assert not copied, f"stories found verbatim in the reference dataset: {copied}"
