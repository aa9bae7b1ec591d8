"""Which torch device to train or generate on: `--device auto|cpu|cuda|cuda:N|mps`."""

from __future__ import annotations

import re

import torch

from tinygpt.errors import ConfigError

_SPEC = re.compile(r"^(auto|cpu|mps|cuda)(?::(\d+))?$")


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def select_device(spec: str = "auto") -> torch.device:
    """Resolve a device spec; "auto" picks CUDA, else MPS (Apple GPUs), else the CPU.

    A device that is asked for by name but absent is an error, never a silent CPU fallback,
    so a run that was meant for a GPU does not crawl on the CPU unnoticed.

    >>> select_device("cpu")
    device(type='cpu')
    """
    match = _SPEC.match(spec.strip().lower())
    if match is None:
        raise ConfigError(f"unknown device {spec!r}; expected auto, cpu, cuda, cuda:N or mps")
    kind, index = match.group(1), match.group(2)
    if kind == "auto":
        if index is not None:
            raise ConfigError(f"unknown device {spec!r}; 'auto' takes no index")
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_available() else torch.device("cpu")
    if kind == "cpu":
        return torch.device("cpu")
    if kind == "mps":
        if not mps_available():
            raise ConfigError(
                f"device {spec!r} requested but MPS is not available "
                "(it needs Apple silicon, macOS 12.3+ and a torch build with MPS); use --device cpu"
            )
        return torch.device("mps")
    if not torch.cuda.is_available():
        build = "a CPU-only torch build" if torch.version.cuda is None else "no visible CUDA GPU"
        raise ConfigError(
            f"device {spec!r} requested but CUDA is not available ({build}, "
            f"torch {torch.__version__}); use --device cpu or install a CUDA build of torch"
        )
    if index is None:
        return torch.device("cuda")
    count = torch.cuda.device_count()
    if int(index) >= count:
        raise ConfigError(
            f"device {spec!r} requested but only {count} CUDA device(s) exist (cuda:0 .. cuda:{count - 1})"
        )
    return torch.device("cuda", int(index))
