"""`tinygpt tokenize`: the command line over tokenize_corpus, its summary, parts and errors."""

from __future__ import annotations

import pytest

from tinygpt import BPETokenizer
from tinygpt.cli import main
from tinygpt.data import TokenLoader, read_manifest
from tinygpt.data.sources import open_corpus


@pytest.fixture(scope="module")
def tokenizer_file(tinystories_txt, tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tok.ron"
    BPETokenizer.train(tinystories_txt, 300, show_progress=False).save(path)
    return path


def test_tokenize_prints_a_summary_and_shows_progress(tmp_path, tinystories_parquet, tokenizer_file, capsys):
    code = main(
        [
            "tokenize",
            "--data",
            str(tinystories_parquet),
            "--tokenizer",
            str(tokenizer_file),
            "--out",
            str(tmp_path),
            "--shard-tokens",
            "500000",
        ]
    )
    out, err = capsys.readouterr()
    documents = sum(1 for _ in open_corpus(tinystories_parquet))
    assert code == 0
    assert f"{documents:,} documents" in out and "bytes per token" in out and "MB/s" in out
    assert "docs/s" in err and "MB/s" in err, "the progress bar reports documents/s and MB/s"
    assert read_manifest(tmp_path).splits["val"].documents == documents - int(documents * 0.9)
    assert next(TokenLoader(tmp_path, 4, 32))[0].shape == (4, 32)


def test_an_empty_document_in_a_txt_corpus_is_counted_in_the_summary(tmp_path, tokenizer_file, capsys):
    corpus = tmp_path / "stories.txt"
    corpus.write_text("One story.\n<|endoftext|>\n<|endoftext|>\nAnother story.\n<|endoftext|>\n", encoding="utf-8")
    code = main(
        [
            "tokenize",
            "--data",
            str(corpus),
            "--tokenizer",
            str(tokenizer_file),
            "--out",
            str(tmp_path / "out"),
            "--val-fraction",
            "0",
            "--no-progress",
        ]
    )
    assert code == 0
    assert "skipped 1 empty document(s)" in capsys.readouterr().out
    manifest = read_manifest(tmp_path / "out")
    assert (manifest.split("train").documents, manifest.split("train").empty_documents) == (2, 1)


def test_vocab_size_trains_the_tokenizer_into_the_output(tmp_path, tinystories_txt, capsys):
    code = main(
        [
            "tokenize",
            "--data",
            str(tinystories_txt),
            "--vocab-size",
            "320",
            "--mode",
            "words",
            "--out",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert code == 0
    tokenizer = BPETokenizer.load(tmp_path / "tokenizer.ron")
    assert (tokenizer.vocab_size, tokenizer.mode) == (320, "words")
    assert read_manifest(tmp_path).tokenizer_fingerprint == tokenizer.fingerprint()
    assert capsys.readouterr().err == ""


def test_parts_then_merge(tmp_path, tinystories_txt, tokenizer_file, capsys):
    for part in ("1/2", "0/2"):
        assert (
            main(
                [
                    "tokenize",
                    "--data",
                    str(tinystories_txt),
                    "--tokenizer",
                    str(tokenizer_file),
                    "--out",
                    str(tmp_path),
                    "--part",
                    part,
                    "--no-progress",
                ]
            )
            == 0
        )
    assert main(["tokenize", "--merge", "--out", str(tmp_path)]) == 0
    assert "merged" in capsys.readouterr().out
    documents = sum(1 for _ in open_corpus(tinystories_txt))
    assert read_manifest(tmp_path).splits["train"].documents == int(documents * 0.9)
    assert (tmp_path / "manifest.json").is_file()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--out", "o"], "--data SRC is required"),
        (["--data", "x.txt", "--out", "o"], "pass --tokenizer TOK.ron, or --vocab-size N"),
        (["--data", "x.txt", "--vocab-size", "300", "--part", "0/2", "--out", "o"], "cannot be combined with --part"),
        (["--data", "embedded", "--tokenizer", "missing.ron", "--out", "o"], "missing.ron"),
        (["--merge", "--out", "o"], "no part manifests"),
    ],
)
def test_errors_are_one_line_messages(tmp_path, monkeypatch, capsys, arguments, message):
    monkeypatch.chdir(tmp_path)
    assert main(["tokenize", *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinygpt tokenize: error:") and message in err


def test_malformed_part_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        main(["tokenize", "--data", "x", "--tokenizer", "t", "--out", "o", "--part", "2/2"])
    assert "expected 0 <= I < N" in capsys.readouterr().err
