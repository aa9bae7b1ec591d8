"""tokenizer.json conversion in both modes, with the tokenizers library as the oracle."""

from __future__ import annotations

import pytest

from tinygpt.data.sources import open_corpus
from tinygpt.tokenizer import BPETokenizer, read_gpt2_vocab_merges

tokenizers = pytest.importorskip("tokenizers", reason="tokenizers (dev extra) is the oracle")

ODD_TEXTS = [
    "hello   world  \n\n x",
    "a  \t\n b",
    "'s 'LL  ",
    "日本語 🙂 ok",
    "x     ",
    'Ünïcödé!!! 1234567 "q"',
    "two<|endoftext|>docs",
]


@pytest.fixture(scope="module")
def stories() -> list[str]:
    return [text for batch in open_corpus("embedded").iter_batches(256) for text in batch]


def library(tokenizer: BPETokenizer, tmp_path) -> tokenizers.Tokenizer:
    path = tmp_path / "tokenizer.json"
    path.write_text(tokenizer.to_hf_json(), encoding="utf-8")
    return tokenizers.Tokenizer.from_file(str(path))


def assert_same_ids(tokenizer: BPETokenizer, oracle: tokenizers.Tokenizer, texts: list[str]) -> None:
    ours = tokenizer.encode_batch(texts, allowed_special="all")
    assert [e.ids for e in oracle.encode_batch(texts)] == ours
    assert [oracle.decode(ids, skip_special_tokens=False) for ids in ours] == [tokenizer.decode(i) for i in ours]


@pytest.mark.parametrize("pattern", ["gpt2", "gpt4"])
def test_bytes_mode_matches_the_library_and_round_trips(tmp_path, stories, pattern):
    tokenizer = BPETokenizer.train(stories, 600, pattern=pattern, show_progress=False)
    oracle = library(tokenizer, tmp_path)
    assert_same_ids(tokenizer, oracle, stories + ODD_TEXTS)
    assert BPETokenizer.from_hf_json(tmp_path / "tokenizer.json") == tokenizer


@pytest.mark.parametrize("byte_fallback", [False, True])
def test_words_mode_matches_the_library_and_round_trips(tmp_path, stories, byte_fallback):
    tokenizer = BPETokenizer.train(stories, 400, mode="words", byte_fallback=byte_fallback, show_progress=False)
    oracle = library(tokenizer, tmp_path)
    alphabet = set(tokenizer.alphabet)
    texts = stories + ['  two  spaces\n\n"quoted" <|endoftext|>']
    if byte_fallback:
        texts += ["日本語 🙂 ok"]
    assert_same_ids(tokenizer, oracle, [t for t in texts if byte_fallback or set(t) <= alphabet | set("<|>")])
    assert BPETokenizer.from_hf_json(tmp_path / "tokenizer.json") == tokenizer


def test_words_mode_characters_outside_the_alphabet(tmp_path, stories):
    """tinygpt refuses them by default (or skips them when asked); tokenizers leaves them out."""
    tokenizer = BPETokenizer.train(stories, 400, mode="words", show_progress=False)
    oracle = library(tokenizer, tmp_path)
    text = "Once 日 upon"
    assert oracle.encode(text).ids == tokenizer.encode(text, on_unknown="skip")
    with pytest.raises(ValueError, match="not in the tokenizer's alphabet"):
        tokenizer.encode(text)


def test_reads_a_byte_level_tokenizer_json_the_library_trained(tmp_path):
    """GPT-2's pipeline (ByteLevel pre-tokenizer, end-of-text as the first added token)."""
    oracle = tokenizers.Tokenizer(tokenizers.models.BPE())
    oracle.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=500,
        show_progress=False,
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<|endoftext|>"],
    )
    oracle.train_from_iterator(ODD_TEXTS * 5 + ["the cat sat on the mat"] * 20, trainer)
    oracle.save(str(tmp_path / "tokenizer.json"))
    tokenizer = BPETokenizer.from_hf_json(tmp_path / "tokenizer.json")
    assert tokenizer.eot_id == oracle.token_to_id("<|endoftext|>")
    texts = ODD_TEXTS + ["the cat sat on the mat"]
    assert tokenizer.encode_batch(texts, allowed_special="all") == [e.ids for e in oracle.encode_batch(texts)]


def test_unsupported_tokenizer_json_is_refused(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text('{"model": {"type": "WordPiece", "vocab": {}, "merges": []}}', encoding="utf-8")
    with pytest.raises(ValueError, match="model type 'WordPiece' is not supported"):
        BPETokenizer.from_hf_json(path)
    path.write_text('{"model": ', encoding="utf-8")
    with pytest.raises(ValueError, match="not a JSON tokenizer file"):
        BPETokenizer.from_hf_json(path)


@pytest.fixture(scope="module")
def gpt2_and_stories(gpt2_dir, tinystories_txt) -> tuple[BPETokenizer, list[str]]:
    vocab, merges = read_gpt2_vocab_merges(gpt2_dir)
    tokenizer = BPETokenizer.from_vocab_merges(vocab, merges, special_tokens=["<|endoftext|>"])
    texts = [t.strip("\n") for t in tinystories_txt.read_text(encoding="utf-8").split("<|endoftext|>")]
    return tokenizer, [t for t in texts if t]


def test_gpt2_exports_to_the_library_ids_on_every_story(tmp_path, gpt2_and_stories):
    """GPT-2's own merges: the extra merges for tiktoken's rule make the library agree everywhere."""
    tokenizer, texts = gpt2_and_stories
    assert_same_ids(tokenizer, library(tokenizer, tmp_path), texts + ODD_TEXTS)


def test_gpt2_tokenizer_json_built_by_the_library_reads_back(tmp_path, gpt2_dir, gpt2_and_stories):
    """The tokenizer.json the library itself makes from GPT-2's files encodes as tinygpt's GPT-2."""
    tokenizer, texts = gpt2_and_stories
    oracle = tokenizers.Tokenizer(
        tokenizers.models.BPE.from_file(str(gpt2_dir / "vocab.json"), str(gpt2_dir / "merges.txt"))
    )
    oracle.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    oracle.decoder = tokenizers.decoders.ByteLevel()
    oracle.add_special_tokens(["<|endoftext|>"])
    oracle.save(str(tmp_path / "tokenizer.json"))
    read = BPETokenizer.from_hf_json(tmp_path / "tokenizer.json")
    assert read.encode_batch(texts[:50], allowed_special="all") == tokenizer.encode_batch(
        texts[:50], allowed_special="all"
    )
    assert read.eot_id == tokenizer.eot_id == oracle.token_to_id("<|endoftext|>")
