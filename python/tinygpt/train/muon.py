"""`torch.optim.Muon`'s update computed for all matrices of one shape at once.

torch's Muon orthogonalises each matrix on its own: five Newton-Schulz iterations of three
small bf16 products per matrix, and a handful of element-wise operations per matrix around
them. For budget mode's model (16 matrices of 128 x 128 to 128 x 512) that took 11 ms of a
2-thread training step, a third of it once the attention was cheap, and the products, each
too small to keep two threads busy, ran at one thread's speed. Stacked by shape, the same
iterations are a few batched products that split over the threads, and the element-wise
work is one ``_foreach`` call per operation. The arithmetic is torch's, matrix by matrix (the
same coefficients, bf16 iterations, per-matrix norm, learning-rate adjustment and decoupled
weight decay), and so is the state (one momentum buffer per matrix), so checkpoints load
either way. One exception: on a CPU without native bf16 (AVX2 only) the iterations run in
float32, as torch's bf16 products are emulated there: with oneDNN held to AVX2, eight 128 x 512
matrices took 374 ms in bf16 and 18 ms in float32 on two threads (2.7 ms in native bf16).
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Callable

import torch

from tinygpt.precision import cpu_has_native_bf16


class StackedMuon(torch.optim.Muon):
    """``torch.optim.Muon`` (its constructor and state), stepping same-shape matrices together."""

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            buffers = [self._momentum_buffer(p) for p in params]
            momentum = group["momentum"]
            torch._foreach_lerp_(buffers, grads, 1 - momentum)
            updates = torch._foreach_lerp(grads, buffers, momentum) if group["nesterov"] else buffers
            lr = float(group["lr"])
            torch._foreach_mul_(params, 1 - lr * group["weight_decay"])
            by_shape: dict[torch.Size, list[int]] = defaultdict(list)
            for index, param in enumerate(params):
                by_shape[param.shape].append(index)
            for shape, indices in by_shape.items():
                orthogonal = orthogonalise(
                    torch.stack([updates[i] for i in indices]),
                    group["ns_coefficients"],
                    group["ns_steps"],
                    group["eps"],
                    iteration_dtype(params[indices[0]].device),
                )
                step_size = -lr * shape_scale(group["adjust_lr_fn"], shape)
                torch._foreach_add_([params[i] for i in indices], list(orthogonal.unbind(0)), alpha=step_size)
        return loss

    def _momentum_buffer(self, param: torch.Tensor) -> torch.Tensor:
        state = self.state[param]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        return state["momentum_buffer"]


def shape_scale(adjust_lr_fn: str | None, shape: torch.Size) -> float:
    """torch Muon's learning-rate factor for a matrix of ``shape`` (``adjust_lr_fn`` as there)."""
    rows, columns = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return math.sqrt(max(1.0, rows / columns))
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(rows, columns))
    return 1.0


@functools.cache
def iteration_dtype(device: torch.device) -> torch.dtype:
    """bf16, as torch's Muon iterates, except on a CPU that only emulates it."""
    if device.type == "cpu" and not cpu_has_native_bf16():
        return torch.float32
    return torch.bfloat16


def orthogonalise(
    matrices: torch.Tensor,
    coefficients: tuple[float, float, float],
    steps: int,
    eps: float,
    dtype: torch.dtype = torch.bfloat16,
) -> torch.Tensor:
    """torch's quintic Newton-Schulz iteration (``_zeropower_via_newtonschulz``) for a stack of
    same-shape matrices ``(n, rows, columns)``, in ``dtype``, each normalised by its own norm."""
    a, b, c = coefficients
    x = matrices.to(dtype)
    tall = x.size(1) > x.size(2)
    if tall:
        x = x.mT
    x = x / x.norm(dim=(1, 2), keepdim=True).clamp(min=eps)
    for _ in range(steps):
        gram = x @ x.mT
        polynomial = torch.baddbmm(gram, gram, gram, beta=b, alpha=c)
        x = torch.baddbmm(x, polynomial, x, beta=a)
    return x.mT if tall else x
