"""BPETokenizer <-> Hugging Face ``tokenizer.json`` (the file the ``tokenizers`` library runs).

Bytes mode is byte-level BPE: tokens spelled in GPT-2's printable byte alphabet, GPT-2's
pattern as the ``ByteLevel`` pre-tokenizer's own regex, any other pattern as a ``Split``
before it. tinygpt merges a pair whenever the two tokens' bytes form a token (tiktoken's rule);
``tokenizers`` merges only the listed pairs. So every way of splitting a merged token into two
tokens is written as a merge, right after the merge that made it: both then encode alike.

Words mode (gpt-rs's) is character-level BPE: the vocabulary is the characters themselves and
a ``Split`` regex cuts the text as tinygpt's words chunker does (a piece starts before every
space; each do-not-merge character is a piece of its own); ``Fuse`` joins tokens on decoding.
A character outside the alphabet has no token on either side: tinygpt raises by default
(``on_unknown``), ``tokenizers`` (no unknown token) leaves it out.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tinygpt.errors import DataError
from tinygpt.tokenizer.gpt2_files import printable_byte_alphabet
from tinygpt.tokenizer.patterns import NAMED_PATTERNS
from tinygpt.tokenizer.spec import TokenizerSpec
from tinygpt.tokenizer.vocab_merges import spec_from_vocab_merges

# Oniguruma (which tokenizers uses) reads tiktoken's possessive ``{1,3}+`` as "repeat the
# bounded group", so GPT-4's pattern is written in the spelling Hugging Face's own files use.
HF_PATTERNS = {"gpt4": NAMED_PATTERNS["gpt4"].replace(r"\p{N}{1,3}+", r"\p{N}{1,3}")}
_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
_WORDS_REGEX = re.compile(r"\[((?:\\x\{[0-9A-F]+\})*)\]\| \[\^ .*")
_HEX_CHAR = re.compile(r"\\x\{([0-9A-F]+)\}")
_BYTE_TOKEN = re.compile(r"<0x[0-9A-F]{2}>")


def _byte_spelling() -> dict[int, str]:
    """Byte -> the printable character GPT-2's byte-level vocabularies spell it with."""
    return {byte: char for char, byte in printable_byte_alphabet().items()}


def hf_json_text(spec: TokenizerSpec, vocab: Mapping[int, bytes]) -> str:
    """``tokenizer.json`` text that the ``tokenizers`` library encodes to the ids of the
    tokenizer ``spec`` describes (``vocab``: its bytes of every id)."""
    specials = sorted(spec.special_tokens.items(), key=lambda item: item[1])
    if spec.mode == "bytes":
        spell = _byte_spelling()
        names = {token_id: "".join(spell[b] for b in token) for token_id, token in vocab.items()}
        pre_tokenizer = _byte_level_pre_tokenizer(spec.pattern or "gpt2")
        decoder: dict[str, Any] = dict(_BYTE_LEVEL)
        merges = _tiktoken_rule_merges(spec, vocab)
    else:
        # Byte-fallback tokens take SentencePiece's names, which tokenizers' byte_fallback uses.
        names = {token_id: f"<0x{byte:02X}>" for byte, token_id in enumerate(spec.byte_fallback or ())}
        names.update({token_id: token.decode("utf-8") for token_id, token in vocab.items() if token_id not in names})
        pre_tokenizer = {
            "type": "Split",
            "pattern": {"Regex": words_regex(tuple(spec.do_not_merge))},
            "behavior": "Isolated",
            "invert": False,
        }
        decoder = {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]}
        merges = [(a, b) for a, b, _ in spec.merges]
    special_ids = {token_id for _, token_id in specials}
    document = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": token_id,
                "content": name,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for name, token_id in specials
        ],
        "normalizer": None,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": None,
        "decoder": decoder,
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": spec.byte_fallback is not None,
            "ignore_merges": False,
            "vocab": {names[i]: i for i in sorted(names) if i not in special_ids},
            "merges": [[names[a], names[b]] for a, b in merges],
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def words_regex(do_not_merge: tuple[str, ...]) -> str:
    """The Oniguruma regex whose matches are tinygpt's words-mode pieces."""
    isolated = "".join(f"\\x{{{ord(c):X}}}" for c in do_not_merge)
    rest = f"[^ {isolated}]"
    return f"[{isolated}]| {rest}*|{rest}+" if isolated else f" {rest}*|{rest}+"


def _byte_level_pre_tokenizer(pattern: str) -> dict[str, Any]:
    if pattern == "gpt2":
        return dict(_BYTE_LEVEL)
    return {
        "type": "Sequence",
        "pretokenizers": [
            {
                "type": "Split",
                "pattern": {"Regex": HF_PATTERNS.get(pattern, pattern)},
                "behavior": "Isolated",
                "invert": False,
            },
            {**_BYTE_LEVEL, "use_regex": False},
        ],
    }


def _tiktoken_rule_merges(spec: TokenizerSpec, vocab: Mapping[int, bytes]) -> list[tuple[int, int]]:
    """Each merge, then every other split of its result into two tokens (see module doc)."""
    mergeable = {token_id for _, token_id in spec.base} | {result for _, _, result in spec.merges}
    ids_of = {token: token_id for token_id, token in sorted(vocab.items(), reverse=True) if token_id in mergeable}
    merges: list[tuple[int, int]] = []
    made: set[int] = set()
    for a, b, result in spec.merges:
        if result in made:
            continue
        made.add(result)
        merges.append((a, b))
        token = vocab[result]
        for cut in range(1, len(token)):
            left, right = ids_of.get(token[:cut]), ids_of.get(token[cut:])
            if left is not None and right is not None and (left, right) != (a, b):
                merges.append((left, right))
    return merges


