"""A tinygpt model and tokenizer as a transformers directory: GPT-2, or GPT-NeoX for rotary models.

``AutoModelForCausalLM.from_pretrained(DIR)`` and ``AutoTokenizer.from_pretrained(DIR)`` load it
with no custom code. Everything is written into a temporary directory beside ``DIR`` and renamed
into place at the end, so an interrupted export leaves nothing that looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tinygpt.atomic import atomic_write_text
from tinygpt.errors import ConfigError
from tinygpt.hf.architectures import hf_config_from_gpt
from tinygpt.hf.files import (
    CONFIG_FILE,
    GENERATION_CONFIG_FILE,
    MODEL_CARD_FILE,
    SPECIAL_TOKENS_MAP_FILE,
    TOKENIZER_CONFIG_FILE,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
)
from tinygpt.hf.weights import write_safetensors
from tinygpt.model.decoding import TokenSampler
from tinygpt.model.gpt import GPT
from tinygpt.tokenizer import BPETokenizer


def check_export_target(target: Path) -> None:
    """An export creates its directory: it must not exist yet, or be empty."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigError(f"{target} already exists and is not an empty directory; choose another --out")


def export_model(model: GPT, tokenizer: BPETokenizer, target: Path, *, card: str) -> list[str]:
    """Write ``target`` (see module doc); returns the names of the files written."""
    check_export_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        write_transformers_directory(model, tokenizer, staging, card=card)
        if target.is_dir():
            target.rmdir()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(path.name for path in target.iterdir())


def write_transformers_directory(model: GPT, tokenizer: BPETokenizer, directory: Path, *, card: str) -> None:
    """config.json, model.safetensors, generation and tokenizer files, and the model card."""
    eot = tokenizer.eot_id
    _write_json(directory / CONFIG_FILE, hf_config_from_gpt(model.config, eot_id=eot))
    write_safetensors(model, directory / WEIGHTS_FILE)
    _write_json(directory / GENERATION_CONFIG_FILE, generation_config(eot))
    atomic_write_text(directory / TOKENIZER_FILE, tokenizer.to_hf_json())
    specials = special_tokens_map(tokenizer)
    _write_json(directory / SPECIAL_TOKENS_MAP_FILE, specials)
    _write_json(
        directory / TOKENIZER_CONFIG_FILE,
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": model.config.context_length,
            "clean_up_tokenization_spaces": False,
            **specials,
        },
    )
    atomic_write_text(directory / MODEL_CARD_FILE, card)


def generation_config(eot_id: int | None) -> dict[str, Any]:
    """tinygpt's sampling defaults (temperature 0.7, no top-k, no top-p) for transformers' generate."""
    defaults = TokenSampler()
    fields: dict[str, Any] = {
        "do_sample": True,
        "temperature": defaults.temperature,
        "top_k": 0,
        "top_p": 1.0,
    }
    if eot_id is not None:
        fields.update(bos_token_id=eot_id, eos_token_id=eot_id, pad_token_id=eot_id)
    return fields


def special_tokens_map(tokenizer: BPETokenizer) -> dict[str, str]:
    """End-of-text as transformers' bos/eos/unk/pad token, as in GPT-2's own files."""
    eot = tokenizer.eot_id
    if eot is None:
        return {}
    name = tokenizer.token_bytes(eot).decode("utf-8")
    return {"bos_token": name, "eos_token": name, "unk_token": name, "pad_token": name}


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
