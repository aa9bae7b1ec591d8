"""--on-unknown on every command that encodes text (tokenize, eval, generate, repl): a closed
words-mode alphabet meets characters it never saw; the error names the flag, and eval counts
what it skipped or replaced and scores bits per byte over the bytes it encoded."""

from __future__ import annotations

import io
import json
import sys

import pytest

from tests.generate.generation_run import STORIES, make_generation_run, one_cpu_thread  # noqa: F401
from tinygpt.cli import main
from tinygpt.run.layout import RunLayout
from tinygpt.tokenizer import BPETokenizer
from tinygpt.train.config import TrainConfig

UNSEEN = "˜"  # U+02DC, found in real TinyStories validation text
NEW_STORIES = [f"{STORIES[0]} {UNSEEN}{UNSEEN}", STORIES[1], f"{UNSEEN} {STORIES[2]}"]


@pytest.fixture(scope="module")
def words_run(tmp_path_factory):
    run = make_generation_run(tmp_path_factory.mktemp("on_unknown") / "run", mode="words")
    TrainConfig().save(RunLayout.of(run).train_config)
    return run


@pytest.fixture
def new_corpus(tmp_path):
    path = tmp_path / "new.jsonl"
    path.write_text("".join(json.dumps({"text": story}) + "\n" for story in NEW_STORIES), encoding="utf-8")
    return path


def test_eval_error_names_the_flag(words_run, new_corpus, capsys):
    assert main(["eval", str(words_run), "--data", str(new_corpus), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "U+02DC" in err and "--on-unknown" in err


def test_eval_counts_skipped_characters_and_scores_the_bytes_encoded(words_run, new_corpus, capsys):
    assert (
        main(["eval", str(words_run), "--data", str(new_corpus), "--device", "cpu", "--on-unknown", "skip", "--json"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    read = sum(len(s.encode()) for s in NEW_STORIES)
    assert result["unknown_characters"] == 3 and result["unknown_bytes"] == 6
    assert result["unknown_policy"] == "skip" and result["text_bytes"] == read - 6
    tok = BPETokenizer.load(RunLayout.of(words_run).tokenizer)
    encoded = [tok.encode(s, on_unknown="skip") for s in NEW_STORIES]
    assert result["tokens"] == sum(len(ids) - 1 for ids in encoded)  # no end-of-text: n - 1 targets per story
    assert result["bits_per_byte"] == pytest.approx(result["tokens"] * result["loss"] / 0.6931471805599453 / (read - 6))


def test_eval_replacement_character_is_counted_in_the_bytes_scored(words_run, new_corpus, capsys):
    assert main(["eval", str(words_run), "--data", str(new_corpus), "--device", "cpu", "--on-unknown", " "]) == 0
    out = capsys.readouterr().out
    read = sum(len(s.encode()) for s in NEW_STORIES)
    assert f"({read - 6 + 3:,} bytes of text scored)" in out
    assert "3 unknown characters (6 bytes), replaced by ' '" in out


def test_generate_and_repl_take_the_flag(words_run, capsys, monkeypatch):
    prompt = f"Once upon a time {UNSEEN}"
    assert main(["generate", str(words_run), "--input", prompt, "--token-count", "3", "--device", "cpu"]) == 2
    assert "--on-unknown" in capsys.readouterr().err
    assert (
        main(
            [
                "generate",
                str(words_run),
                "--input",
                prompt,
                "--token-count",
                "3",
                "--device",
                "cpu",
                "--on-unknown",
                "skip",
                "--seed",
                "1",
            ]
        )
        == 0
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"/tokenize a{UNSEEN}b\n"))
    assert main(["repl", str(words_run), "--device", "cpu", "--on-unknown", "skip"]) == 0
    assert "2 tokens" in capsys.readouterr().out


def test_tokenize_takes_the_flag(new_corpus, tmp_path, capsys):
    tok = tmp_path / "words.ron"
    BPETokenizer.train(STORIES, 90, mode="words", show_progress=False).save(tok)
    args = ["tokenize", "--data", str(new_corpus), "--tokenizer", str(tok), "--no-progress", "--val-fraction", "0"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 2
    assert "--on-unknown" in capsys.readouterr().err
    assert not (tmp_path / "a" / "manifest.json").exists()
    assert main([*args, "--out", str(tmp_path / "b"), "--on-unknown", "skip"]) == 0
    out = capsys.readouterr().out
    assert "3 documents" in out and "3 unknown characters (6 bytes), skipped" in out


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_tokenize_records_the_bytes_it_encoded_as_eval_scores_them(suffix, new_corpus, tmp_path, capsys):
    """Shards' text bytes (the training's bits per byte) count the text as encoded, as eval
    does; a resume with another policy is refused, since it would mix two encodings."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    corpus = new_corpus
    if suffix == ".parquet":
        corpus = tmp_path / "new.parquet"
        pq.write_table(pa.table({"text": NEW_STORIES}), corpus)
    tok = tmp_path / "words.ron"
    BPETokenizer.train(STORIES, 90, mode="words", show_progress=False).save(tok)
    args = ["tokenize", "--data", str(corpus), "--tokenizer", str(tok), "--no-progress", "--val-fraction", "0"]
    assert main([*args, "--out", str(tmp_path / "out"), "--on-unknown", " "]) == 0
    assert "3 unknown characters (6 bytes), replaced by ' '" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    read = sum(len(s.encode()) for s in NEW_STORIES)
    assert manifest["splits"]["train"]["text_bytes"] == read - 6 + 3
    assert manifest["job"]["on_unknown"] == " "
    assert main([*args, "--out", str(tmp_path / "out"), "--on-unknown", "skip"]) == 2
    assert "on_unknown" in capsys.readouterr().err


def test_bad_replacement_is_a_one_line_error(words_run, new_corpus, capsys):
    assert main(["eval", str(words_run), "--data", str(new_corpus), "--device", "cpu", "--on-unknown", "☃"]) == 2
    assert "not in the tokenizer's alphabet" in capsys.readouterr().err
