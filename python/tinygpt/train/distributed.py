"""torchrun support: one process per device, DistributedDataParallel, rank 0 writes.

`torchrun --nproc_per_node N -m tinygpt train ...` sets RANK, WORLD_SIZE and LOCAL_RANK; a
plain `tinygpt train` runs as a world of one with no process group at all.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from tinygpt.device import select_device
from tinygpt.errors import ConfigError


@dataclass(frozen=True)
class DistContext:
    """This process's place in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, spec: str) -> torch.device:
        """Under torchrun each process owns one GPU (its LOCAL_RANK); CPU ranks share the CPU."""
        device = select_device(spec)
        if self.enabled and device.type == "cuda":
            if device.index not in (None, self.local_rank):
                raise ConfigError(f"under torchrun each process uses cuda:LOCAL_RANK; drop --device {spec}")
            device = select_device(f"cuda:{self.local_rank}")
            torch.cuda.set_device(device)
        if self.enabled and device.type == "mps":
            raise ConfigError("torchrun training is not supported on MPS; use one process")
        return device

    def start(self, device: torch.device) -> None:
        """Join the process group: NCCL between GPUs, gloo on CPUs."""
        if self.enabled and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")

    def stop(self) -> None:
        """Leave the process group once nothing uses it any more.

        The caller drops its DDP model first; the collection here frees one kept alive by a
        reference cycle. A gloo group torn down under a live DDP reducer can abort the process
        at exit ("terminate called without an active exception")."""
        if self.enabled and dist.is_initialized():
            gc.collect()
            dist.destroy_process_group()

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        if not self.enabled:
            return model
        device_ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """Average a scalar tensor over the ranks (identity for one process)."""
        if self.enabled:
            value = value.clone()
            dist.all_reduce(value, op=dist.ReduceOp.SUM)
            value /= self.world_size
        return value

    def sum(self, value: torch.Tensor) -> torch.Tensor:
        if self.enabled:
            value = value.clone()
            dist.all_reduce(value, op=dist.ReduceOp.SUM)
        return value

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank when any rank says so (so all ranks stop at the same step)."""
        if not self.enabled:
            return flag
        return bool(self.sum(torch.tensor([float(flag)], device=device)).item() > 0)

    def from_main(self, value: float, device: torch.device) -> float:
        """Rank 0's ``value`` on every rank (identity for one process): what one rank measured
        and all must act on alike."""
        if not self.enabled:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=device)
        dist.broadcast(tensor, src=0)
        return float(tensor.item())

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order (rank 0 keeps them in its checkpoint)."""
        if not self.enabled:
            return [value]
        values: list[Any] = [None] * self.world_size
        dist.all_gather_object(values, value)
        return values

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def context_from_environment() -> DistContext:
    """The torchrun variables, or a world of one when they are absent."""
    try:
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError as error:
        raise ConfigError(f"malformed torchrun environment: {error}") from error
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank)
