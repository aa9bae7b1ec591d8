"""GPT-2 weights in safetensors <-> tinygpt's state dict.

GPT-2 stores its linear layers as ``Conv1D`` (weight ``[in, out]``), tinygpt as ``nn.Linear``
(``[out, in]``), so those are transposed; its fused ``c_attn`` already holds q, k, v in the
order of tinygpt's fused ``qkv``. Only safetensors is read: ``pytorch_model.bin`` is a pickle,
and unpickling a downloaded file can run any code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from tinygpt.atomic import atomic_write
from tinygpt.errors import DataError
from tinygpt.hf.files import PICKLE_FILES, WEIGHTS_FILE, WEIGHTS_INDEX_FILE
from tinygpt.model.gpt import GPT

# (GPT-2 name, tinygpt name, Conv1D weight to transpose); {i} is the block number.
_BLOCK_NAMES = (
    ("ln_1.weight", "layer_norm_1.weight", False),
    ("ln_1.bias", "layer_norm_1.bias", False),
    ("attn.c_attn.weight", "attention.qkv.weight", True),
    ("attn.c_attn.bias", "attention.qkv.bias", False),
    ("attn.c_proj.weight", "attention.projection.weight", True),
    ("attn.c_proj.bias", "attention.projection.bias", False),
    ("ln_2.weight", "layer_norm_2.weight", False),
    ("ln_2.bias", "layer_norm_2.bias", False),
    ("mlp.c_fc.weight", "feed_forward.input.weight", True),
    ("mlp.c_fc.bias", "feed_forward.input.bias", False),
    ("mlp.c_proj.weight", "feed_forward.output.weight", True),
    ("mlp.c_proj.bias", "feed_forward.output.bias", False),
)
_TOP_NAMES = {
    "wte.weight": "token_embedding.weight",
    "wpe.weight": "position_embedding.weight",
    "ln_f.weight": "layer_norm.weight",
    "ln_f.bias": "layer_norm.bias",
}
_BLOCK = re.compile(r"h\.(\d+)\.(.+)")
# Causal-mask buffers that old GPT-2 checkpoints saved beside the weights; not parameters.
_MASK_BUFFERS = ("attn.bias", "attn.masked_bias")
_TRANSPOSED = {gpt2 for gpt2, _, transposed in _BLOCK_NAMES if transposed}
_BLOCK_TO_OURS = {gpt2: ours for gpt2, ours, _ in _BLOCK_NAMES}


def pickle_refusal(directory: Path) -> DataError:
    """The error for a directory whose weights exist only as a pickle, with the command that converts them."""
    return DataError(
        f"{directory} has weights only as {PICKLE_FILES[0]} (a pickle, which can run code when loaded); "
        'convert them to safetensors once with: python -c "from transformers import '
        f"AutoModelForCausalLM as M; M.from_pretrained('{directory}').save_pretrained('{directory}')\""
    )


def read_safetensors(directory: Path) -> dict[str, torch.Tensor]:
    """Every tensor of ``model.safetensors``, or of the shards its index lists."""
    single, index = directory / WEIGHTS_FILE, directory / WEIGHTS_INDEX_FILE
    if single.is_file():
        return _load(single)
    if index.is_file():
        tensors: dict[str, torch.Tensor] = {}
        for shard in _shard_names(index):
            tensors.update(_load(directory / shard))
        return tensors
    if any((directory / name).is_file() for name in PICKLE_FILES):
        raise pickle_refusal(directory)
    raise DataError(f"{directory} has no weights: expected {WEIGHTS_FILE} or {WEIGHTS_INDEX_FILE}")


def _shard_names(index: Path) -> list[str]:
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        names = sorted(set(weight_map.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise DataError(f"{index}: not a safetensors index with a weight_map ({error})") from error
    unsafe = [name for name in names if not isinstance(name, str) or Path(name).name != name]
    if unsafe:
        raise DataError(f"{index}: shard {unsafe[0]!r} is not a file name in the same directory")
    return names


def _load(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except (OSError, SafetensorError) as error:
        raise DataError(f"{path}: not a readable safetensors file ({error})") from error


def state_dict_from_gpt2(tensors: dict[str, torch.Tensor], *, tied: bool, source: str) -> dict[str, torch.Tensor]:
    """tinygpt names and layouts for GPT-2 tensors (with or without the ``transformer.`` prefix).

    A tied model's ``lm_head.weight``, when saved, is the embedding again and is dropped.
    Unknown names are kept as they are so that ``load_state_dict_checked`` reports them.
    """
    ours: dict[str, torch.Tensor] = {}
    for name, tensor in tensors.items():
        short = name.removeprefix("transformer.")
        if short == "lm_head.weight":
            if not tied:
                ours["linear_head.weight"] = tensor
            continue
        block = _BLOCK.fullmatch(short)
        if block and block.group(2) in _MASK_BUFFERS:
            continue
        if block and block.group(2) in _BLOCK_TO_OURS:
            index, part = block.groups()
            value = tensor.t() if part in _TRANSPOSED else tensor
            ours[f"blocks.{index}.{_BLOCK_TO_OURS[part]}"] = value.contiguous()
        elif short in _TOP_NAMES:
            ours[_TOP_NAMES[short]] = tensor
        else:
            ours[name] = tensor
    if not tied and "linear_head.weight" not in ours:
        raise DataError(f"{source}: tie_word_embeddings is false but lm_head.weight is missing")
    if tied and "token_embedding.weight" in ours:
        ours["linear_head.weight"] = ours["token_embedding.weight"]
    return {name: tensor.float() for name, tensor in ours.items()}


def gpt2_tensors(model: GPT) -> dict[str, torch.Tensor]:
    """The model's weights under GPT-2's names and layouts; absent biases written as zeros."""
    config = model.config
    state = {name: tensor.detach().float().contiguous() for name, tensor in model.state_dict().items()}
    out = {f"transformer.{gpt2}": state[ours].clone() for gpt2, ours in _TOP_NAMES.items()}
    for index in range(config.block_count):
        for gpt2, ours, transposed in _BLOCK_NAMES:
            tensor = state.get(f"blocks.{index}.{ours}")
            if tensor is None:
                # A bias-free tinygpt model: GPT-2 always has biases, zero computes the same.
                weight = state[f"blocks.{index}.{ours.removesuffix('.bias')}.weight"]
                tensor = torch.zeros(weight.shape[0])
            out[f"transformer.h.{index}.{gpt2}"] = (tensor.t() if transposed else tensor).contiguous()
    if not config.tie_weights:
        out["lm_head.weight"] = state["linear_head.weight"].clone()
    return out


def write_safetensors(model: GPT, path: Path) -> None:
    """``model.safetensors`` that transformers' GPT2LMHeadModel loads, written atomically."""
    with atomic_write(path) as handle:
        handle.write(save(gpt2_tensors(model), metadata={"format": "pt"}))
