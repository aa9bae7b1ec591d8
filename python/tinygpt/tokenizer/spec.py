"""The plain data that defines a BPE tokenizer.

Training produces a ``TokenizerSpec``, a tokenizer file holds one, and ``BPETokenizer`` is built
from one; so training and file reading never need the class itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

MODES = ("bytes", "words")
ENDOFTEXT = "<|endoftext|>"
# gpt-rs never merges these characters in words mode.
DEFAULT_DO_NOT_MERGE = ('"', "\n")
# The one special-token policy, the default of every encoding method (docs/tokenizer.md,
# "Special tokens"): a special token written in text is plain text unless the caller names it.
DEFAULT_ALLOWED_SPECIAL = "none"


@dataclass(frozen=True)
class TokenizerSpec:
    """Mode, pre-tokenisation, base tokens, ordered merges and special tokens, all by id.

    ``base`` holds ``(token bytes, id)`` for the 256 bytes (bytes mode) or the alphabet's
    characters as UTF-8 (words mode); ``merges`` holds ``(first_id, second_id, new_id)``;
    ``added_tokens`` holds entries that only decode; ``byte_fallback`` (words mode) the id of
    each byte value.
    The fields are ``BPETokenizer``'s keyword arguments (``BPETokenizer.from_spec``).
    """

    mode: str
    pattern: str | None
    base: Sequence[tuple[bytes, int]]
    merges: Sequence[tuple[int, int, int]]
    special_tokens: Mapping[str, int]
    do_not_merge: Sequence[str] = field(default=())
    added_tokens: Mapping[int, bytes] | None = None
    byte_fallback: Sequence[int] | None = None

    @property
    def alphabet(self) -> list[str]:
        """Words mode: the base characters in id order (empty in bytes mode)."""
        if self.mode != "words":
            return []
        return [token.decode("utf-8") for token, _ in sorted(self.base, key=lambda item: item[1])]
