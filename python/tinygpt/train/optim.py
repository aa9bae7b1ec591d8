"""The optimizer: AdamW with decoupled weight decay on linear weights only, fused where the
device allows; or Muon (torch's, stepped by shape: tinygpt.train.muon) for the blocks' weight
matrices with AdamW for everything else."""

from __future__ import annotations

from typing import Any

import torch

from tinygpt.model.gpt import GPT
from tinygpt.train.config import TrainConfig
from tinygpt.train.muon import StackedMuon

# Devices with fused AdamW kernels in the torch versions we support (CPU since 2.4).
_FUSED_DEVICES = {"cuda", "cpu", "mps"}


def supports_fused_adamw(device: torch.device) -> bool:
    if device.type not in _FUSED_DEVICES:
        return False
    if device.type in ("cpu", "mps"):
        major, minor = (int(p) for p in torch.__version__.split(".")[:2])
        return (major, minor) >= (2, 4)
    return True


def build_optimizer(model: GPT, config: TrainConfig, device: torch.device) -> torch.optim.AdamW | MuonWithAdamW:
    """AdamW over ``model.optimizer_groups`` (decay on linear weights, none on biases,
    LayerNorms and embeddings; the model decides by a rule over its parameters); with
    ``optimizer: "muon"``, the decayed matrices inside the blocks go to Muon instead."""
    groups = model.optimizer_groups(config.weight_decay)
    if config.optimizer == "muon":
        in_blocks = {id(p) for p in model.blocks.parameters()}
        matrices = [p for p in groups[0]["params"] if id(p) in in_blocks]
        groups[0]["params"] = [p for p in groups[0]["params"] if id(p) not in in_blocks]
        # Moonshot's scaling makes Muon's update as large as AdamW's: the same learning rate
        # and weight decay serve both.
        muon = StackedMuon(
            matrices, lr=config.peak_learning_rate, weight_decay=config.weight_decay, adjust_lr_fn="match_rms_adamw"
        )
        return MuonWithAdamW(muon, _adamw(groups, config, device))
    return _adamw(groups, config, device)


def _adamw(groups: list[dict[str, Any]], config: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    fused = supports_fused_adamw(device)
    return torch.optim.AdamW(
        groups,
        lr=config.peak_learning_rate,
        betas=(config.adam_beta1, config.adam_beta2),
        fused=fused,
        foreach=None if fused else True,
    )


class MuonWithAdamW:
    """Two optimizers stepped as one (Muon takes matrices only), with one state dict."""

    def __init__(self, muon: torch.optim.Optimizer, adamw: torch.optim.AdamW) -> None:
        self.muon = muon
        self.adamw = adamw

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return [*self.muon.param_groups, *self.adamw.param_groups]

    def step(self) -> None:
        self.muon.step()
        self.adamw.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.muon.zero_grad(set_to_none=set_to_none)
        self.adamw.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return {"muon": self.muon.state_dict(), "adamw": self.adamw.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.muon.load_state_dict(state["muon"])
        self.adamw.load_state_dict(state["adamw"])


def set_learning_rate(optimizer: torch.optim.Optimizer | MuonWithAdamW, learning_rate: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = learning_rate
