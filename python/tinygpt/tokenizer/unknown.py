"""Characters outside a closed words-mode alphabet: counted, so that an evaluation can say how
much of the text it could not score and compute bits per byte over the bytes it did score."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

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

    def add(self, texts: Iterable[str]) -> None:
        if self._known is None:
            return
        for text in texts:
            unknown = text.translate(self._known)  # drops every known character, in C
            if unknown:
                self.characters += len(unknown)
                self.bytes += len(unknown.encode("utf-8", errors="surrogatepass"))

    def scored_bytes(self, text_bytes: int) -> int:
        """UTF-8 bytes of the text as encoded: unknown characters skipped or replaced."""
        if self.policy == "skip":
            return text_bytes - self.bytes
        if len(self.policy) == 1:
            return text_bytes - self.bytes + self.characters * len(self.policy.encode("utf-8"))
        return text_bytes

    def describe(self) -> str:
        """One line for a report, e.g. ``3 unknown characters (6 bytes), skipped``."""
        done = {"skip": "skipped", "error": "none allowed"}.get(self.policy, f"replaced by {self.policy!r}")
        return f"{self.characters:,} unknown characters ({self.bytes:,} bytes), {done}"

    def to_dict(self) -> dict[str, int | str]:
        return {"unknown_characters": self.characters, "unknown_bytes": self.bytes, "unknown_policy": self.policy}
