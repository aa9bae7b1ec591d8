"""Characters outside a closed words-mode alphabet: counted, so that an evaluation can say how
much of the text it could not score and compute bits per byte over the bytes it did score."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tinygpt.tokenizer.bpe import BPETokenizer


@dataclass
class UnknownText:
    """Unknown characters met in a text, and what ``policy`` (``on_unknown``) did with them."""

    policy: str
    characters: int = 0
    bytes: int = 0
    _known: dict[int, None] | None = field(default=None, repr=False)

    @classmethod
    def for_tokenizer(cls, tokenizer: BPETokenizer, policy: str) -> UnknownText:
        """A counter for ``tokenizer``; it counts nothing when every character is encodable
        (bytes mode, or words mode with byte fallback)."""
        closed = tokenizer.mode == "words" and not tokenizer.byte_fallback
        known = dict.fromkeys(map(ord, tokenizer.alphabet)) if closed else None
        return cls(policy, _known=known)

    @property
    def counting(self) -> bool:
        """False when every character is encodable, so there is nothing to count."""
        return self._known is not None

    def add(self, texts: Iterable[str]) -> None:
        for text in texts:
            self._count(text)

    def scored_sizes(self, texts: Sequence[str], sizes: np.ndarray) -> np.ndarray:
        """Counts the texts' unknown characters and returns their UTF-8 ``sizes`` as encoded
        (unknown characters skipped or replaced): what bits per byte must be computed over."""
        if self._known is None:
            return sizes
        scored = np.array(sizes, dtype=np.int64)
        for index, text in enumerate(texts):
            characters, removed = self._count(text)
            if characters:
                scored[index] = self._scored(int(scored[index]), characters, removed)
        return scored

    def scored_bytes(self, text_bytes: int) -> int:
        """UTF-8 bytes of the text as encoded: unknown characters skipped or replaced."""
        return self._scored(text_bytes, self.characters, self.bytes)

    def _count(self, text: str) -> tuple[int, int]:
        """The unknown characters of ``text`` and their UTF-8 bytes, added to the totals."""
        if self._known is None:
            return 0, 0
        unknown = text.translate(self._known)  # drops every known character, in C
        if not unknown:
            return 0, 0
        size = len(unknown.encode("utf-8", errors="surrogatepass"))
        self.characters += len(unknown)
        self.bytes += size
        return len(unknown), size

    def _scored(self, text_bytes: int, characters: int, removed: int) -> int:
        if self.policy == "skip":
            return text_bytes - removed
        if len(self.policy) == 1:
            return text_bytes - removed + characters * len(self.policy.encode("utf-8"))
        return text_bytes

    def describe(self) -> str:
        """One line for a report, e.g. ``3 unknown characters (6 bytes), skipped``."""
        done = {"skip": "skipped", "error": "none allowed"}.get(self.policy, f"replaced by {self.policy!r}")
        return f"{self.characters:,} unknown characters ({self.bytes:,} bytes), {done}"

    def to_dict(self) -> dict[str, int | str]:
        return {"unknown_characters": self.characters, "unknown_bytes": self.bytes, "unknown_policy": self.policy}
