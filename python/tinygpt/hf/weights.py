"""transformers weights in safetensors <-> tinygpt's state dict (the names and layouts of each
architecture are in ``hf.gpt2`` and ``hf.neox``).

Only safetensors is read: ``pytorch_model.bin`` is a pickle, and unpickling a downloaded file
can run any code.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from tinygpt.atomic import atomic_write
from tinygpt.errors import DataError
from tinygpt.hf.architectures import architecture_of
from tinygpt.hf.files import PICKLE_FILES, WEIGHTS_FILE, WEIGHTS_INDEX_FILE
from tinygpt.model.config import GPTConfig
from tinygpt.model.gpt import GPT


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


def state_dict_from_hf(tensors: dict[str, torch.Tensor], config: GPTConfig, *, source: str) -> dict[str, torch.Tensor]:
    """tinygpt names and layouts for the tensors of the architecture ``config`` imports from."""
    return architecture_of(config).tensors.state_dict(tensors, config, source=source)


def write_safetensors(model: GPT, path: Path) -> None:
    """``model.safetensors`` that transformers loads (GPT-2 or GPT-NeoX, by the model's positions), written atomically."""
    tensors = architecture_of(model.config).tensors.tensors(model)
    with atomic_write(path) as handle:
        handle.write(save(tensors, metadata={"format": "pt"}))
