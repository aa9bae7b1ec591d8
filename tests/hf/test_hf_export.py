"""Export: a tinygpt run becomes a transformers directory that transformers itself loads, with
the same logits and, through tokenizer.json, the same token ids on a real corpus."""

from __future__ import annotations

import json

import pytest
import torch

from tinygpt.cli import main
from tinygpt.data.sources import open_corpus
from tinygpt.run.load import load_run
from tinygpt.tokenizer import BPETokenizer

pytest.importorskip("transformers", reason="transformers (dev extra) is the oracle")

# words: gpt-rs's original model (ReLU, untied head, biases); bytes: GPT-2's (gelu_new, tied) minus biases;
# the rotary ones export as GPT-NeoX: budget mode's model (exact GELU, tied, biases), and one with an
# untied head and no biases.
WORDS = ["--mode", "words", "--vocab-size", "300"]
BYTES = ["--mode", "bytes", "--vocab-size", "400"]
RUNS = {"words": WORDS, "bytes": BYTES, "rotary-words": WORDS, "rotary-bytes": BYTES}
MODEL_FLAGS = {
    "words": ["--activation", "relu", "--no-tie-weights", "--bias"],
    "bytes": ["--activation", "gelu_new", "--tie-weights", "--no-bias"],
    "rotary-words": ["--positions", "rotary", "--activation", "gelu", "--tie-weights", "--bias"],
    "rotary-bytes": ["--positions", "rotary", "--activation", "relu", "--no-tie-weights", "--no-bias"],
}
# What transformers loads each as, by the model's positions.
TRANSFORMERS_CLASS = {"learned": "GPT2LMHeadModel", "rotary": "GPTNeoXForCausalLM"}


def stories() -> list[str]:
    """The real TinyStories shipped with the package (the `embedded` corpus)."""
    return [text for batch in open_corpus("embedded").iter_batches(256) for text in batch]


@pytest.fixture(scope="module", params=sorted(RUNS))
def exported(request, tmp_path_factory):
    """(run, exported directory, mode): a short real training run, exported."""
    mode = request.param
    root = tmp_path_factory.mktemp(f"export-{mode}")
    assert main(["tokenize", "--data", "embedded", *RUNS[mode], "--out", str(root / "shards"), "--no-progress"]) == 0
    assert (
        main(
            [
                "train",
                "--data",
                str(root / "shards"),
                "--out",
                str(root / "run"),
                "--device",
                "cpu",
                "--no-progress",
                "--embedding-size",
                "32",
                "--block-count",
                "2",
                "--head-count",
                "2",
                "--context-length",
                "32",
                "--training-iterations",
                "20",
                "--evaluation-interval",
                "10",
                "--evaluation-iterations",
                "2",
                "--contexts-per-batch",
                "8",
                *MODEL_FLAGS[mode],
            ]
        )
        == 0
    )
    assert main(["export", str(root / "run"), "--out", str(root / "hf")]) == 0
    return root / "run", root / "hf", mode


def test_transformers_loads_it_with_the_same_logits(exported):
    from transformers import AutoModelForCausalLM

    run, directory, _ = exported
    ours, tokenizer = load_run(run, device="cpu")
    theirs = AutoModelForCausalLM.from_pretrained(directory).eval()
    assert type(theirs).__name__ == TRANSFORMERS_CLASS[ours.config.positions]
    ids = torch.tensor([tokenizer.encode(stories()[0])[:32]])
    with torch.no_grad():
        assert torch.allclose(theirs(ids).logits, ours(ids), atol=1e-4, rtol=0)
        greedy = theirs.generate(ids[:, :4], max_new_tokens=20, min_new_tokens=20, do_sample=False)
    assert greedy.tolist() == ours.generate(ids[:, :4], 20, greedy=True).tolist()


def test_exported_tokenizer_gives_tinygpt_ids_on_every_story(exported):
    from transformers import AutoTokenizer

    run, directory, _ = exported
    _, tokenizer = load_run(run, device="cpu")
    theirs = AutoTokenizer.from_pretrained(directory)
    texts = stories()
    expected = tokenizer.encode_batch(texts)
    assert theirs(texts, add_special_tokens=False)["input_ids"] == expected
    assert [theirs.decode(ids) for ids in expected[:20]] == texts[:20]
    assert theirs.eos_token_id == tokenizer.eot_id is not None


