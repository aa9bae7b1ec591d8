"""transformers' GPT-NeoX (``GPTNeoXForCausalLM``): tinygpt with rotary positions.

tinygpt's rotary model is the GPT-NeoX variant with a sequential residual (attention, then the
feed-forward of its result: ``use_parallel_residual`` false), the whole of each head rotated
(``rotary_pct`` 1) by the halves layout at base ``ROTARY_BASE``. Pythia and GPT-NeoX-20B use a
parallel residual and rotate a quarter of each head, so they are refused, by field.

The layers are ``nn.Linear`` as tinygpt's; only the fused q/k/v differs: GPT-NeoX groups its
rows by head (head 0's q, k, v, then head 1's), tinygpt's are all q, then all k, then all v.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tinygpt.errors import ConfigError
from tinygpt.hf.config import ACTIVATION_TO_HF, activation_from_hf, feed_forward_shape, require, usable_numbers
from tinygpt.hf.tensor_layout import AS_IS, Rearrangement, TensorLayout
from tinygpt.model.config import ROTARY_BASE, GPTConfig

if TYPE_CHECKING:
    import torch


def _grouped_by_head(tensor: torch.Tensor, config: GPTConfig) -> torch.Tensor:
    """Rows [q | k | v] -> [q0 k0 v0 | q1 k1 v1 | ...] (a weight or a bias)."""
    return tensor.reshape(3, config.head_count, config.head_size, -1).transpose(0, 1).reshape(tensor.shape)


def _grouped_by_kind(tensor: torch.Tensor, config: GPTConfig) -> torch.Tensor:
    """The inverse of ``_grouped_by_head``."""
    return tensor.reshape(config.head_count, 3, config.head_size, -1).transpose(0, 1).reshape(tensor.shape)


QKV_BY_HEAD = Rearrangement(to_theirs=_grouped_by_head, to_ours=_grouped_by_kind)

NEOX_TENSORS = TensorLayout(
    prefix="gpt_neox.",
    blocks="layers",
    block_tensors=(
        ("input_layernorm.weight", "layer_norm_1.weight", AS_IS),
        ("input_layernorm.bias", "layer_norm_1.bias", AS_IS),
        ("attention.query_key_value.weight", "attention.qkv.weight", QKV_BY_HEAD),
        ("attention.query_key_value.bias", "attention.qkv.bias", QKV_BY_HEAD),
        ("attention.dense.weight", "attention.projection.weight", AS_IS),
        ("attention.dense.bias", "attention.projection.bias", AS_IS),
        ("post_attention_layernorm.weight", "layer_norm_2.weight", AS_IS),
        ("post_attention_layernorm.bias", "layer_norm_2.bias", AS_IS),
        ("mlp.dense_h_to_4h.weight", "feed_forward.input.weight", AS_IS),
        ("mlp.dense_h_to_4h.bias", "feed_forward.input.bias", AS_IS),
        ("mlp.dense_4h_to_h.weight", "feed_forward.output.weight", AS_IS),
        ("mlp.dense_4h_to_h.bias", "feed_forward.output.bias", AS_IS),
    ),
    top_tensors={
        "embed_in.weight": "token_embedding.weight",
        "final_layer_norm.weight": "layer_norm.weight",
        "final_layer_norm.bias": "layer_norm.bias",
    },
    # transformers 4 saves the head as embed_out, 5 reads that name too (and calls it lm_head).
    heads=("embed_out.weight", "lm_head.weight"),
    # Causal masks and rotary frequencies that older checkpoints saved beside the weights.
    buffers=frozenset(
        {"attention.bias", "attention.masked_bias", "attention.rotary_emb.inv_freq", "rotary_emb.inv_freq"}
    ),
)

# transformers' GPT-NeoX default: rotate a quarter of each head (its default base is ROTARY_BASE).
DEFAULT_ROTARY_FRACTION = 0.25


def config_from_neox(fields: dict[str, Any], *, source: str) -> GPTConfig:
    """GPTConfig computing the same function as the GPT-NeoX ``fields`` (inference: eval mode)."""
    require(
        fields,
        "use_parallel_residual",
        default=True,
        supported=False,
        source=source,
        why="tinygpt's blocks run the feed-forward on the attention's result",
    )
    require(fields, "attention_bias", default=True, supported=True, source=source)
    _require_tinygpt_rotary(fields, source)
    activation = activation_from_hf(fields, "hidden_act", default="gelu", source=source)
    with usable_numbers(source):
        width = int(fields.get("hidden_size", 6144))
        multiplier, size = feed_forward_shape(width, int(fields.get("intermediate_size", 24576)))
        hidden_dropout = float(fields.get("hidden_dropout", 0.0))
        return GPTConfig(
            vocab_size=int(fields.get("vocab_size", 50432)),
            embedding_size=width,
            context_length=int(fields.get("max_position_embeddings", 2048)),
            head_count=int(fields.get("num_attention_heads", 64)),
            block_count=int(fields.get("num_hidden_layers", 44)),
            feed_forward_multiplier=multiplier,
            feed_forward_size=size,
            embedding_dropout=hidden_dropout,
            attention_dropout=float(fields.get("attention_dropout", 0.0)),
            feed_forward_dropout=hidden_dropout,
            residual_dropout=0.0,
            activation=activation,
            tie_weights=bool(fields.get("tie_word_embeddings", False)),
            bias=True,
            layer_norm_epsilon=float(fields.get("layer_norm_eps", 1e-5)),
            positions="rotary",
        )


def _require_tinygpt_rotary(fields: dict[str, Any], source: str) -> None:
    """Unscaled rotary positions on the whole head at ``ROTARY_BASE``, wherever the file says so.

    transformers 5 reads ``rope_parameters`` (``rope_scaling`` before it) first, then the legacy
    ``rotary_pct`` / ``rotary_emb_base``, then its defaults; transformers 4 reads the legacy
    fields. Any of them, or a stray top-level ``partial_rotary_factor`` / ``rope_theta``, that
    states another value is refused, so no version computes something else.
    """
    rope_field = "rope_scaling" if fields.get("rope_scaling") else "rope_parameters"
    rope = fields.get(rope_field) or {}
    if not isinstance(rope, dict):
        raise ConfigError(f"{source}: {rope_field} must be an object, got {rope!r}")
    kind = rope.get("rope_type", rope.get("type", "default"))
    if kind != "default":
        raise ConfigError(
            f"{source}: {rope_field}.rope_type {kind!r} is not supported by tinygpt "
            '(only "default": unscaled rotary positions)'
        )
    flat = {**fields, **{f"{rope_field}.{key}": value for key, value in rope.items()}}
    for key, legacy, default, supported, why in (
        ("partial_rotary_factor", "rotary_pct", DEFAULT_ROTARY_FRACTION, 1.0, "tinygpt rotates the whole of each head"),
        ("rope_theta", "rotary_emb_base", ROTARY_BASE, ROTARY_BASE, "the base of tinygpt's rotary angles"),
    ):
        places = (f"{rope_field}.{key}", legacy, key)
        checked = [name for name in places if name in flat]
        if not any(name in flat for name in places[:2]):
            checked.append(legacy)  # transformers falls back on its default
        for name in checked:
            require(flat, name, default=default, supported=supported, source=source, why=why)


def neox_config(config: GPTConfig, *, eot_id: int | None) -> dict[str, Any]:
    """The GPT-NeoX fields that make transformers (4.45 and 5) compute what ``config`` computes."""
    return {
        "hidden_size": config.embedding_size,
        "num_attention_heads": config.head_count,
        "num_hidden_layers": config.block_count,
        "intermediate_size": config.hidden_size,
        "hidden_act": ACTIVATION_TO_HF[config.activation],
        "max_position_embeddings": config.context_length,
        "layer_norm_eps": config.layer_norm_epsilon,
        "use_parallel_residual": False,
        "rotary_pct": 1.0,
        "rotary_emb_base": ROTARY_BASE,
        "attention_bias": True,
        "hidden_dropout": config.feed_forward_dropout,
        "attention_dropout": config.attention_dropout,
        # Written even when null: GPT-NeoX's defaults (0 and 2) are ordinary tokens of ours.
        "bos_token_id": eot_id,
        "eos_token_id": eot_id,
    }
