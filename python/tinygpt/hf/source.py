"""Which model arguments name a Hugging Face model, and where its files are (torch-free, so the
CLI can decide without importing torch).

``hf:owner/name`` is downloaded once through huggingface_hub (the ``hub`` extra) into its cache
and read from there afterwards, also offline.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from tinygpt.data.sources import hub_snapshot
from tinygpt.errors import ConfigError
from tinygpt.hf.files import (
    CONFIG_FILE,
    GENERATION_CONFIG_FILE,
    GPT2_MERGES_FILE,
    GPT2_VOCAB_FILE,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
    WEIGHTS_INDEX_FILE,
    WEIGHTS_SHARDS,
)

HF_PREFIX = "hf:"
RUN_INFO_FILE = "run.json"
# What loading needs: config, safetensors weights (one file or shards) and tokenizer files.
_FILES = [
    CONFIG_FILE,
    GENERATION_CONFIG_FILE,
    WEIGHTS_FILE,
    WEIGHTS_INDEX_FILE,
    WEIGHTS_SHARDS,
    TOKENIZER_FILE,
    GPT2_VOCAB_FILE,
    GPT2_MERGES_FILE,
]


def is_hf_model(model: str | os.PathLike[str]) -> bool:
    """``hf:owner/name``, or a directory with a transformers ``config.json`` and no tinygpt ``run.json``."""
    text = os.fspath(model)
    if text.startswith(HF_PREFIX):
        return True
    folder = Path(text)
    return (folder / CONFIG_FILE).is_file() and not (folder / RUN_INFO_FILE).is_file()


@functools.cache
def hf_directory(model: str) -> Path:
    """The local directory of ``model``: itself, or the hub cache's snapshot of ``hf:owner/name``."""
    if not model.startswith(HF_PREFIX):
        return Path(model)
    return hub_snapshot(
        model[len(HF_PREFIX) :],
        repo_type="model",
        allow_patterns=_FILES,
        example="openai-community/gpt2",
        local_hint="pass a local directory written by transformers' save_pretrained instead",
    )


def check_single_checkpoint(model: str, checkpoint: str) -> None:
    """A transformers model has one set of weights: only the default checkpoint names make sense."""
    if checkpoint not in ("best", "last"):
        raise ConfigError(
            f"{model} is a transformers model with one set of weights; --checkpoint {checkpoint!r} "
            "applies to tinygpt runs only"
        )
