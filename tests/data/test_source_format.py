"""Any file name reads as a corpus when its format is named (format= / --format); an unknown
suffix without it is an error that names --format."""

from __future__ import annotations

import json

import pytest

from tinygpt import BPETokenizer
from tinygpt.cli import main
from tinygpt.data.sources import open_corpus
from tinygpt.errors import DataError

STORIES = ["Once upon a time there was a cat.", "The dog ran home.\nThe end."]


def write_text(path, stories=STORIES):
    path.write_text("\n<|endoftext|>\n".join(stories) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["corpus.en", "book.md", "data.text", "noextension"])
def test_text_format_reads_any_file_name(tmp_path, name):
    path = write_text(tmp_path / name)
    assert list(open_corpus(path, format="text")) == STORIES
    assert list(open_corpus(path, format="txt")) == STORIES


def test_unknown_suffix_without_format_names_the_flag(tmp_path):
    path = write_text(tmp_path / "corpus.en")
    with pytest.raises(DataError, match=r"corpus\.en: unsupported file type '\.en'.*--format text"):
        open_corpus(path)


def test_named_format_overrides_the_suffix(tmp_path):
    path = tmp_path / "records.log"
    path.write_text("".join(json.dumps({"text": s}) + "\n" for s in STORIES), encoding="utf-8")
    assert list(open_corpus(path, format="jsonl")) == STORIES


def test_directory_with_format_reads_every_file(tmp_path):
    write_text(tmp_path / "a.en", STORIES[:1])
    write_text(tmp_path / "b.de", STORIES[1:])
    (tmp_path / ".hidden").write_text("not read")
    assert list(open_corpus(tmp_path, format="text")) == STORIES
    with pytest.raises(DataError, match="no .parquet, .txt, .jsonl files"):
        open_corpus(tmp_path)


def test_unknown_format_is_an_error(tmp_path):
    with pytest.raises(DataError, match="unknown format 'csv'"):
        open_corpus(write_text(tmp_path / "x.txt"), format="csv")


def test_training_reads_any_file_name_as_text(tmp_path):
    path = write_text(tmp_path / "corpus.en", STORIES * 5)
    from_file = BPETokenizer.train(path, 280, format="text", show_progress=False)
    assert from_file == BPETokenizer.train(STORIES * 5, 280, show_progress=False)


def test_tokenize_cli_format_flag(tmp_path, capsys):
    path = write_text(tmp_path / "book.md", STORIES * 5)
    assert (
        main(
            [
                "tokenize",
                "--data",
                str(path),
                "--format",
                "text",
                "--vocab-size",
                "280",
                "--out",
                str(tmp_path / "out"),
                "--no-progress",
            ]
        )
        == 0
    )
    assert "10 documents" in capsys.readouterr().out
    assert (
        main(["tokenize", "--data", str(path), "--vocab-size", "280", "--out", str(tmp_path / "o2"), "--no-progress"])
        == 2
    )
    assert "--format text" in capsys.readouterr().err
