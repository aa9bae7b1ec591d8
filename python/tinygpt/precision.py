"""Mixed precision policy (`--precision fp32|bf16|auto`): bf16 autocast where it pays off.

Weights and optimizer state stay float32; autocast runs matmuls in bfloat16, which needs no
loss scaling. "auto" picks bf16 on CUDA GPUs that support it and on CPUs with native bf16
(AVX512-BF16 or AMX; emulated bf16 is slower than fp32). MPS always trains in float32.
"""

from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

from tinygpt.errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16")


def cpu_has_native_bf16() -> bool:
    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(cpu, name, lambda: False)() for name in checks)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device``; None means plain float32."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp32":
        return None
    if device.type == "mps":
        if precision == "bf16":
            raise ConfigError("MPS trains in float32 only; use --precision fp32 or auto")
        return None
    if device.type == "cuda":
        supported = torch.cuda.is_bf16_supported()
    else:
        supported = cpu_has_native_bf16()
    if precision == "bf16":
        if device.type == "cuda" and not supported:
            raise ConfigError(f"{device} does not support bfloat16; use --precision fp32")
        return torch.bfloat16
    return torch.bfloat16 if supported else None


def autocast(device: torch.device, dtype: torch.dtype | None) -> ContextManager:
    """Autocast context for the forward pass; a no-op for float32."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def precision_name(dtype: torch.dtype | None) -> str:
    return "fp32" if dtype is None else "bf16"