def read_hf_json(path: str | os.PathLike[str]) -> TokenizerSpec:
    """The tokenizer of a BPE ``tokenizer.json``: byte-level (GPT-2's and the like) or words mode
    (as :func:`hf_json_text` writes it). Added tokens become special tokens."""
    source = Path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise DataError(f"cannot read {source}: {error.strerror or error}") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{source}: not a JSON tokenizer file ({error})") from error
    try:
        model = document["model"]
        vocab = model["vocab"]
        merges = [_merge_pair(item) for item in model["merges"]]
        added = {item["content"]: int(item["id"]) for item in document.get("added_tokens") or []}
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise DataError(f"{source}: not a BPE tokenizer.json (bad or missing {error})") from error
    if model.get("type", "BPE") != "BPE" or not isinstance(vocab, dict):
        raise DataError(f"{source}: model type {model.get('type')!r} is not supported (only BPE)")
    pre_tokenizer = document.get("pre_tokenizer") or {}
    words = _words_pre_tokenizer(pre_tokenizer)
    if words is not None:
        return _words_spec(vocab, merges, added, words, source)
    pattern = _byte_level_pattern(pre_tokenizer, source)
    spelled = printable_byte_alphabet()
    try:
        by_id = {
            int(token_id): bytes(spelled[c] for c in token) for token, token_id in vocab.items() if token not in added
        }
        pairs = [(bytes(spelled[c] for c in a), bytes(spelled[c] for c in b)) for a, b in merges]
    except KeyError as error:
        raise DataError(f"{source}: {error.args[0]!r} is not a byte-level character") from None
    return spec_from_vocab_merges(by_id, _first_merge_per_token(pairs), special_tokens=added, pattern=pattern)


def _merge_pair(item: Any) -> tuple[str, str]:
    """A merge as written by new (``["a", "b"]``) or old (``"a b"``) versions of tokenizers."""
    if isinstance(item, str):
        left, _, right = item.partition(" ")
        return left, right
    left, right = item
    return str(left), str(right)


def _first_merge_per_token(pairs: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Drop merges whose result an earlier merge already made (the extra splits written by
    :func:`hf_json_text`, which tinygpt's tiktoken rule applies without being told)."""
    seen: set[bytes] = set()
    kept = []
    for left, right in pairs:
        if left + right not in seen:
            seen.add(left + right)
            kept.append((left, right))
    return kept


def _byte_level_pattern(pre_tokenizer: dict[str, Any], source: Path) -> str:
    """The pre-tokenisation pattern of a byte-level pre-tokenizer (GPT-2's own, or Split + ByteLevel)."""
    steps: list[dict[str, Any]] = (
        pre_tokenizer.get("pretokenizers") or [] if pre_tokenizer.get("type") == "Sequence" else [pre_tokenizer]
    )
    kinds = [step.get("type") for step in steps]
    if kinds == ["ByteLevel"] and steps[0].get("use_regex", True) and not steps[0].get("add_prefix_space"):
        return "gpt2"
    if (
        kinds == ["Split", "ByteLevel"]
        and not steps[1].get("use_regex", True)
        and steps[0].get("behavior") == "Isolated"
        and not steps[0].get("invert")
        and "Regex" in (steps[0].get("pattern") or {})
    ):
        regex = str(steps[0]["pattern"]["Regex"])
        return next((name for name, text in HF_PATTERNS.items() if text == regex), regex)
    raise DataError(
        f"{source}: pre-tokenizer {json.dumps(pre_tokenizer)[:200]} is not supported; tinygpt reads "
        "byte-level BPE (ByteLevel without add_prefix_space, optionally after an isolating Split regex) "
        "and its own words-mode files"
    )


def _words_pre_tokenizer(pre_tokenizer: dict[str, Any]) -> tuple[str, ...] | None:
    """The do-not-merge characters when this is tinygpt's words-mode Split, else None."""
    if pre_tokenizer.get("type") != "Split":
        return None
    regex = str((pre_tokenizer.get("pattern") or {}).get("Regex", ""))
    isolated = _WORDS_REGEX.fullmatch(regex)
    if isolated is None:
        chars: tuple[str, ...] = ()
    else:
        chars = tuple(chr(int(code, 16)) for code in _HEX_CHAR.findall(isolated.group(1)))
    return chars if regex == words_regex(chars) else None


def _words_spec(
    vocab: dict[str, int],
    merges: list[tuple[str, str]],
    added: dict[str, int],
    do_not_merge: tuple[str, ...],
    source: Path,
) -> TokenizerSpec:
    """Words mode: single characters are the alphabet, ``<0xNN>`` the byte-fallback tokens."""
    fallback = {int(token[3:5], 16): token_id for token, token_id in vocab.items() if _BYTE_TOKEN.fullmatch(token)}
    if fallback and len(fallback) != 256:
        raise DataError(f"{source}: byte fallback needs all 256 <0xNN> tokens, found {len(fallback)}")
    base = [
        (token.encode("utf-8"), token_id) for token, token_id in vocab.items() if len(token) == 1 and token not in added
    ]
    try:
        merge_ids = [(vocab[a], vocab[b], vocab[a + b]) for a, b in merges]
    except KeyError as error:
        raise DataError(f"{source}: merge uses or makes {error.args[0]!r}, which is not in the vocabulary") from None
    return TokenizerSpec(
        mode="words",
        pattern=None,
        base=base,
        merges=merge_ids,
        special_tokens=added,
        do_not_merge=do_not_merge,
        byte_fallback=[fallback[b] for b in range(256)] if fallback else None,
    )
