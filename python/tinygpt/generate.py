"""Text from a GPT: prompts in, streamed or batched continuations out, cut at stop strings.

The token-level loop (KV cache, sliding window, sampling) is ``tinygpt.model.decoding``; this
module turns its ids into whole characters and stops where the caller asked.
"""

from __future__ import annotations

import codecs
from typing import Callable, Iterator, Sequence

import torch

from tinygpt.errors import ConfigError
from tinygpt.model.decoding import TokenSampler, sample_tokens
from tinygpt.model.gpt import GPT
from tinygpt.tokenizer.bpe import BPETokenizer


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
        sampler: TokenSampler = TokenSampler(),
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
        self.sampler = sampler
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
            self.model,
            prompt,
            self.max_new_tokens,
            self.sampler,
            generator=self.generator,
            stop_ids=() if eot is None else (eot,),
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
    sampler: TokenSampler = TokenSampler(),
    *,
    generator: torch.Generator | None = None,
    stop: Sequence[str] = (),
) -> list[str]:
    """Continuations of several tokenized prompts, sampled in batches.

    Prompts of equal length share one batch (they share positions, so the cache and the sliding
    window stay exact for every row); results come back in the order of ``prompts``. Ctrl-C
    raises GenerationInterrupted holding the text sampled so far, which is never lost.
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
        steps: list[torch.Tensor] = []
        interrupted = False
        try:
            steps.extend(
                sample_tokens(
                    model, batch, max_new_tokens, sampler, generator=generator, stop_ids=() if eot is None else (eot,)
                )
            )
        except KeyboardInterrupt:
            interrupted = True
        rows = torch.stack(steps, dim=1).tolist() if steps else [[] for _ in indices]
        for index, row in zip(indices, rows):
            if eot in row:
                row = row[: row.index(eot)]
            texts[index] = PieceDecoder(tokenizer.token_bytes, stop).decode_all(row)
        if interrupted:
            raise GenerationInterrupted(texts)
    return texts


class GenerationInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``generate_texts``; ``texts`` holds every prompt's continuation so far
    (empty for prompts not yet started)."""

    def __init__(self, texts: list[str]) -> None:
        super().__init__("generation interrupted")
        self.texts = texts
