"""`optimizer: "muon"`: Muon for the blocks' weight matrices, AdamW for the rest, stepped and
saved as one optimizer, so a Muon run resumes exactly like an AdamW run."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.nn import functional as F

from tinygpt.errors import ConfigError
from tinygpt.model import GPT, GPTConfig
from tinygpt.train.config import TrainConfig
from tinygpt.train.optim import MuonWithAdamW, build_optimizer, set_learning_rate

CPU = torch.device("cpu")


def tiny_model() -> GPT:
    torch.manual_seed(0)
    return GPT(
        GPTConfig(
            vocab_size=50,
            embedding_size=16,
            context_length=8,
            head_count=2,
            block_count=2,
            embedding_dropout=0.0,
            attention_dropout=0.0,
            feed_forward_dropout=0.0,
            residual_dropout=0.0,
        )
    )


def train_steps(model: GPT, optimizer, steps: int) -> list[float]:
    generator = torch.Generator().manual_seed(1)
    losses = []
    for _ in range(steps):
        x = torch.randint(0, 50, (4, 8), generator=generator)
        loss = F.cross_entropy(model(x).flatten(0, 1), ((x + 1) % 50).flatten())  # learnable
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
    return losses


def test_muon_takes_the_block_matrices_and_adamw_everything_else():
    model = tiny_model()
    optimizer = build_optimizer(model, TrainConfig(optimizer="muon", learning_rate=1e-3), CPU)
    assert isinstance(optimizer, MuonWithAdamW)
    muon = {id(p) for group in optimizer.muon.param_groups for p in group["params"]}
    adamw = {id(p) for group in optimizer.adamw.param_groups for p in group["params"]}
    block_matrices = {id(p) for p in model.blocks.parameters() if p.dim() == 2}
    assert muon == block_matrices
    assert muon.isdisjoint(adamw) and muon | adamw == {id(p) for p in model.parameters()}
    assert id(model.linear_head.weight) in adamw


def test_muon_learns_and_its_learning_rate_follows_the_schedule():
    model = tiny_model()
    optimizer = build_optimizer(model, TrainConfig(optimizer="muon", learning_rate=3e-3), CPU)
    losses = train_steps(model, optimizer, 30)
    assert losses[-1] < losses[0] - 0.5
    set_learning_rate(optimizer, 1e-4)
    assert {group["lr"] for group in optimizer.param_groups} == {1e-4}


def test_state_dict_round_trip_continues_identically():
    first, second = tiny_model(), tiny_model()
    config = TrainConfig(optimizer="muon", learning_rate=3e-3)
    optimizer = build_optimizer(first, config, CPU)
    train_steps(first, optimizer, 3)
    second.load_state_dict(first.state_dict())
    restored = build_optimizer(second, config, CPU)
    # A copy, as a checkpoint on disk is: loading may keep references to the saved tensors.
    restored.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    assert train_steps(first, optimizer, 3) == train_steps(second, restored, 3)


def test_unknown_optimizer_is_refused_by_name():
    with pytest.raises(ConfigError, match="optimizer must be one of adamw, muon"):
        TrainConfig(optimizer="sgd")
