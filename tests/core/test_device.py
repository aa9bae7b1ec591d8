"""Device selection: what `--device` resolves to, and clear errors for absent devices."""

from __future__ import annotations

import pytest
import torch

from tinygpt.device import select_device
from tinygpt.errors import ConfigError, TinyGPTError


def test_cpu_is_always_available():
    assert select_device("cpu") == torch.device("cpu")


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("tinygpt.device.mps_available", lambda: False)
    assert select_device("auto") == torch.device("cpu")
    monkeypatch.setattr("tinygpt.device.mps_available", lambda: True)
    assert select_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device("auto") == torch.device("cuda")


def test_missing_cuda_is_a_clear_error_not_a_cpu_fallback(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="CUDA is not available"):
        select_device("cuda")
    with pytest.raises(TinyGPTError, match="--device cpu"):
        select_device("cuda:0")


def test_cuda_index_beyond_the_device_count_is_rejected(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert select_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ConfigError, match="only 2 CUDA device"):
        select_device("cuda:2")


def test_missing_mps_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("tinygpt.device.mps_available", lambda: False)
    with pytest.raises(ConfigError, match="MPS is not available"):
        select_device("mps")


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "auto:0", ""])
def test_unknown_spec_is_rejected(spec):
    with pytest.raises(ConfigError, match="unknown device"):
        select_device(spec)
