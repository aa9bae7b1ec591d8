"""tinygpt.generate token sampling: KV-cache decoding is exactly gpt-rs's recompute loop."""

from __future__ import annotations

import pytest
import torch

from tests.generate.generation_run import one_cpu_thread  # noqa: F401 (autouse)
from tests.reference.gptrs_model import randomize
from tinygpt.errors import ConfigError
from tinygpt.model import GPT, GPTConfig
from tinygpt.model.decoding import TokenSampler, WindowedDecoder, sample_tokens

CONFIG = GPTConfig(vocab_size=40, embedding_size=24, context_length=8, head_count=3, block_count=2)


@pytest.fixture(scope="module")
def model() -> GPT:
    model = GPT(CONFIG).double()
    randomize(model, seed=1)
    return model.eval()


def recompute_loop(model: GPT, prompt: torch.Tensor, count: int, sampling: TokenSampler, seed: int) -> torch.Tensor:
    """gpt-rs's loop: feed the last context_length tokens every step, sample from the last logits."""
    generator = torch.Generator().manual_seed(seed)
    tokens = prompt
    for _ in range(count):
        logits = model(tokens[:, -CONFIG.context_length :])[:, -1]
        tokens = torch.cat([tokens, sampling.choose(logits, generator)[:, None]], dim=1)
    return tokens


@pytest.mark.parametrize("prompt_length", [1, 5, 8, 11])
def test_greedy_with_cache_equals_recomputing_the_window(model, prompt_length):
    """Same tokens as the original, before and long after the text outgrows the context."""
    prompt = torch.randint(0, CONFIG.vocab_size, (3, prompt_length), generator=torch.Generator().manual_seed(7))
    expected = recompute_loop(model, prompt, 30, TokenSampler(greedy=True), seed=0)
    assert torch.equal(model.generate(prompt, 30, greedy=True), expected)


@pytest.mark.parametrize("prompt_length", [1, 11])
def test_sampling_with_cache_draws_what_the_recompute_loop_draws(model, prompt_length):
    """With the same generator, cached sampling takes the same (diverse) path as gpt-rs's loop.

    Random-weight models fall into short greedy loops, so this also checks the logits of many
    different contexts, through the cache and across the sliding window.
    """
    prompt = torch.randint(0, CONFIG.vocab_size, (2, prompt_length), generator=torch.Generator().manual_seed(3))
    expected = recompute_loop(model, prompt, 40, TokenSampler(temperature=1.0), seed=11)
    assert len(set(expected[0, prompt_length:].tolist())) > 10
    ours = model.generate(prompt, 40, temperature=1.0, generator=torch.Generator().manual_seed(11))
    assert torch.equal(ours, expected)


def test_generate_shape_and_prompt_are_kept(model):
    prompt = torch.randint(0, CONFIG.vocab_size, (2, 3))
    out = model.generate(prompt, 12)
    assert out.shape == (2, 15)
    assert torch.equal(out[:, :3], prompt)
    assert int(out.max()) < CONFIG.vocab_size


def test_same_seed_same_sample_different_seed_differs(model):
    prompt = torch.zeros(2, 1, dtype=torch.long)
    first = model.generate(prompt, 40, temperature=1.5, generator=torch.Generator().manual_seed(5))
    again = model.generate(prompt, 40, temperature=1.5, generator=torch.Generator().manual_seed(5))
    other = model.generate(prompt, 40, temperature=1.5, generator=torch.Generator().manual_seed(6))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_top_k_one_and_tiny_top_p_are_greedy(model):
    prompt = torch.randint(0, CONFIG.vocab_size, (2, 4))
    greedy = model.generate(prompt, 20, greedy=True)
    assert torch.equal(model.generate(prompt, 20, temperature=5.0, top_k=1), greedy)
    assert torch.equal(model.generate(prompt, 20, temperature=5.0, top_p=1e-9), greedy)


def test_top_k_and_top_p_restrict_the_support():
    """Samples only ever come from the k best tokens / the smallest nucleus reaching p."""
    logits = torch.log(torch.tensor([[0.4, 0.3, 0.2, 0.06, 0.04]]))
    generator = torch.Generator().manual_seed(0)
    top_k = {int(TokenSampler(temperature=1.0, top_k=2).choose(logits, generator)) for _ in range(300)}
    assert top_k == {0, 1}
    top_p = {int(TokenSampler(temperature=1.0, top_p=0.85).choose(logits, generator)) for _ in range(300)}
    assert top_p == {0, 1, 2}


def test_temperature_sharpens_the_distribution():
    logits = torch.log(torch.tensor([[0.6, 0.4]]))
    generator = torch.Generator().manual_seed(0)
    cold = sum(int(TokenSampler(temperature=0.1).choose(logits, generator)) for _ in range(400))
    warm = sum(int(TokenSampler(temperature=1.0).choose(logits, generator)) for _ in range(400))
    assert cold < 20 < 100 < warm


def test_stop_ids_end_generation_when_every_row_has_stopped(model):
    prompt = torch.randint(0, CONFIG.vocab_size, (1, 2))
    steps = list(sample_tokens(model, prompt, 50, TokenSampler(greedy=True)))
    stop = int(steps[3])
    stopped = list(sample_tokens(model, prompt, 50, TokenSampler(greedy=True), stop_ids={stop}))
    first_stop = next(i for i, t in enumerate(steps) if int(t) == stop)
    assert len(stopped) == first_stop + 1


def test_generation_restores_training_mode(model):
    model.train()
    model.generate(torch.zeros(1, 1, dtype=torch.long), 3)
    assert model.training
    model.eval()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"temperature": 0}, "temperature must be a number > 0"),
        ({"temperature": float("nan")}, "temperature"),
        ({"top_k": 0}, "top_k must be an integer >= 1"),
        ({"top_p": 1.5}, "top_p must be a number in \\(0, 1\\]"),
    ],
)
def test_bad_sampling_options_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        TokenSampler(**options)


def test_empty_prompt_is_rejected(model):
    with pytest.raises(ConfigError, match="non-empty"):
        model.generate(torch.zeros(1, 0, dtype=torch.long), 3)


def test_decoder_keeps_only_the_window(model):
    """A long generation holds context_length ids, not the whole text (constant cost per token)."""
    decoder = WindowedDecoder(model, 1, torch.device("cpu"))
    text = torch.randint(0, CONFIG.vocab_size, (1, 40))
    decoder.append(text[:, :3])
    for position in range(3, 40):
        logits = decoder.append(text[:, position : position + 1])
        assert decoder.window.shape[1] == min(position + 1, CONFIG.context_length)
    expected = model(text[:, -CONFIG.context_length :])[:, -1]
    torch.testing.assert_close(logits, expected)


def test_tiny_temperature_is_greedy_not_nan():
    logits = torch.tensor([[1000.0, 999.0, -5.0]])
    assert int(TokenSampler(temperature=1e-30).choose(logits, torch.Generator().manual_seed(0))) == 0
