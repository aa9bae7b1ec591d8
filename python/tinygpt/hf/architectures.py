"""The transformers architectures a tinygpt model is: GPT-2 with learned positions, GPT-NeoX with
rotary ones. A config's ``positions`` picks the one it exports as; a ``config.json``'s
``model_type`` the one it imports from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tinygpt.errors import ConfigError
from tinygpt.hf.gpt2 import GPT2_TENSORS, config_from_gpt2, gpt2_config
from tinygpt.hf.neox import NEOX_TENSORS, config_from_neox, neox_config
from tinygpt.hf.tensor_layout import TensorLayout
from tinygpt.model.config import GPTConfig


@dataclass(frozen=True)
class Architecture:
    """One transformers architecture: its names, its config fields and its tensors."""

    name: str
    model_type: str
    model_class: str
    positions: str
    config_from_hf: Callable[..., GPTConfig]
    hf_config: Callable[..., dict[str, Any]]
    tensors: TensorLayout


GPT2 = Architecture("GPT-2", "gpt2", "GPT2LMHeadModel", "learned", config_from_gpt2, gpt2_config, GPT2_TENSORS)
GPT_NEOX = Architecture(
    "GPT-NeoX", "gpt_neox", "GPTNeoXForCausalLM", "rotary", config_from_neox, neox_config, NEOX_TENSORS
)
ARCHITECTURES = (GPT2, GPT_NEOX)


def architecture_of(config: GPTConfig) -> Architecture:
    """The architecture that computes what ``config`` computes."""
    return next(architecture for architecture in ARCHITECTURES if architecture.positions == config.positions)


def gpt_config_from_hf(fields: dict[str, Any], *, source: str) -> GPTConfig:
    """GPTConfig computing the same function as the transformers config ``fields`` (eval mode)."""
    model_type = fields.get("model_type")
    for architecture in ARCHITECTURES:
        if model_type == architecture.model_type:
            return architecture.config_from_hf(fields, source=source)
    known = " and ".join(
        f'{architecture.name} (model_type "{architecture.model_type}")' for architecture in ARCHITECTURES
    )
    raise ConfigError(f"{source}: model_type {model_type!r} is not supported; tinygpt runs {known} models only")


def hf_config_from_gpt(config: GPTConfig, *, eot_id: int | None) -> dict[str, Any]:
    """``config.json`` fields that make transformers compute what ``config`` computes."""
    architecture = architecture_of(config)
    return {
        "architectures": [architecture.model_class],
        "model_type": architecture.model_type,
        "vocab_size": config.vocab_size,
        **architecture.hf_config(config, eot_id=eot_id),
        "tie_word_embeddings": config.tie_weights,
        "initializer_range": 0.02,
        "use_cache": True,
        "dtype": "float32",
    }
