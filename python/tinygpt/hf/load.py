"""Load a transformers GPT-2 or GPT-NeoX (rotary) directory, or ``hf:owner/name``, as a tinygpt
model and tokenizer."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from tinygpt.errors import DataError
from tinygpt.hf.architectures import gpt_config_from_hf
from tinygpt.hf.config import read_hf_config
from tinygpt.hf.files import (
    CONFIG_FILE,
    GPT2_MERGES_FILE,
    GPT2_VOCAB_FILE,
    TOKENIZER_FILE,
)
from tinygpt.hf.source import check_single_checkpoint, hf_directory
from tinygpt.hf.weights import read_safetensors, state_dict_from_hf
from tinygpt.model.config import GPTConfig
from tinygpt.model.gpt import GPT
from tinygpt.tokenizer import BPETokenizer, read_gpt2_vocab_merges
from tinygpt.tokenizer.bpe import ENDOFTEXT


def load_hf_model(
    model: str | os.PathLike[str], checkpoint: str = "best", *, device: torch.device
) -> tuple[GPT, BPETokenizer]:
    """The model (eval mode, on ``device``) and tokenizer of a transformers GPT-2 or GPT-NeoX directory.

    The config's fields, the tokenizer's size against the embedding and every tensor's name and
    shape are checked, each failure naming the file and the field.
    """
    spec = os.fspath(model)
    check_single_checkpoint(spec, checkpoint)
    directory = hf_directory(spec)
    config = read_gpt_config(directory)
    tokenizer = read_hf_tokenizer(directory)
    if tokenizer.vocab_size != config.vocab_size:
        raise DataError(
            f"{directory}: the tokenizer has {tokenizer.vocab_size:,} tokens but the model's embedding "
            f"has {config.vocab_size:,} rows (config.json vocab_size); they must match"
        )
    return load_hf_network(directory, config).to(device).eval(), tokenizer


def read_gpt_config(directory: Path) -> GPTConfig:
    """The GPTConfig of a transformers directory's ``config.json`` (GPT-2 or GPT-NeoX)."""
    return gpt_config_from_hf(read_hf_config(directory), source=str(directory / CONFIG_FILE))


def load_hf_network(directory: Path, config: GPTConfig | None = None) -> GPT:
    """The network of a transformers GPT-2 or GPT-NeoX directory, every tensor's name and shape checked."""
    config = config or read_gpt_config(directory)
    tensors = read_safetensors(directory)
    network = GPT(config)
    network.load_state_dict_checked(state_dict_from_hf(tensors, config, source=str(directory)), source=str(directory))
    return network


def read_hf_tokenizer(directory: Path) -> BPETokenizer:
    """``tokenizer.json``, else GPT-2's ``vocab.json`` + ``merges.txt`` (end-of-text as a special token)."""
    if (directory / TOKENIZER_FILE).is_file():
        return BPETokenizer.from_hf_json(directory / TOKENIZER_FILE)
    if (directory / GPT2_VOCAB_FILE).is_file() and (directory / GPT2_MERGES_FILE).is_file():
        vocab, merges = read_gpt2_vocab_merges(directory)
        specials = [ENDOFTEXT] if ENDOFTEXT.encode() in vocab.values() else []
        return BPETokenizer.from_vocab_merges(vocab, merges, special_tokens=specials)
    raise DataError(f"{directory} has no tokenizer: expected tokenizer.json, or vocab.json and merges.txt")
