"""Sampling from a GPT with a KV cache, exactly as gpt-rs's recompute-everything loop would.

gpt-rs feeds the last ``context_length`` tokens through the model for every new token, each at
position 0..n-1 of that window. While the text fits in the context, a token's keys and values never
change, so we cache them and feed only the new token. Once the text outgrows the context, the
window slides by one every step, every token moves to a new absolute position, and every cached
key/value is stale; the only exact answer is to rebuild the whole window each step (one batched
forward of ``context_length`` tokens, the head applied to the last position only). Keeping a
shorter window and re-filling it every k steps would be cheaper but would condition on fewer
tokens than gpt-rs does, so greedy decoding would no longer match it; we do not do that.
"""

from __future__ import annotations

import codecs
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Collection, Iterator, Sequence

import torch

from tinygpt.errors import ConfigError

if TYPE_CHECKING:
    from tinygpt.model import GPT
    from tinygpt.tokenizer import BPETokenizer


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen from the logits; gpt-rs's default is temperature 0.7."""

    temperature: float = 0.7
    top_k: int | None = None
    top_p: float | None = None
    greedy: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.temperature, (int, float)) and math.isfinite(self.temperature)
                and self.temperature > 0):
            raise ConfigError(f"temperature must be a number > 0, got {self.temperature!r}")
        if self.top_k is not None and (isinstance(self.top_k, bool) or not isinstance(self.top_k, int)
                                       or self.top_k < 1):
            raise ConfigError(f"top_k must be an integer >= 1, got {self.top_k!r}")
        if self.top_p is not None and not (isinstance(self.top_p, (int, float)) and 0 < self.top_p <= 1):
            raise ConfigError(f"top_p must be a number in (0, 1], got {self.top_p!r}")

    def choose(self, logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Next ids (B,) from logits (B, vocab)."""
        if self.greedy:
            return logits.argmax(dim=-1)
        # Shift so the best logit is 0: a tiny temperature then gives -inf, never inf - inf = NaN.
        logits = logits.float()
        logits = (logits - logits.amax(dim=-1, keepdim=True)) / self.temperature
        if self.top_k is not None and self.top_k < logits.shape[-1]:
            kth_best = logits.topk(self.top_k, dim=-1).values[:, -1:]
            logits = logits.masked_fill(logits < kth_best, -math.inf)
        probs = torch.softmax(logits, dim=-1)
        if self.top_p is not None and self.top_p < 1:
            probs = _nucleus(probs, self.top_p)
        return torch.multinomial(probs, 1, generator=generator).squeeze(1)


def _nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose mass reaches ``top_p`` (at least one)."""
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    sorted_probs = sorted_probs.masked_fill(mass_before >= top_p, 0.0)
    return torch.zeros_like(probs).scatter(-1, order, sorted_probs)


class WindowedDecoder:
    """Next-token logits for a growing sequence, conditioned on its last ``context_length`` ids.

    Only that window is kept, so a long generation costs the same per token throughout.
    """

    def __init__(self, model: GPT, batch_size: int, device: torch.device):
        from tinygpt.model import KVCache

        self.model = model
        self.context_length = model.config.context_length
        dtype = next(model.parameters()).dtype
        self.cache = KVCache(model.config, batch_size, device=device, dtype=dtype)
        self.window = torch.empty(batch_size, 0, dtype=torch.long, device=device)
        self.slid = False

    def append(self, new: torch.Tensor) -> torch.Tensor:
        """Add ids ``new`` (B, k); return the logits (B, vocab) for the token after them."""
        self.window = torch.cat([self.window, new], dim=1)
        if self.window.shape[1] > self.context_length:
            self.window = self.window[:, -self.context_length :]
            self.slid = True
        if self.slid:
            # Every position changed, so nothing cached is valid (module doc): rebuild the window.
            return self.model(self.window, last_only=True)[:, -1]
        return self.model(new, cache=self.cache, last_only=True)[:, -1]


@torch.inference_mode()
def sample_tokens(
    model: GPT,
    prompt: torch.Tensor,
    max_new_tokens: int,
    sampling: Sampling = Sampling(),
    *,
    generator: torch.Generator | None = None,
    stop_ids: Collection[int] = (),
) -> Iterator[torch.Tensor]:
    """Yield the next ids (B,) of every row, one step at a time, for up to ``max_new_tokens`` steps.

    Stops early once every row has produced one of ``stop_ids`` (rows that stopped keep
    receiving tokens until then; callers cut them). The model is put in eval mode meanwhile.
    """
    if prompt.dim() != 2 or prompt.shape[1] == 0:
        raise ConfigError(f"prompt must be a non-empty (batch, tokens) tensor, got shape {tuple(prompt.shape)}")
    if max_new_tokens < 0:
        raise ConfigError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    was_training = model.training
    model.eval()
    try:
        decoder = WindowedDecoder(model, prompt.shape[0], prompt.device)
        stops = torch.tensor(sorted(stop_ids), dtype=torch.long, device=prompt.device)
        finished = torch.zeros(prompt.shape[0], dtype=torch.bool, device=prompt.device)
        logits = decoder.append(prompt.long())
        for step in range(max_new_tokens):
            chosen = sampling.choose(logits, generator)
            yield chosen
            if len(stops):
                finished |= torch.isin(chosen, stops)
                if bool(finished.all()):
                    return
            if step + 1 < max_new_tokens:
                logits = decoder.append(chosen[:, None])
            if len(stops):
                finished |= torch.isin(chosen, stops)
                if bool(finished.all()):
                    return
    finally:
        model.train(was_training)


class _StopStrings:
    """Holds back text that might be the start of a stop string until it is known not to be."""

    def __init__(self, stops: Sequence[str]):
        self.stops = [s for s in stops if s]
        self.pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Text that is safe to show now; sets ``stopped`` (and drops the rest) at a stop string."""
        if self.stopped:
            return ""
        self.pending += text
        hits = [i for i in (self.pending.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.stopped = True
            shown, self.pending = self.pending[: min(hits)], ""
            return shown
        keep = max((_overlap(self.pending, s) for s in self.stops), default=0)
        cut = len(self.pending) - keep
        shown, self.pending = self.pending[:cut], self.pending[cut:]
        return shown

    def flush(self) -> str:
        shown, self.pending = self.pending, ""
        return shown


def _overlap(text: str, stop: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``stop``."""
    for size in range(min(len(text), len(stop) - 1), 0, -1):
        if text.endswith(stop[:size]):
            return size
    return 0


class PieceDecoder:
    """Token ids in, text pieces out: each piece ends on a whole character, none passes a stop string.

    Byte-level tokens may split a UTF-8 character; its bytes wait until it is complete. Text that
    could be the start of a stop string waits until it is known not to be one.
    """

    def __init__(self, token_bytes: Callable[[int], bytes], stop: Sequence[str] = ()):
        self.token_bytes = token_bytes
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._stops = _StopStrings(stop)

    @property
    def stopped(self) -> bool:
        """True once a stop string appeared; nothing after it is ever returned."""
        return self._stops.stopped

    def feed(self, token: int) -> str:
        return self._stops.feed(self._utf8.decode(self.token_bytes(token)))

    def finish(self) -> str:
        """What is still held back (a dangling partial character becomes U+FFFD)."""
        return self._stops.feed(self._utf8.decode(b"", final=True)) + self._stops.flush()

    def decode_all(self, tokens: Sequence[int]) -> str:
        return "".join(self.feed(t) for t in tokens) + self.finish()


class TextStream:
    """The continuation of one prompt, iterated as text pieces (see ``PieceDecoder``).

    After iteration ``token_ids`` holds the sampled ids (end-of-text excluded) and
    ``finish_reason`` says why it ended: "length", "end_of_text" or "stop" (a stop string,
    which is not shown); it is None while running or after an interruption.
    """

    def __init__(
        self,
        model: GPT,
        tokenizer: BPETokenizer,
        prompt_ids: Sequence[int],
        max_new_tokens: int,
        sampling: Sampling = Sampling(),
        *,
        generator: torch.Generator | None = None,
        stop: Sequence[str] = (),
    ):
        if not prompt_ids:
            raise ConfigError("the prompt is empty: give at least one character to continue from")
        self.model = model
        self.tokenizer = tokenizer
        self.prompt_ids = list(prompt_ids)
        self.max_new_tokens = max_new_tokens
        self.sampling = sampling
        self.generator = generator
        self.stop = tuple(stop)
        self.token_ids: list[int] = []
        self.finish_reason: str | None = None

    def __iter__(self) -> Iterator[str]:
        device = next(self.model.parameters()).device
        prompt = torch.tensor([self.prompt_ids], dtype=torch.long, device=device)
        eot = self.tokenizer.eot_id
        pieces = PieceDecoder(self.tokenizer.token_bytes, self.stop)
        steps = sample_tokens(
            self.model, prompt, self.max_new_tokens, self.sampling,
            generator=self.generator, stop_ids=() if eot is None else (eot,),
        )
        reason = "length"
        try:
            for step in steps:
                token = int(step[0])
                if token == eot:
                    reason = "end_of_text"
                    break
                self.token_ids.append(token)
                piece = pieces.feed(token)
                if piece:
                    yield piece
                if pieces.stopped:
                    break
            tail = pieces.finish()
            if tail:
                yield tail
            self.finish_reason = "stop" if pieces.stopped else reason
        finally:
            steps.close()


def generate_texts(
    model: GPT,
    tokenizer: BPETokenizer,
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    sampling: Sampling = Sampling(),
    *,
    generator: torch.Generator | None = None,
    stop: Sequence[str] = (),
) -> list[str]:
    """Continuations of several tokenized prompts, sampled in batches.

    Prompts of equal length share one batch (they share positions, so the cache and the sliding
    window stay exact for every row); results come back in the order of ``prompts``.
    """
    if any(len(p) == 0 for p in prompts):
        raise ConfigError("every prompt needs at least one token")
    device = next(model.parameters()).device
    eot = tokenizer.eot_id
    by_length: dict[int, list[int]] = {}
    for index, prompt in enumerate(prompts):
        by_length.setdefault(len(prompt), []).append(index)
    texts: list[str] = [""] * len(prompts)
    for indices in by_length.values():
        batch = torch.tensor([list(prompts[i]) for i in indices], dtype=torch.long, device=device)
        steps = sample_tokens(model, batch, max_new_tokens, sampling, generator=generator,
                              stop_ids=() if eot is None else (eot,))
        rows = torch.stack(list(steps), dim=1).tolist() if max_new_tokens else [[] for _ in indices]
        for index, row in zip(indices, rows):
            if eot in row:
                row = row[: row.index(eot)]
            texts[index] = PieceDecoder(tokenizer.token_bytes, stop).decode_all(row)
    return texts
