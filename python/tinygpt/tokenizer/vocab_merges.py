"""A bytes-mode tokenizer's spec from a GPT-2-style vocabulary (id -> bytes) and ordered merges,
the shape in which other libraries' files (vocab.json + merges.txt, tokenizer.json) hold one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tinygpt.errors import ConfigError, DataError
from tinygpt.tokenizer.spec import TokenizerSpec


def spec_from_vocab_merges(
    vocab: Mapping[int, bytes],
    merges: Sequence[tuple[bytes, bytes]],
    special_tokens: Mapping[str, int] | Sequence[str] | None = None,
    pattern: str = "gpt2",
) -> TokenizerSpec:
    """See :meth:`BPETokenizer.from_vocab_merges`, which builds the tokenizer from this spec."""
    ids_of: dict[bytes, int] = {}
    for token_id, token in vocab.items():
        if not isinstance(token, (bytes, bytearray)):
            raise DataError(f"vocab[{token_id}] must be bytes, got {type(token).__name__}")
        if bytes(token) in ids_of:
            raise DataError(f"vocab holds {bytes(token)!r} twice (ids {ids_of[bytes(token)]} and {token_id})")
        ids_of[bytes(token)] = int(token_id)
    specials = _special_ids(special_tokens, ids_of, max(vocab, default=-1) + 1)
    special_bytes = {name.encode("utf-8") for name in specials}
    missing = [b for b in range(256) if bytes([b]) not in ids_of]
    if missing:
        raise DataError(f"vocab lacks the single-byte token {bytes([missing[0]])!r} ({len(missing)} bytes missing)")
    base = [(bytes([b]), ids_of[bytes([b])]) for b in range(256)]
    merge_ids = []
    for number, (left, right) in enumerate(merges):
        try:
            merge_ids.append((ids_of[left], ids_of[right], ids_of[left + right]))
        except KeyError as exc:
            raise DataError(
                f"merge #{number} ({left!r}, {right!r}) uses {exc.args[0]!r}, which is not in vocab"
            ) from None
    reachable = {t for _, t in base} | {t for _, _, t in merge_ids} | set(specials.values())
    added = {
        token_id: token
        for token, token_id in ids_of.items()
        if token_id not in reachable and token not in special_bytes
    }
    return TokenizerSpec(
        mode="bytes", pattern=pattern, base=base, merges=merge_ids, special_tokens=specials, added_tokens=added
    )


def _special_ids(
    special_tokens: Mapping[str, int] | Sequence[str] | None, ids_of: Mapping[bytes, int], next_id: int
) -> dict[str, int]:
    if special_tokens is None:
        return {}
    if isinstance(special_tokens, Mapping):
        return {str(name): int(token_id) for name, token_id in special_tokens.items()}
    if isinstance(special_tokens, str):
        raise ConfigError("special_tokens must be a sequence of names or a {name: id} mapping, not one str")
    specials = {}
    for name in special_tokens:
        token_id = ids_of.get(name.encode("utf-8"))
        if token_id is None:
            token_id, next_id = next_id, next_id + 1
        specials[name] = token_id
    return specials