def test_export_then_import_gives_the_same_model(exported):
    run, directory, _ = exported
    original, tokenizer = load_run(run, device="cpu")
    imported, back = load_run(directory, device="cpu")
    assert back == tokenizer
    assert imported.config.tie_weights == original.config.tie_weights
    assert imported.config.positions == original.config.positions
    ids = torch.tensor([tokenizer.encode(stories()[1])[:32]])
    with torch.no_grad():
        assert torch.allclose(imported(ids), original(ids), atol=1e-5, rtol=0)


def test_card_and_generation_config_come_from_the_run(exported):
    run, directory, mode = exported
    card = (directory / "README.md").read_text(encoding="utf-8")
    held_out = [
        json.loads(line)
        for line in (run / "metrics.jsonl").read_text().splitlines()
        if json.loads(line)["kind"] == "held_out"
    ][-1]
    assert f"{held_out['loss']:.4f} nats per token" in card
    assert f"| held-out bits per byte | {held_out['bits_per_byte']:.4f} |" in card
    assert "| optimizer steps | 20 |" in card
    architecture = "tags: [tinygpt, gpt2]" if mode in ("words", "bytes") else "tags: [tinygpt, gpt_neox]"
    assert architecture in card
    generation = json.loads((directory / "generation_config.json").read_text())
    _, tokenizer = load_run(run, device="cpu")
    assert generation["temperature"] == 0.7 and generation["eos_token_id"] == tokenizer.eot_id


def test_tokenize_accepts_the_exported_tokenizer_json(exported, tmp_path):
    run, directory, _ = exported
    _, tokenizer = load_run(run, device="cpu")
    assert (
        main(
            [
                "tokenize",
                "--data",
                "embedded",
                "--tokenizer",
                str(directory / "tokenizer.json"),
                "--out",
                str(tmp_path / "shards"),
                "--no-progress",
            ]
        )
        == 0
    )
    assert BPETokenizer.load(tmp_path / "shards" / "tokenizer.ron") == tokenizer


def test_out_must_be_new_or_empty_and_nothing_is_written_on_error(exported, tmp_path, capsys):
    run, _, _ = exported
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    assert main(["export", str(run), "--out", str(tmp_path / "taken")]) == 2
    assert "already exists and is not an empty directory" in capsys.readouterr().err
    assert main(["export", str(run), "--out", str(tmp_path / "new"), "--checkpoint", "step_9"]) == 2
    assert "checkpoint 'step_9' not found" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]


def test_empty_out_directory_is_filled(exported, tmp_path):
    run, _, _ = exported
    (tmp_path / "empty").mkdir()
    assert main(["export", str(run), "--out", str(tmp_path / "empty")]) == 0
    assert (tmp_path / "empty" / "model.safetensors").is_file()


def test_card_of_an_earlier_checkpoint_says_why_it_has_no_bits_per_byte(exported, tmp_path):
    """The exact held-out pass scored the last step's weights; an earlier checkpoint's card does
    not borrow its figures, it names the step that has them."""
    run, _, _ = exported
    assert main(["export", str(run), "--checkpoint", "step_10", "--out", str(tmp_path / "hf")]) == 0
    card = (tmp_path / "hf" / "README.md").read_text(encoding="utf-8")
    meta = json.loads(next((run / "checkpoints").glob("*10/meta.json")).read_text())
    assert f"| held-out loss | {meta['val_loss']:.4f} nats per token |" in card
    assert (
        "| held-out bits per byte | not measured for these weights: the run's exact held-out pass "
        "scored step 20 (export `--checkpoint step_20` for its figures) |"
    ) in card


def test_generate_runs_the_export_and_names_its_architecture(exported, capsys):
    """The exported directory is a model for `tinygpt generate` too, with the run's greedy tokens."""
    run, directory, _ = exported
    argv = ["--input", "Once upon a time", "--greedy", "--token-count", "12", "--device", "cpu"]
    assert main(["generate", str(run), *argv]) == 0
    from_run = capsys.readouterr().out
    assert main(["generate", str(directory), *argv]) == 0
    captured = capsys.readouterr()
    assert captured.out == from_run
    original, _ = load_run(run, device="cpu")
    name = {"learned": "GPT-2", "rotary": "GPT-NeoX"}[original.config.positions]
    assert f"{directory} (transformers {name})" in captured.err
