"""`tinygpt quickstart` runs the whole pipeline offline and leaves a complete run directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tinygpt.run import load_run


def test_quickstart_end_to_end_leaves_a_complete_run(tmp_path: Path) -> None:
    out = tmp_path / "qs"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tinygpt",
            "quickstart",
            "--out",
            str(out),
            "--train-seconds",
            "4",
            "--vocab-size",
            "400",
            "--prompt",
            "Once upon a time",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    # Each stage left its artefact: tokenizer, shards with a manifest, a loadable checkpoint.
    assert (out / "tokenizer.ron").is_file()
    manifest = json.loads((out / "shards" / "manifest.json").read_text())
    assert manifest["vocab_size"] == 400
    model, tokenizer = load_run(out / "run", checkpoint="last", device="cpu")
    assert model.token_embedding.num_embeddings == tokenizer.vocab_size == 400

    # The story starts from the prompt and the user is told how to continue.
    assert "Once upon a time" in result.stdout
    for follow_up in ("tinygpt generate", "tinygpt repl", "tinygpt train --resume"):
        assert follow_up in result.stdout
