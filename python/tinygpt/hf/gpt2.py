"""transformers' GPT-2 (``GPT2LMHeadModel``): tinygpt with learned positions.

Its config fields map to GPTConfig's one by one. Its linear layers are ``Conv1D`` (weight
``[in, out]``), tinygpt's ``nn.Linear`` (``[out, in]``), so those are transposed; its fused
``c_attn`` already holds q, k, v in the order of tinygpt's fused ``qkv``.
"""

from __future__ import annotations

from typing import Any

from tinygpt.hf.config import ACTIVATION_TO_HF, activation_from_hf, feed_forward_shape, require, usable_numbers
from tinygpt.hf.tensor_layout import AS_IS, TRANSPOSED, TensorLayout
from tinygpt.model.config import GPTConfig

# Fields whose non-default values tinygpt cannot compute, with the value it can (also the default).
SUPPORTED_ONLY = {
    "scale_attn_by_inverse_layer_idx": False,
    "reorder_and_upcast_attn": False,
    "add_cross_attention": False,
    "scale_attn_weights": True,
}

GPT2_TENSORS = TensorLayout(
    prefix="transformer.",
    blocks="h",
    block_tensors=(
        ("ln_1.weight", "layer_norm_1.weight", AS_IS),
        ("ln_1.bias", "layer_norm_1.bias", AS_IS),
        ("attn.c_attn.weight", "attention.qkv.weight", TRANSPOSED),
        ("attn.c_attn.bias", "attention.qkv.bias", AS_IS),
        ("attn.c_proj.weight", "attention.projection.weight", TRANSPOSED),
        ("attn.c_proj.bias", "attention.projection.bias", AS_IS),
        ("ln_2.weight", "layer_norm_2.weight", AS_IS),
        ("ln_2.bias", "layer_norm_2.bias", AS_IS),
        ("mlp.c_fc.weight", "feed_forward.input.weight", TRANSPOSED),
        ("mlp.c_fc.bias", "feed_forward.input.bias", AS_IS),
        ("mlp.c_proj.weight", "feed_forward.output.weight", TRANSPOSED),
        ("mlp.c_proj.bias", "feed_forward.output.bias", AS_IS),
    ),
    top_tensors={
        "wte.weight": "token_embedding.weight",
        "wpe.weight": "position_embedding.weight",
        "ln_f.weight": "layer_norm.weight",
        "ln_f.bias": "layer_norm.bias",
    },
    heads=("lm_head.weight",),
    # Causal-mask buffers that old GPT-2 checkpoints saved beside the weights.
    buffers=frozenset({"attn.bias", "attn.masked_bias"}),
)


def config_from_gpt2(fields: dict[str, Any], *, source: str) -> GPTConfig:
    """GPTConfig computing the same function as the GPT-2 ``fields`` (inference: eval mode)."""
    for name, supported in SUPPORTED_ONLY.items():
        require(fields, name, default=supported, supported=supported, source=source)
    activation = activation_from_hf(fields, "activation_function", default="gelu_new", source=source)
    with usable_numbers(source):
        width = int(fields.get("n_embd", 768))
        inner = fields.get("n_inner")
        multiplier, size = feed_forward_shape(width, 4 * width if inner is None else int(inner))
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
            activation=activation,
            tie_weights=bool(fields.get("tie_word_embeddings", True)),
            bias=True,
            layer_norm_epsilon=float(fields.get("layer_norm_epsilon", 1e-5)),
        )


def gpt2_config(config: GPTConfig, *, eot_id: int | None) -> dict[str, Any]:
    """The GPT-2 fields that make transformers compute what ``config`` computes."""
    fields: dict[str, Any] = {
        "n_positions": config.context_length,
        "n_embd": config.embedding_size,
        "n_layer": config.block_count,
        "n_head": config.head_count,
        "n_inner": config.hidden_size,
        "activation_function": ACTIVATION_TO_HF[config.activation],
        "layer_norm_epsilon": config.layer_norm_epsilon,
        "embd_pdrop": config.embedding_dropout,
        "attn_pdrop": config.attention_dropout,
        "resid_pdrop": config.feed_forward_dropout,
        **SUPPORTED_ONLY,
    }
    if eot_id is not None:
        fields["bos_token_id"] = fields["eos_token_id"] = eot_id
    return fields
