"""``load_run``: a trained model and its tokenizer, back from a run directory."""

from __future__ import annotations

import os

import torch

from tinygpt.device import select_device
from tinygpt.hf.load import load_hf_model
from tinygpt.hf.source import is_hf_model
from tinygpt.model.config import GPTConfig
from tinygpt.model.gpt import GPT
from tinygpt.run.checkpoint import load_weights
from tinygpt.run.layout import RunLayout, require_run, resolve_checkpoint
from tinygpt.tokenizer.bpe import BPETokenizer


def load_run(
    run: str | os.PathLike[str],
    checkpoint: str = "best",
    *,
    device: str | torch.device = "cpu",
) -> tuple[GPT, BPETokenizer]:
    """Load a trained model (in eval mode) and its tokenizer from a `tinygpt train` directory,
    a transformers GPT-2 or GPT-NeoX directory (``save_pretrained``) or ``hf:owner/name``.

    >>> model, tok = load_run("runs/stories", checkpoint="best")
    >>> model.training, model.config.context_length, tok.vocab_size
    (False, 32, 300)

    A Hugging Face model is downloaded first (so this one is not run by the tests):

    >>> model, tok = load_run("hf:openai-community/gpt2")  # doctest: +SKIP
    """
    if is_hf_model(run):
        return load_hf_model(run, checkpoint, device=select_device(str(device)))
    layout = RunLayout.of(run)
    require_run(layout)
    directory = resolve_checkpoint(run, checkpoint)

    model = GPT(GPTConfig.load(layout.transformer_config))
    load_weights(model, directory)
    model.to(select_device(str(device))).eval()
    return model, BPETokenizer.load(layout.tokenizer)
