"""tokenize_corpus: shards that decode back to the corpus, split rules, parts, resume, bad input."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tinygpt import BPETokenizer
from tinygpt.data import TokenLoader, read_header, read_manifest, sources, tokenize_corpus
from tinygpt.data.sources import open_corpus
from tinygpt.data.tokenize import pipeline as tokenize_module
from tinygpt.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def tokenizer(tinystories_txt) -> BPETokenizer:
    return BPETokenizer.train(tinystories_txt, 300, show_progress=False)


@pytest.fixture(scope="module")
def stories(tinystories_parquet) -> list[str]:
    return list(open_corpus(tinystories_parquet))


def _documents(directory, split: str, tokenizer) -> list[str]:
    """Every document of a split, decoded from the shards (each starts at an end-of-text)."""
    manifest = read_manifest(directory)
    tokens = np.concatenate(
        [np.fromfile(p, dtype=manifest.dtype, offset=1024) for p in manifest.shard_paths(split)]
        or [np.empty(0, np.uint16)]
    )
    starts = np.flatnonzero(tokens == manifest.eot_id)
    assert starts.size == 0 or starts[0] == 0, "a split must start with an end-of-text token"
    return [tokenizer.decode(tokens[a + 1 : b].tolist()) for a, b in zip(starts, [*starts[1:], tokens.size])]


def _write_txt(path, documents: list[str]) -> None:
    path.write_text("\n<|endoftext|>\n".join(documents) + "\n", encoding="utf-8")


def test_shards_decode_back_to_the_corpus_with_the_last_tenth_held_out(
    tmp_path, tinystories_parquet, stories, tokenizer
):
    """The core contract: train = first 90 % of stories, val = the rest, in order, lossless;
    the manifest's counts are the shards' real counts."""
    summary = tokenize_corpus(tinystories_parquet, tokenizer, tmp_path, shard_tokens=50_000, show_progress=False)
    cut = int(len(stories) * 0.9)
    assert _documents(tmp_path, "train", tokenizer) == stories[:cut]
    assert _documents(tmp_path, "val", tokenizer) == stories[cut:]
    manifest = read_manifest(tmp_path)
    assert manifest.splits["val"].text_bytes == sum(len(s.encode()) for s in stories[cut:])
    assert manifest.tokenizer_fingerprint == tokenizer.fingerprint()
    assert (manifest.vocab_size, manifest.eot_id, manifest.dtype) == (300, tokenizer.eot_id, "uint16")
    for name, info in manifest.splits.items():
        assert info.tokens == sum(read_header(p).token_count for p in manifest.shard_paths(name))
        assert all(shard.tokens <= 50_000 for shard in info.shards)
    assert len(manifest.splits["train"].shards) > 1
    assert summary.documents == len(stories)
    assert summary.shards_written == sum(len(info.shards) for info in manifest.splits.values())
    assert BPETokenizer.load(tmp_path / "tokenizer.ron").fingerprint() == tokenizer.fingerprint()
    x, y = next(TokenLoader(tmp_path, 8, 64))
    assert x.shape == (8, 64)


def test_a_document_longer_than_a_shard_gets_a_shard_of_its_own(tmp_path, tokenizer):
    _write_txt(tmp_path / "c.txt", ["short one", "a much longer story " * 20, "tail"])
    tokenize_corpus(
        tmp_path / "c.txt", tokenizer, tmp_path / "out", shard_tokens=30, val_fraction=0.0, show_progress=False
    )
    shards = read_manifest(tmp_path / "out").splits["train"].shards
    assert [s.documents for s in shards] == [1, 1, 1]
    assert shards[1].tokens > 30 >= max(shards[0].tokens, shards[2].tokens)
    assert _documents(tmp_path / "out", "train", tokenizer) == ["short one", "a much longer story " * 20, "tail"]


def test_hash_split_depends_on_the_text_only(tmp_path, stories, tokenizer):
    """--split hash: the held-out set is the same whatever the document order."""
    sample = stories[:800]
    _write_txt(tmp_path / "a.txt", sample)
    _write_txt(tmp_path / "b.txt", sample[::-1])
    for name in "ab":
        tokenize_corpus(tmp_path / f"{name}.txt", tokenizer, tmp_path / name, split="hash", show_progress=False)
    held_out = _documents(tmp_path / "a", "val", tokenizer)
    assert sorted(held_out) == sorted(_documents(tmp_path / "b", "val", tokenizer))
    assert 0.05 * len(sample) <= len(held_out) <= 0.15 * len(sample)  # ~10 %
    assert read_manifest(tmp_path / "a").split_rule == "hash"


def test_parts_together_equal_one_job(tmp_path, tinystories_txt, tokenizer):
    """--part i/n slices the corpus; the merged parts hold exactly what one job writes."""
    whole = tmp_path / "whole"
    tokenize_corpus(tinystories_txt, tokenizer, whole, shard_tokens=100_000, show_progress=False)
    parts = tmp_path / "parts"
    for index in (2, 0, 1):
        tokenize_corpus(tinystories_txt, tokenizer, parts, shard_tokens=100_000, part=(index, 3), show_progress=False)
    for split in ("train", "val"):
        assert _documents(parts, split, tokenizer) == _documents(whole, split, tokenizer)
    merged, single = read_manifest(parts), read_manifest(whole)
    assert merged.splits["train"].tokens == single.splits["train"].tokens
    assert all("_part" in shard.file for shard in merged.splits["train"].shards)
    assert next(TokenLoader(parts, 2, 16))[0].shape == (2, 16)


class _Interrupted(Exception):
    pass


class _FailingTokenizer:
    """Delegates to a real tokenizer but fails on the n-th batch, like a killed run."""

    def __init__(self, tokenizer: BPETokenizer, fail_at: int) -> None:
        self._tokenizer, self._calls, self._fail_at = tokenizer, 0, fail_at
        self.vocab_size, self.eot_id = tokenizer.vocab_size, tokenizer.eot_id
        self.fingerprint, self.save = tokenizer.fingerprint, tokenizer.save
        self.mode, self.byte_fallback = tokenizer.mode, tokenizer.byte_fallback

    def encode_to_array(self, texts, **kwargs):
        self._count_call()
        return self._tokenizer.encode_to_array(texts, **kwargs)

    def encode_arrow(self, array, **kwargs):
        self._count_call()
        return self._tokenizer.encode_arrow(array, **kwargs)

    def _count_call(self) -> None:
        self._calls += 1
        if self._calls == self._fail_at:
            raise _Interrupted


def test_an_interrupted_job_resumes_without_rewriting_finished_shards(tmp_path, monkeypatch, stories, tokenizer):
    monkeypatch.setattr(tokenize_module, "_ARROW_BATCH_BYTES", 10_000)
    monkeypatch.setattr(sources, "_CHUNK_BYTES", 10_000)
    sample = stories[:600]
    _write_txt(tmp_path / "c.txt", sample)
    out = tmp_path / "out"
    with pytest.raises(_Interrupted):
        tokenize_corpus(
            tmp_path / "c.txt", _FailingTokenizer(tokenizer, 12), out, shard_tokens=10_000, show_progress=False
        )
    interrupted = json.loads((out / "manifest.json").read_text())
    assert interrupted["complete"] is False
    finished = {s["file"]: (out / s["file"]).stat().st_mtime_ns for s in interrupted["splits"]["train"]["shards"]}
    assert finished, "the interrupted run should have finished some shards"
    (out / ".train_000999.bin.stale.tmp").write_bytes(b"left by a killed run")
    with pytest.raises(DataError, match="has not finished"):
        TokenLoader(out, 2, 8)

    summary = tokenize_corpus(tmp_path / "c.txt", tokenizer, out, shard_tokens=10_000, show_progress=False)
    assert summary.shards_kept == len(finished)
    assert {f: (out / f).stat().st_mtime_ns for f in finished} == finished, "finished shards were rewritten"
    assert not list(out.glob(".*.tmp"))
    cut = int(len(sample) * 0.9)
    assert _documents(out, "train", tokenizer) == sample[:cut]
    assert _documents(out, "val", tokenizer) == sample[cut:]
    again = tokenize_corpus(tmp_path / "c.txt", tokenizer, out, shard_tokens=10_000, show_progress=False)
    assert again.shards_written == 0 and again.documents_processed == 0


def test_another_job_into_the_same_directory_is_refused(tmp_path, stories, tokenizer):
    _write_txt(tmp_path / "c.txt", stories[:50])
    tokenize_corpus(tmp_path / "c.txt", tokenizer, tmp_path / "out", show_progress=False)
    with pytest.raises(DataError, match="another tokenize job .* differs in val_fraction"):
        tokenize_corpus(tmp_path / "c.txt", tokenizer, tmp_path / "out", val_fraction=0.2, show_progress=False)


def test_empty_documents_are_counted_and_reported(tmp_path, tokenizer):
    lines = [{"text": t} for t in ["one story", "", "another story", "", "", "last"]]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    summary = tokenize_corpus(tmp_path / "c.jsonl", tokenizer, tmp_path / "out", val_fraction=0.5, show_progress=False)
    manifest = read_manifest(tmp_path / "out")
    assert manifest.splits["train"].empty_documents == 1 and manifest.splits["val"].empty_documents == 2
    assert summary.documents == 3 and summary.empty_documents == 3
    assert "skipped 3 empty document(s)" in summary.report()
    assert _documents(tmp_path / "out", "val", tokenizer) == ["last"]


def test_end_of_text_written_inside_a_story_stays_text(tmp_path, tokenizer):
    (tmp_path / "c.jsonl").write_text(json.dumps({"text": "before <|endoftext|> after"}) + "\n")
    tokenize_corpus(tmp_path / "c.jsonl", tokenizer, tmp_path / "out", val_fraction=0.0, show_progress=False)
    assert _documents(tmp_path / "out", "train", tokenizer) == ["before <|endoftext|> after"]


def test_tokenizer_without_end_of_text_is_refused(tmp_path, tinystories_txt):
    plain = BPETokenizer.train(["a story", "another"], 270, special_tokens=(), show_progress=False)
    with pytest.raises(DataError, match="no <\\|endoftext\\|> token"):
        tokenize_corpus(tinystories_txt, plain, tmp_path / "out", show_progress=False)


def test_bad_input_files_are_data_errors_and_leave_no_finished_job(tmp_path, tokenizer):
    (tmp_path / "bad.txt").write_bytes(b"fine story\n<|endoftext|>\nbroken \xff byte\n")
    with pytest.raises(DataError, match=r"bad.txt:3: invalid UTF-8"):
        tokenize_corpus(tmp_path / "bad.txt", tokenizer, tmp_path / "out", show_progress=False)
    assert not list((tmp_path / "out").glob("*.bin"))
    pq.write_table(pa.table({"story": ["x"]}), tmp_path / "c.parquet")
    with pytest.raises(DataError, match="no column 'text'"):
        tokenize_corpus(tmp_path / "c.parquet", tokenizer, tmp_path / "out2", text_column="text", show_progress=False)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"split": "random"}, "split must be one of"),
        ({"shard_tokens": 0}, "shard_tokens"),
        ({"part": (3, 3)}, "part must be"),
    ],
)
def test_bad_arguments_are_config_errors(tmp_path, tinystories_txt, tokenizer, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        tokenize_corpus(tinystories_txt, tokenizer, tmp_path, show_progress=False, **kwargs)


class _WideVocabulary:
    """The real tokenizer presented with a vocabulary above 65,536, to exercise uint32 shards."""

    def __init__(self, tokenizer: BPETokenizer) -> None:
        self._tokenizer = tokenizer
        self.vocab_size, self.eot_id = 70_000, tokenizer.eot_id
        self.save = tokenizer.save
        self.mode, self.byte_fallback = tokenizer.mode, tokenizer.byte_fallback

    def fingerprint(self) -> str:
        return "wide-" + self._tokenizer.fingerprint()

    def encode_to_array(self, texts, **kwargs):
        return self._tokenizer.encode_to_array(texts, **kwargs)

    def encode_arrow(self, array, **kwargs):
        return self._tokenizer.encode_arrow(array, **kwargs)


def test_vocabularies_above_65536_write_llm_c_uint32_shards(tmp_path, stories, tokenizer):
    _write_txt(tmp_path / "c.txt", stories[:100])
    tokenize_corpus(tmp_path / "c.txt", _WideVocabulary(tokenizer), tmp_path / "out", show_progress=False)
    manifest = read_manifest(tmp_path / "out")
    assert manifest.dtype == "uint32"
    assert read_header(manifest.shard_paths("train")[0]).dtype == "uint32"
    assert _documents(tmp_path / "out", "train", tokenizer) == stories[:90]
    assert next(TokenLoader(tmp_path / "out", 2, 8))[0].dtype.is_floating_point is False
