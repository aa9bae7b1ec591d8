"""Oracles for the Hugging Face bridge tests, built offline: a byte-level BPE trained by the
tokenizers library and random-weight GPT-2 and GPT-NeoX models that transformers itself creates
and saves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

STORIES = [
    "Once upon a time there was a little cat. The cat liked to play in the sun.",
    "One day a girl named Lily found a big red ball. She was very happy — café, naïve, 😀!",
    'Tom and his dog ran to the park. They saw a bird and a tree. "Look!" said Tom.\n',
] * 20
ENDOFTEXT = "<|endoftext|>"


def train_hf_tokenizer(vocab_size: int = 320) -> Any:
    """A byte-level BPE trained by the tokenizers library (GPT-2's pipeline), end-of-text last."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - 1,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(STORIES, trainer)
    tokenizer.add_special_tokens([ENDOFTEXT])
    return tokenizer


# model_type -> transformers' config and model classes, and a small shape of our supported settings.
ARCHITECTURES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "gpt2": ("GPT2Config", "GPT2LMHeadModel", {"n_layer": 2, "n_embd": 32, "n_head": 4, "n_positions": 48}),
    "gpt_neox": (
        "GPTNeoXConfig",
        "GPTNeoXForCausalLM",
        {
            "num_hidden_layers": 2,
            "hidden_size": 32,
            "num_attention_heads": 4,
            "intermediate_size": 128,
            "max_position_embeddings": 48,
            "use_parallel_residual": False,
            "rotary_pct": 1.0,
        },
    ),
}


def save_transformers_model(
    directory: Path, *, tokenizer: Any = None, seed: int = 0, model_type: str = "gpt2", **fields: Any
) -> Any:
    """A random GPT-2 (or GPT-NeoX) that transformers creates and saves (``save_pretrained``), with
    ``tokenizer`` saved beside it; returns the transformers model (eval mode)."""
    import transformers

    config_class, model_class, shape = ARCHITECTURES[model_type]
    tokenizer = tokenizer or train_hf_tokenizer()
    eot = tokenizer.token_to_id(ENDOFTEXT)
    config = getattr(transformers, config_class)(
        vocab_size=tokenizer.get_vocab_size(), bos_token_id=eot, eos_token_id=eot, **{**shape, **fields}
    )
    torch.manual_seed(seed)
    model = getattr(transformers, model_class)(config)
    with torch.no_grad():
        # Non-zero biases and LayerNorm parameters (the 1-D ones), so that mapping them wrongly shows.
        for parameter in model.parameters():
            if parameter.ndim == 1:
                parameter.add_(torch.randn_like(parameter) * 0.1)
    model.eval()
    model.save_pretrained(directory)
    transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=ENDOFTEXT).save_pretrained(directory)
    return model
