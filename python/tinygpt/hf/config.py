"""transformers' GPT-2 ``config.json`` <-> GPTConfig.

Every field that changes what the network computes is mapped or refused by name; fields that
only matter to transformers' own training or heads (``initializer_range``, ``summary_*``) are
ignored. Dropouts map approximately (GPT-2 drops the branch outputs, tinygpt the residual
stream); they only act while training, so imported logits and samples are unaffected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tinygpt.config_file import read_json_object
from tinygpt.errors import ConfigError
from tinygpt.hf.files import CONFIG_FILE
from tinygpt.model.config import GPTConfig

# transformers' activation names -> ours ("gelu_pytorch_tanh" is gelu_new computed by torch).
ACTIVATION_FROM_HF = {"gelu_new": "gelu_new", "gelu_pytorch_tanh": "gelu_new", "gelu": "gelu", "relu": "relu"}
ACTIVATION_TO_HF = {"gelu_new": "gelu_new", "gelu": "gelu", "relu": "relu"}

# Fields whose non-default values tinygpt cannot compute, with the value it can.
UNSUPPORTED_UNLESS = {
    "scale_attn_by_inverse_layer_idx": False,
    "reorder_and_upcast_attn": False,
    "add_cross_attention": False,
    "scale_attn_weights": True,
}


def read_hf_config(directory: Path) -> dict[str, Any]:
    """The parsed ``config.json`` of a transformers model directory."""
    return read_json_object(directory / CONFIG_FILE, "transformers config")


def gpt_config_from_hf(fields: dict[str, Any], *, source: str) -> GPTConfig:
    """GPTConfig computing the same function as the GPT-2 ``fields`` (inference: eval mode)."""
    model_type = fields.get("model_type")
    if model_type != "gpt2":
        raise ConfigError(
            f"{source}: model_type {model_type!r} is not supported; tinygpt runs the GPT-2 "
            'architecture (model_type "gpt2") only'
        )
    for name, supported in UNSUPPORTED_UNLESS.items():
        if fields.get(name, supported) != supported:
            raise ConfigError(
                f"{source}: {name}={fields[name]!r} is not supported by tinygpt (only {json.dumps(supported)})"
            )
    activation = fields.get("activation_function", "gelu_new")
    if activation not in ACTIVATION_FROM_HF:
        raise ConfigError(
            f"{source}: activation_function {activation!r} is not supported "
            f"(supported: {', '.join(sorted(ACTIVATION_FROM_HF))})"
        )
    try:
        width = int(fields.get("n_embd", 768))
        inner = fields.get("n_inner")
        hidden = 4 * width if inner is None else int(inner)
        multiplier, size = (hidden // width, None) if hidden % width == 0 else (4, hidden)
        return GPTConfig(
            vocab_size=int(fields.get("vocab_size", 50257)),
            embedding_size=width,
            context_length=int(fields.get("n_positions", 1024)),
            head_count=int(fields.get("n_head", 12)),
            block_count=int(fields.get("n_layer", 12)),
            feed_forward_multiplier=multiplier,
            feed_forward_size=size,
            embedding_dropout=float(fields.get("embd_pdrop", 0.1)),
            attention_dropout=float(fields.get("attn_pdrop", 0.1)),
            feed_forward_dropout=float(fields.get("resid_pdrop", 0.1)),
            residual_dropout=0.0,
            activation=ACTIVATION_FROM_HF[activation],
            tie_weights=bool(fields.get("tie_word_embeddings", True)),
            bias=True,
            layer_norm_epsilon=float(fields.get("layer_norm_epsilon", 1e-5)),
        )
    except (TypeError, ValueError, ZeroDivisionError) as error:
        raise ConfigError(f"{source}: unusable size or rate ({error})") from error


def hf_config_from_gpt(config: GPTConfig, *, eot_id: int | None) -> dict[str, Any]:
    """GPT-2 ``config.json`` fields that make transformers compute what ``config`` computes."""
    fields: dict[str, Any] = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": config.vocab_size,
        "n_positions": config.context_length,
        "n_embd": config.embedding_size,
        "n_layer": config.block_count,
        "n_head": config.head_count,
        "n_inner": config.hidden_size,
        "activation_function": ACTIVATION_TO_HF[config.activation],
        "layer_norm_epsilon": config.layer_norm_epsilon,
        "tie_word_embeddings": config.tie_weights,
        "embd_pdrop": config.embedding_dropout,
        "attn_pdrop": config.attention_dropout,
        "resid_pdrop": config.feed_forward_dropout,
        "initializer_range": 0.02,
        "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "use_cache": True,
        "dtype": "float32",
    }
    if eot_id is not None:
        fields["bos_token_id"] = fields["eos_token_id"] = eot_id
    return fields
