"""nn.Linear with a faster product for the one-row case that decoding a token is.

Decoding reads every weight matrix once per token, so its speed is the speed of reading them
from memory. For one row on one thread torch's product read GPT-2's matrices well below the rate
this core reads memory at; ``tinygpt._matvec`` reads each matrix front to back and comes close
to it (docs/huggingface.md#speed has the figures). It needs the matrix
stored ``[in, out]`` in memory, which is what ``GPT.use_decoding_layout()`` does, so the fast
path is taken only after that call.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from tinygpt import _matvec


class _RowPlan(NamedTuple):
    """numpy views of one layer's weight ``[in, out]`` and bias, for the tensors at these addresses."""

    weight_address: int
    bias_address: int
    weight: np.ndarray | None
    bias: np.ndarray | None


class Linear(nn.Linear):
    """``nn.Linear`` (same parameters, names and results) whose one-row products on one CPU
    thread, without autograd, stream the weight through ``tinygpt._matvec`` when it is kept
    ``[in, out]`` in memory.

    >>> layer = Linear(3, 2)
    >>> x = torch.ones(1, 1, 3)
    >>> torch.equal(layer(x), F.linear(x, layer.weight, layer.bias))
    True
    """

    _row_plan: _RowPlan | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            x.numel() == self.in_features
            and not torch.is_grad_enabled()
            and torch.get_num_threads() == 1
            and x.dtype == torch.float32
            and x.is_cpu
        ):
            plan = self._plan()
            if plan.weight is not None:
                out = torch.empty(x.shape[:-1] + (self.out_features,))
                _matvec.row_times_matrix(x.detach().reshape(-1).numpy(), plan.weight, plan.bias, out.view(-1).numpy())
                return out
        return F.linear(x, self.weight, self.bias)

    def streams_rows(self) -> bool:
        """Whether a one-row product would stream (float32 weight and bias kept [in, out] on the CPU)."""
        return self._plan().weight is not None

    def _plan(self) -> _RowPlan:
        """The numpy views of the current weight and bias, made again whenever either is replaced.

        The views keep the tensors they were made from alive, so a replacement never reuses their
        address and the address check cannot be fooled; values changed in place are seen as they are.
        """
        weight, bias = self.weight, self.bias
        bias_address = 0 if bias is None else bias.data_ptr()
        plan = self._row_plan
        if plan is not None and plan.weight_address == weight.data_ptr() and plan.bias_address == bias_address:
            return plan
        streams = (
            weight.dtype == torch.float32
            and weight.is_cpu
            and weight.t().is_contiguous()
            and (bias is None or (bias.dtype == torch.float32 and bias.is_cpu and bias.is_contiguous()))
        )
        plan = _RowPlan(
            weight.data_ptr(),
            bias_address,
            weight.detach().t().numpy() if streams else None,
            None if bias is None or not streams else bias.detach().numpy(),
        )
        self._row_plan = plan
        return plan

    def __getstate__(self) -> dict[str, Any]:
        """Pickles (copy.deepcopy, torch.save of a module) leave the plan out; it is made again."""
        state = dict(self.__dict__)
        state.pop("_row_plan", None)
        return state
