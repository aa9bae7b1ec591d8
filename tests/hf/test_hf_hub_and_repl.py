"""hf:owner/name served from huggingface_hub's cache, and the REPL saying what it loaded."""

from __future__ import annotations

import io
import shutil
import sys

import pytest

from tests.hf.hf_models import save_transformers_model
from tinygpt.cli import main
from tinygpt.hf.source import hf_directory

hub = pytest.importorskip("huggingface_hub", reason="huggingface_hub (hub extra) serves hf:owner/name")
pytest.importorskip("transformers", reason="transformers (dev extra) is the oracle")

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory, hf_tokenizer):
    directory = tmp_path_factory.mktemp("saved")
    save_transformers_model(directory, tokenizer=hf_tokenizer)
    return directory


def test_a_cached_hub_model_loads_offline(saved_model, tmp_path, monkeypatch, capsys):
    """Once downloaded, hf:owner/name is read from the cache with the network off."""
    snapshot = tmp_path / "hub" / "models--someone--story-gpt2" / "snapshots" / COMMIT
    shutil.copytree(saved_model, snapshot)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text(COMMIT)
    monkeypatch.setattr(hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(hub.constants, "HF_HUB_OFFLINE", True)
    hf_directory.cache_clear()
    try:
        assert (
            main(
                [
                    "generate",
                    "hf:someone/story-gpt2",
                    "--input",
                    "Once",
                    "--greedy",
                    "--token-count",
                    "5",
                    "--device",
                    "cpu",
                ]
            )
            == 0
        )
    finally:
        hf_directory.cache_clear()
    captured = capsys.readouterr()
    assert captured.out.startswith("Once")
    assert f"hf:someone/story-gpt2 (transformers GPT-2 from {snapshot})" in captured.err


def test_repl_info_says_what_was_loaded(saved_model, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("/info\n"))
    assert main(["repl", str(saved_model), "--device", "cpu"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the table wraps to the terminal width
    assert f"{saved_model} (transformers GPT-2)" in out and "gelu_new" in out
