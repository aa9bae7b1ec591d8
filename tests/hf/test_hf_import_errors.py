"""Bad transformers directories: a one-line error naming the problem, exit status 2, nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.hf.hf_models import STORIES, save_transformers_model
from tinygpt.cli import main

pytest.importorskip("transformers", reason="transformers (dev extra) is the oracle")


@pytest.fixture(scope="module")
def good_dir(tmp_path_factory, hf_tokenizer):
    directory = tmp_path_factory.mktemp("good")
    save_transformers_model(directory, tokenizer=hf_tokenizer)
    return directory


def files_of(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def edit_config(directory: Path, **fields) -> None:
    path = directory / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **fields}))


def break_no_weights(directory: Path) -> None:
    (directory / "model.safetensors").unlink()


def break_pickle_only(directory: Path) -> None:
    (directory / "model.safetensors").rename(directory / "pytorch_model.bin")


def break_truncated(directory: Path) -> None:
    weights = directory / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1000])


def break_tokenizer_size(directory: Path) -> None:
    edit_config(directory, vocab_size=json.loads((directory / "config.json").read_text())["vocab_size"] + 8)


CASES = [
    pytest.param(break_no_weights, "has no weights: expected model.safetensors", id="no-weights"),
    pytest.param(break_pickle_only, "pytorch_model.bin (a pickle", id="pickle-only"),
    pytest.param(lambda d: edit_config(d, model_type="llama"), "model_type 'llama' is not supported", id="model-type"),
    pytest.param(
        lambda d: edit_config(d, scale_attn_by_inverse_layer_idx=True),
        "scale_attn_by_inverse_layer_idx=True is not supported",
        id="inverse-layer-idx",
    ),
    pytest.param(
        lambda d: edit_config(d, reorder_and_upcast_attn=True),
        "reorder_and_upcast_attn=True is not supported",
        id="reorder-and-upcast",
    ),
    pytest.param(
        lambda d: edit_config(d, activation_function="swish"),
        "activation_function 'swish' is not supported",
        id="activation",
    ),
    pytest.param(
        break_tokenizer_size, "the tokenizer has 320 tokens but the model's embedding has 328 rows", id="tokenizer-size"
    ),
    pytest.param(break_truncated, "not a readable safetensors file", id="truncated"),
    pytest.param(lambda d: (d / "tokenizer.json").unlink(), "has no tokenizer", id="no-tokenizer"),
    pytest.param(
        lambda d: (d / "config.json").write_text('{"model_type": '), "config.json:1:16: invalid JSON", id="config-json"
    ),
]


@pytest.mark.parametrize("command", ["generate", "eval"])
@pytest.mark.parametrize("damage,message", CASES)
def test_bad_directory_is_one_line_exit_2_nothing_written(tmp_path, good_dir, capsys, damage, message, command):
    directory = tmp_path / "model"
    shutil.copytree(good_dir, directory)
    damage(directory)
    before = files_of(tmp_path)
    argv = [command, str(directory), "--device", "cpu"]
    argv += ["--input", "Once"] if command == "generate" else ["--data", str(tmp_path / "missing.txt")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and str(directory) in err
    assert err.count("\n") == 1
    assert files_of(tmp_path) == before


def test_pickle_refusal_prints_the_conversion_command(tmp_path, good_dir, capsys):
    directory = tmp_path / "model"
    shutil.copytree(good_dir, directory)
    break_pickle_only(directory)
    assert main(["generate", str(directory), "--input", "Once"]) == 2
    assert "AutoModelForCausalLM" in capsys.readouterr().err


def test_hub_model_offline_without_cache_is_one_line(tmp_path, monkeypatch, capsys):
    pytest.importorskip("huggingface_hub")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert main(["generate", "hf:nobody/no-such-model-here", "--input", "Once"]) == 2
    err = capsys.readouterr().err
    assert "hf:nobody/no-such-model-here: could not download the model (offline" in err
    assert err.count("\n") == 1


def test_malformed_hub_name_is_refused(capsys):
    assert main(["generate", "hf:just-a-name", "--input", "Once"]) == 2
    assert "expected hf:owner/name" in capsys.readouterr().err


def test_checkpoint_names_apply_to_runs_only(good_dir, capsys):
    assert main(["generate", str(good_dir), "--input", "Once", "--checkpoint", "step_00000100"]) == 2
    assert "applies to tinygpt runs only" in capsys.readouterr().err


def test_cli_generate_and_eval_run_a_transformers_directory(good_dir, tmp_path, capsys):
    """generate prints the prompt and greedy continuation; eval reports loss and bits per byte."""
    assert (
        main(["generate", str(good_dir), "--input", "Once upon", "--greedy", "--token-count", "8", "--device", "cpu"])
        == 0
    )
    captured = capsys.readouterr()
    assert captured.out.startswith("Once upon") and "transformers GPT-2" in captured.err
    corpus = tmp_path / "stories.txt"
    corpus.write_text("\n".join(STORIES[:3]), encoding="utf-8")
    assert main(["eval", str(good_dir), "--data", str(corpus), "--json", "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["tokens"] > 0 and result["bits_per_byte"] > 0
