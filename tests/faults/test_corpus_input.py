"""Corpus input that used to be silently wrong or misreported: nulls, byte-order marks,
unreadable or misplaced directories, empty corpora, impossible vocabulary sizes, and custom
patterns that do not match every character."""

from __future__ import annotations

import json
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tinygpt.cli import main
from tinygpt.data import tokenize_corpus
from tinygpt.data.sources import open_corpus
from tinygpt.errors import DataError
from tinygpt.tokenizer import BPETokenizer

STORIES = ["Once upon a time, the cat sat.", "The end."]


def test_null_parquet_rows_are_refused_naming_the_row(tmp_path):
    path = tmp_path / "s.parquet"
    pq.write_table(pa.table({"text": ["a", "b", None, "d"]}), path)
    with pytest.raises(DataError, match=r"s.parquet: row 2 of column 'text' is null"):
        list(open_corpus(path))


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("bom.txt", b"\xef\xbb\xbfHello\n<|endoftext|>\nWorld\n", ["Hello", "World"]),
        ("bom_first.txt", b"\xef\xbb\xbf<|endoftext|>\nHello\n", ["Hello"]),
        ("bom.jsonl", b"\xef\xbb\xbf" + json.dumps({"text": "Hello"}).encode() + b"\n", ["Hello"]),
    ],
)
def test_a_utf8_byte_order_mark_is_not_text(tmp_path, name, content, expected):
    (tmp_path / name).write_bytes(content)
    assert list(open_corpus(tmp_path / name)) == expected


def test_a_shard_directory_is_not_reported_as_an_empty_corpus(tmp_path):
    (tmp_path / "train_000000.bin").write_bytes(b"\0" * 1024)
    with pytest.raises(DataError, match="holds token shards .* but no manifest.json"):
        open_corpus(tmp_path)
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(DataError, match=r"holds token shards \(a `tinygpt tokenize` output\), not a corpus"):
        open_corpus(tmp_path)


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="permissions are not enforced for root (or on Windows)"
)
def test_an_unreadable_subdirectory_is_an_error_not_skipped(tmp_path):
    (tmp_path / "a.txt").write_text("first")
    hidden = tmp_path / "more"
    hidden.mkdir()
    (hidden / "b.txt").write_text("second")
    hidden.chmod(0)
    try:
        with pytest.raises(DataError, match="more: cannot read this directory of the corpus"):
            open_corpus(tmp_path)
    finally:
        hidden.chmod(0o755)


def test_an_unlistable_subdirectory_is_an_error_not_skipped(tmp_path, monkeypatch):
    """The same through os.walk's error callback, for machines where chmod cannot hide it."""
    (tmp_path / "a.txt").write_text("first")
    real_scandir = os.scandir

    def scandir(path="."):
        if str(path).endswith("more"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    (tmp_path / "more").mkdir()
    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(DataError, match="more: cannot read this directory of the corpus"):
        open_corpus(tmp_path)


def test_an_empty_corpus_is_refused_and_leaves_nothing(tmp_path, capsys):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("")
    status = main(
        [
            "tokenize",
            "--data",
            str(tmp_path / "corpus"),
            "--vocab-size",
            "300",
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
        ]
    )
    assert status == 2 and "no text to tokenize" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_failed_tokenize_leaves_no_tokenizer_behind(tmp_path, capsys):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("hello world")
    (tmp_path / "corpus" / "b.txt").write_bytes(b"bad \xff byte")
    tokenizer = BPETokenizer.train(STORIES, 300, show_progress=False)
    tokenizer.save(tmp_path / "tok.ron")
    status = main(
        [
            "tokenize",
            "--data",
            str(tmp_path / "corpus"),
            "--tokenizer",
            str(tmp_path / "tok.ron"),
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
        ]
    )
    assert status == 2 and "invalid UTF-8" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_tokenize_into_an_existing_file_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "out").write_text("mine")
    tokenizer = BPETokenizer.train(STORIES, 300, show_progress=False)
    with pytest.raises(DataError, match="exists and is not a directory"):
        tokenize_corpus(STORIES and "embedded", tokenizer, tmp_path / "out", show_progress=False)
    assert (tmp_path / "out").read_text() == "mine"


def test_an_impossible_vocabulary_size_is_reported(tmp_path, capsys):
    (tmp_path / "tiny.txt").write_text("ab ab ab")
    status = main(
        [
            "tokenize",
            "--data",
            str(tmp_path / "tiny.txt"),
            "--vocab-size",
            "10000000",
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert status == 0
    assert "runs out of pairs to merge at" in err and "not --vocab-size 10,000,000" in err


def test_a_custom_pattern_that_skips_characters_keeps_the_text():
    """pattern='[a-z]+' used to turn 'Once upon a time, the cat' into 'nceuponatimethecat'."""
    tokenizer = BPETokenizer.train(STORIES * 5, 300, pattern="[a-z]+", show_progress=False)
    for text in ("Once upon a time, the cat", "ÉTÉ 2024!", " "):
        assert tokenizer.decode(tokenizer.encode(text)) == text
