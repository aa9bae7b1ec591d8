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


@pytest.fixture(scope="module")
def neox_dir(tmp_path_factory, hf_tokenizer):
    """A GPT-NeoX as transformers 5 saves it: the rotary settings in ``rope_parameters``."""
    directory = tmp_path_factory.mktemp("neox")
    save_transformers_model(directory, tokenizer=hf_tokenizer, model_type="gpt_neox")
    return directory


def edit_rope(directory: Path, **fields) -> None:
    rope = json.loads((directory / "config.json").read_text())["rope_parameters"]
    edit_config(directory, rope_parameters={**rope, **fields})


def legacy_rotary(directory: Path, **fields) -> None:
    """The config as transformers 4 (and tinygpt's export) writes it: rotary_pct, rotary_emb_base."""
    config = json.loads((directory / "config.json").read_text())
    del config["rope_parameters"]
    (directory / "config.json").write_text(json.dumps({**config, **fields}))


NEOX_CASES = [
    pytest.param(
        lambda d: edit_config(d, use_parallel_residual=True),
        "use_parallel_residual=True is not supported by tinygpt (only false",
        id="parallel-residual",
    ),
    pytest.param(
        lambda d: (d / "config.json").write_text(json.dumps({"model_type": "gpt_neox", "rotary_pct": 1.0})),
        "use_parallel_residual (absent, which transformers reads as true) is not supported",
        id="parallel-residual-by-default",
    ),
    pytest.param(
        lambda d: edit_rope(d, partial_rotary_factor=0.25),
        "rope_parameters.partial_rotary_factor=0.25 is not supported by tinygpt (only 1.0",
        id="partial-rotary",
    ),
    pytest.param(
        lambda d: legacy_rotary(d, rotary_pct=0.25), "rotary_pct=0.25 is not supported", id="partial-rotary-legacy"
    ),
    pytest.param(
        legacy_rotary,
        "rotary_pct (absent, which transformers reads as 0.25) is not supported",
        id="partial-rotary-by-default",
    ),
    pytest.param(
        lambda d: edit_rope(d, rope_theta=500.0),
        "rope_parameters.rope_theta=500.0 is not supported by tinygpt (only 10000.0",
        id="rope-base",
    ),
    pytest.param(
        lambda d: legacy_rotary(d, rotary_pct=1.0, rotary_emb_base=500),
        "rotary_emb_base=500 is not supported",
        id="rope-base-legacy",
    ),
    pytest.param(
        lambda d: edit_rope(d, rope_type="linear", factor=2.0),
        "rope_parameters.rope_type 'linear' is not supported",
        id="rope-scaling",
    ),
    pytest.param(
        lambda d: edit_config(d, attention_bias=False), "attention_bias=False is not supported", id="attention-bias"
    ),
]


@pytest.mark.parametrize("damage,message", NEOX_CASES)
def test_gpt_neox_that_tinygpt_does_not_compute_is_refused_by_field(tmp_path, neox_dir, capsys, damage, message):
    """Pythia's parallel residual and quarter-head rotary, another rope base or a scaled rope would
    give other numbers: each is refused, naming the field and what tinygpt supports."""
    directory = tmp_path / "model"
    shutil.copytree(neox_dir, directory)
    damage(directory)
    assert main(["generate", str(directory), "--input", "Once", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert message in err and str(directory / "config.json") in err
    assert err.count("\n") == 1


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
