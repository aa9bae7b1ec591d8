"""Which model arguments name a Hugging Face model, and where its files are (torch-free, so the
CLI can decide without importing torch).

``hf:owner/name`` is downloaded once through huggingface_hub (the ``hub`` extra) into its cache
and read from there afterwards, also offline.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from tinygpt.errors import ConfigError, DataError
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
_REPO = re.compile(r"[\w.-]+/[\w.-]+")
# What loading needs: config, safetensors weights (one file or shards) and tokenizer files.
_FILES = [CONFIG_FILE, GENERATION_CONFIG_FILE, WEIGHTS_FILE, WEIGHTS_INDEX_FILE, WEIGHTS_SHARDS,
          TOKENIZER_FILE, GPT2_VOCAB_FILE, GPT2_MERGES_FILE]


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
    repo_id = model[len(HF_PREFIX):]
    if not _REPO.fullmatch(repo_id):
        raise ConfigError(f"{model}: expected hf:owner/name, e.g. hf:openai-community/gpt2")
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ConfigError(
            f"{model} needs huggingface_hub, which is not installed: pip install 'tinygpt[hub]', "
            "or pass a local directory written by transformers' save_pretrained"
        ) from None
    try:
        return Path(snapshot_download(repo_id=repo_id, allow_patterns=_FILES))
    # The hub client raises many unrelated types for "no network" and "no such repo"
    # (httpx errors, HfHubHTTPError, LocalEntryNotFoundError); all mean the same here.
    except Exception as error:
        raise DataError(
            f"{model}: could not download the model (offline, or no such model repository, and no "
            f"cached copy): {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        ) from error


def check_single_checkpoint(model: str, checkpoint: str) -> None:
    """A transformers model has one set of weights: only the default checkpoint names make sense."""
    if checkpoint not in ("best", "last"):
        raise ConfigError(f"{model} is a transformers model with one set of weights; --checkpoint {checkpoint!r} "
                          "applies to tinygpt runs only")
