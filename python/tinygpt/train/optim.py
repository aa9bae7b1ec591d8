"""AdamW with decoupled weight decay on linear weights only, fused where the device allows."""

from __future__ import annotations

import torch

from tinygpt.model.gpt import GPT
from tinygpt.train.config import TrainConfig

# Devices with fused AdamW kernels in the torch versions we support (CPU since 2.4).
_FUSED_DEVICES = {"cuda", "cpu", "mps"}


def supports_fused_adamw(device: torch.device) -> bool:
    if device.type not in _FUSED_DEVICES:
        return False
    if device.type in ("cpu", "mps"):
        major, minor = (int(p) for p in torch.__version__.split(".")[:2])
        return (major, minor) >= (2, 4)
    return True


def build_optimizer(model: GPT, config: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW over ``model.optimizer_groups`` (decay on linear weights, none on biases,
    LayerNorms and embeddings; the model decides by a rule over its parameters)."""
    groups = model.optimizer_groups(config.weight_decay)
    fused = supports_fused_adamw(device)
    return torch.optim.AdamW(
        groups,
        lr=config.peak_learning_rate,
        betas=(config.adam_beta1, config.adam_beta2),
        fused=fused,
        foreach=None if fused else True,
    )


def set_learning_rate(optimizer: torch.optim.Optimizer, learning_rate: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = learning_rate
