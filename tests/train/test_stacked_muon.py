"""StackedMuon steps like torch.optim.Muon, matrix by matrix, and shares its state format."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch.optim._muon import _adjust_lr, _zeropower_via_newtonschulz

import tinygpt.train.muon
from tinygpt.train.muon import StackedMuon, iteration_dtype, orthogonalise, shape_scale

COEFFICIENTS = (3.4445, -4.7750, 2.0315)
# Two matrices of each shape, a wide, a square and a tall one, as in a stack of blocks.
SHAPES = ((16, 48), (16, 48), (16, 16), (16, 16), (64, 16), (64, 16))


def matrices() -> list[torch.nn.Parameter]:
    generator = torch.Generator().manual_seed(0)
    return [torch.nn.Parameter(torch.randn(*shape, generator=generator) * 0.1) for shape in SHAPES]


def run(optimizer_class: type[torch.optim.Muon], steps: int, **options: object) -> list[torch.Tensor]:
    params = matrices()
    optimizer = optimizer_class(params, lr=0.02, weight_decay=0.1, **options)
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        for param in params:
            param.grad = torch.randn(param.shape, generator=generator)
        optimizer.step()
    return [p.detach() for p in params]


@pytest.mark.parametrize("options", [{}, {"adjust_lr_fn": "match_rms_adamw"}, {"nesterov": False, "momentum": 0.9}])
def test_steps_like_torchs_muon(options):
    ours, theirs = run(StackedMuon, 5, **options), run(torch.optim.Muon, 5, **options)
    for mine, reference in zip(ours, theirs):
        # bf16 iterations: batched and single products may round differently in the last bit.
        torch.testing.assert_close(mine, reference, atol=2e-3, rtol=0.02)


def test_orthogonalises_each_matrix_of_a_stack_as_torch_does_alone():
    stack = torch.randn(3, 40, 24)
    together = orthogonalise(stack, COEFFICIENTS, 5, 1e-7)
    assert together.shape == stack.shape and together.dtype == torch.bfloat16
    for matrix, result in zip(stack, together):
        alone = _zeropower_via_newtonschulz(matrix, COEFFICIENTS, 5, 1e-7)
        torch.testing.assert_close(result.float(), alone.float(), atol=0.02, rtol=0.05)
    singular_values = torch.linalg.svdvals(together.float())
    assert singular_values.min() > 0.5 and singular_values.max() < 1.3  # near-orthogonal, as torch's


@pytest.mark.parametrize("adjust_lr_fn", [None, "original", "match_rms_adamw"])
@pytest.mark.parametrize("shape", [(16, 48), (48, 16), (32, 32)])
def test_learning_rate_scale_is_torchs(adjust_lr_fn, shape):
    assert math.isclose(shape_scale(adjust_lr_fn, torch.Size(shape)), _adjust_lr(1.0, adjust_lr_fn, torch.Size(shape)))


def test_state_loads_into_torchs_muon_and_back():
    params = matrices()
    ours = StackedMuon(params, lr=0.02)
    for param in params:
        param.grad = torch.ones_like(param)
    ours.step()
    state = copy.deepcopy(ours.state_dict())
    torch.optim.Muon(matrices(), lr=0.02).load_state_dict(state)
    again = StackedMuon(matrices(), lr=0.02)
    again.load_state_dict(state)
    assert all(
        torch.equal(again.state[p]["momentum_buffer"], ours.state[q]["momentum_buffer"])
        for p, q in zip(again.param_groups[0]["params"], params)
    )


def test_matrices_without_gradients_are_left_alone():
    params = matrices()
    before = [p.detach().clone() for p in params]
    params[0].grad = torch.ones_like(params[0])
    StackedMuon(params, lr=0.02).step()
    assert not torch.equal(params[0], before[0])
    assert all(torch.equal(p, b) for p, b in zip(params[1:], before[1:]))


@pytest.fixture
def cpu_without_native_bf16(monkeypatch):
    monkeypatch.setattr(tinygpt.train.muon, "cpu_has_native_bf16", lambda: False)
    iteration_dtype.cache_clear()
    yield
    iteration_dtype.cache_clear()


def test_iterates_in_float32_where_the_cpu_only_emulates_bf16(cpu_without_native_bf16):
    assert iteration_dtype(torch.device("cpu")) == torch.float32
    stack = torch.randn(2, 24, 40)
    exact = orthogonalise(stack, COEFFICIENTS, 5, 1e-7, torch.float32)
    assert exact.dtype == torch.float32
    torch.testing.assert_close(exact, orthogonalise(stack, COEFFICIENTS, 5, 1e-7).float(), atol=0.02, rtol=0.05)
    ours, theirs = run(StackedMuon, 5), run(torch.optim.Muon, 5)
    for mine, reference in zip(ours, theirs):
        torch.testing.assert_close(mine, reference, atol=2e-3, rtol=0.02)
