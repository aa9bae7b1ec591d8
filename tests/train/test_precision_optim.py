"""Mixed-precision policy and the optimizer: bf16 only where it helps, decay on linear weights."""

from __future__ import annotations

import pytest
import torch

from tinygpt import precision
from tinygpt.errors import ConfigError
from tinygpt.model import GPT, GPTConfig
from tinygpt.train.config import TrainConfig
from tinygpt.train.optim import build_optimizer, supports_fused_adamw

CPU, CUDA, MPS = torch.device("cpu"), torch.device("cuda"), torch.device("mps")


def test_fp32_means_no_autocast_anywhere():
    for device in (CPU, CUDA, MPS):
        assert precision.autocast_dtype("fp32", device) is None


def test_auto_uses_bf16_on_cpus_with_native_bf16_only(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    assert precision.autocast_dtype("auto", CPU) is torch.bfloat16
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    assert precision.autocast_dtype("auto", CPU) is None
    assert precision.autocast_dtype("bf16", CPU) is torch.bfloat16


def test_auto_on_cuda_follows_the_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert precision.autocast_dtype("auto", CUDA) is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert precision.autocast_dtype("auto", CUDA) is None
    with pytest.raises(ConfigError, match="does not support bfloat16"):
        precision.autocast_dtype("bf16", CUDA)


def test_mps_stays_float32():
    assert precision.autocast_dtype("auto", MPS) is None
    with pytest.raises(ConfigError, match="MPS trains in float32"):
        precision.autocast_dtype("bf16", MPS)


def test_unknown_precision_is_rejected():
    with pytest.raises(ConfigError, match="precision must be one of"):
        precision.autocast_dtype("fp16", CPU)


def test_bf16_autocast_on_cpu_keeps_float32_weights_and_loss():
    model = GPT(GPTConfig(vocab_size=50, embedding_size=16, context_length=8, head_count=2, block_count=1))
    x = torch.randint(0, 50, (2, 8))
    with precision.autocast(CPU, torch.bfloat16):
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), x.flatten())
    assert logits.dtype is torch.bfloat16 and loss.dtype is torch.float32
    assert all(p.dtype is torch.float32 for p in model.parameters())


def test_adamw_decays_linear_weights_only_and_is_fused_on_cpu():
    model = GPT(GPTConfig(vocab_size=50, embedding_size=16, context_length=8, head_count=2, block_count=1))
    optimizer = build_optimizer(model, TrainConfig(weight_decay=0.1, adam_beta2=0.95), CPU)
    decayed = {id(p) for g in optimizer.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    linear_weights = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Linear)}
    assert decayed == linear_weights
    assert sum(p.numel() for g in optimizer.param_groups for p in g["params"]) == model.num_parameters()
    assert optimizer.defaults["betas"] == (0.9, 0.95)
    assert optimizer.defaults["fused"] == supports_fused_adamw(CPU)
