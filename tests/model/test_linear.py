"""tinygpt.model.linear and tinygpt._matvec: the one-row product of decoding, against F.linear."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from tests.generate.generation_run import one_cpu_thread  # noqa: F401 (autouse)
from tinygpt import _matvec
from tinygpt.model import GPT, GPTConfig
from tinygpt.model import linear as linear_module
from tinygpt.model.linear import Linear


def decoding_layer(in_features: int, out_features: int, bias: bool) -> Linear:
    """A Linear with random weights kept [in, out] in memory, as GPT.use_decoding_layout() keeps them."""
    layer = Linear(in_features, out_features, bias=bias)
    with torch.no_grad():
        layer.weight.normal_()
        if bias:
            layer.bias.normal_()
        layer.weight.data = layer.weight.data.t().contiguous().t()
    return layer


@settings(max_examples=60, deadline=None)
@given(
    in_features=st.integers(1, 70),
    out_features=st.integers(1, 70),
    bias=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_one_row_equals_f_linear(in_features, out_features, bias, seed):
    """Every shape, odd ones included (the kernel works 4 rows and a vector width at a time)."""
    torch.manual_seed(seed)
    layer = decoding_layer(in_features, out_features, bias)
    x = torch.randn(1, 1, in_features)
    with torch.inference_mode():
        assert layer.streams_rows()
        got = layer(x)
    assert got.shape == (1, 1, out_features)
    torch.testing.assert_close(got, F.linear(x, layer.weight.detach(), layer.bias), rtol=1e-5, atol=1e-5)


def test_gpt2_sized_matrices_equal_f_linear():
    """The shapes decoding a GPT-2 multiplies: long rows, and a head wider than the L2 cache."""
    torch.manual_seed(0)
    for in_features, out_features in [(768, 2304), (3072, 768), (768, 50257)]:
        layer = decoding_layer(in_features, out_features, bias=True)
        x = torch.randn(1, in_features)
        with torch.inference_mode():
            assert layer.streams_rows()
            got = layer(x)
        torch.testing.assert_close(got, F.linear(x, layer.weight.detach(), layer.bias), rtol=1e-4, atol=1e-3)


@pytest.fixture
def kernel_calls(monkeypatch) -> list[tuple[int, ...]]:
    """The shapes of the weights that go through tinygpt._matvec, recorded as it runs."""
    calls: list[tuple[int, ...]] = []
    kernel = _matvec.row_times_matrix

    def recording(x, w, bias, out):
        calls.append(w.shape)
        kernel(x, w, bias, out)

    monkeypatch.setattr(linear_module._matvec, "row_times_matrix", recording)
    return calls


@pytest.mark.parametrize(
    "case",
    ["one row", "several rows", "autograd on", "nn.Linear layout", "float64", "two threads"],
)
def test_only_one_float32_row_without_autograd_on_one_thread_streams(case, kernel_calls):
    """Everything else is F.linear itself; either way the result is F.linear's."""
    torch.manual_seed(0)
    layer = decoding_layer(5, 3, bias=True)
    x = torch.randn(1, 5)
    if case == "several rows":
        x = torch.randn(2, 1, 5)
    if case == "nn.Linear layout":
        layer.weight.data = layer.weight.data.contiguous()
    if case == "float64":
        layer, x = layer.double(), x.double()
    threads = torch.get_num_threads()
    torch.set_num_threads(2 if case == "two threads" else 1)
    try:
        with torch.set_grad_enabled(case == "autograd on"):
            got = layer(x)
    finally:
        torch.set_num_threads(threads)
    assert kernel_calls == ([(5, 3)] if case == "one row" else [])
    torch.testing.assert_close(got, F.linear(x, layer.weight, layer.bias))
    if case == "autograd on":
        got.sum().backward()
        assert layer.weight.grad is not None


def test_a_replaced_weight_is_streamed_as_it_is_now(kernel_calls):
    """The layer's numpy views follow the weight: new values in place, a new tensor, a new layout."""
    layer = decoding_layer(4, 6, bias=True)
    x = torch.randn(1, 4)
    with torch.no_grad():
        layer(x)
        layer.weight.mul_(2)
        torch.testing.assert_close(layer(x), F.linear(x, layer.weight, layer.bias))
        layer.weight.data = torch.randn(4, 6).t()
        layer.bias.data = torch.randn(6)
        torch.testing.assert_close(layer(x), F.linear(x, layer.weight, layer.bias))
        layer.weight.data = torch.randn(6, 4)
        torch.testing.assert_close(layer(x), F.linear(x, layer.weight, layer.bias))
    assert len(kernel_calls) == 3


def test_copies_and_pickles_leave_the_views_behind():
    layer = decoding_layer(4, 6, bias=False)
    assert layer.streams_rows()
    copied = copy.deepcopy(layer)
    assert "_row_plan" not in copied.__dict__
    with torch.no_grad():
        x = torch.randn(1, 4)
        torch.testing.assert_close(copied(x), layer(x))
    assert pickle.loads(pickle.dumps(layer)).streams_rows()


def test_greedy_decoding_same_tokens_in_both_layouts():
    """The decoding layout changes which product runs, never which tokens come out."""
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=97, embedding_size=40, context_length=32, head_count=4, block_count=2, bias=True)
    plain = GPT(config).eval()
    streamed = GPT(config).eval()
    streamed.load_state_dict(plain.state_dict())
    streamed.use_decoding_layout()
    prompt = torch.tensor([[1, 2, 3, 4]])
    assert plain.generate(prompt, 20, greedy=True).tolist() == streamed.generate(prompt, 20, greedy=True).tolist()
    with torch.inference_mode():
        torch.testing.assert_close(streamed(prompt), plain(prompt), rtol=1e-5, atol=1e-5)


def arrays(in_features: int = 4, out_features: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x, w, bias and out of matching shapes for _matvec.row_times_matrix."""
    return (
        np.ones(in_features, np.float32),
        np.ones((in_features, out_features), np.float32),
        np.ones(out_features, np.float32),
        np.empty(out_features, np.float32),
    )


def test_matvec_computes_bias_plus_product():
    x, w, bias, out = arrays()
    _matvec.row_times_matrix(x, w, bias, out)
    assert out.tolist() == [5.0, 5.0, 5.0]
    _matvec.row_times_matrix(x, w, None, out)
    assert out.tolist() == [4.0, 4.0, 4.0]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda x, w, b, o: (x[:3], w, b, o), r"x \(3,\) and out \(3,\) do not fit w \(4, 3\)"),
        (lambda x, w, b, o: (x, w, b, o[:2]), r"x \(4,\) and out \(2,\) do not fit w \(4, 3\)"),
        (lambda x, w, b, o: (x, w, b[:1], o), r"bias \(1,\) does not fit w \(4, 3\)"),
        (lambda x, w, b, o: (x[None], w, b, o), r"needs x \(in,\), w \(in, out\) and out \(out,\); got x \(1, 4\)"),
    ],
)
def test_matvec_refuses_shapes_that_do_not_fit(change, message):
    """The compiled code checks every shape itself: a wrong one is an error, never a stray read."""
    with pytest.raises(ValueError, match=message):
        _matvec.row_times_matrix(*change(*arrays()))


@pytest.mark.parametrize("bad", ["float64 w", "strided w", "read-only out"])
def test_matvec_refuses_arrays_it_would_have_to_copy(bad):
    """No silent conversion: a copy of a large matrix per token would undo the point of the kernel."""
    x, w, bias, out = arrays()
    if bad == "float64 w":
        w = w.astype(np.float64)
    if bad == "strided w":
        w = np.ones((3, 4), np.float32).T
    if bad == "read-only out":
        out.flags.writeable = False
    with pytest.raises((TypeError, ValueError)):
        _matvec.row_times_matrix(x, w, bias, out)
