"""Parquet corpora are tokenized from Arrow's buffers (no Python object per document): the
shards are byte for byte those of the same documents read one by one as text, through parts,
resumes, batch boundaries and empty documents."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tinygpt import BPETokenizer
from tinygpt.data import read_manifest, shards, sources, tokenize_corpus
from tinygpt.data.manifest import verify_shards
from tinygpt.data.tokenize import pipeline
from tinygpt.errors import DataError

STORIES = [
    f'Story {i}: Lily\'s cat sat on the mat {i % 7} times.\n"Hi!" said Tom. <|endoftext|> ok' for i in range(300)
]
STORIES[5] = STORIES[77] = ""


@pytest.fixture(scope="module")
def tokenizer() -> BPETokenizer:
    return BPETokenizer.train(STORIES, 320, show_progress=False)


@pytest.fixture
def corpora(tmp_path):
    """The same documents as parquet (several row groups, another column first) and as jsonl."""
    pq.write_table(
        pa.table({"id": list(range(len(STORIES))), "text": STORIES}), tmp_path / "c.parquet", row_group_size=64
    )
    (tmp_path / "c.jsonl").write_text("".join(json.dumps({"text": s}) + "\n" for s in STORIES), encoding="utf-8")
    return tmp_path / "c.parquet", tmp_path / "c.jsonl"


@pytest.fixture
def text_corpus(tmp_path):
    """The same documents as a .txt corpus (a BOM, CRLF and LF line ends), read through Arrow too."""
    ends = ["\n", "\r\n", "\n"]
    body = "".join(story + ends[i % 3] + "<|endoftext|>\n" for i, story in enumerate(STORIES))
    (tmp_path / "c.txt").write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    return tmp_path / "c.txt"


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    """Many batches and array slices, so that every boundary case is crossed."""
    monkeypatch.setattr(pipeline, "_ARROW_BATCH_BYTES", 3000)
    monkeypatch.setattr(sources, "_ARROW_BATCH_ROWS", 17)
    monkeypatch.setattr(sources, "_CHUNK_BYTES", 1000)


def shard_bytes(directory) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.glob("*.bin"))}


def splits(directory) -> dict:
    """The split records of every manifest in the directory (a part's included)."""
    return {path.name: json.loads(path.read_text())["splits"] for path in directory.glob("manifest*.json")}


@pytest.mark.parametrize("split", ["tail", "hash"])
@pytest.mark.parametrize("part", [None, (0, 3), (1, 3), (2, 3)])
def test_arrow_path_writes_the_shards_of_the_text_path(tmp_path, corpora, tokenizer, part, split):
    parquet, jsonl = corpora
    options = {"shard_tokens": 4000, "part": part, "split": split, "val_fraction": 0.3, "show_progress": False}
    ours = tokenize_corpus(parquet, tokenizer, tmp_path / "arrow", **options)
    text = tokenize_corpus(jsonl, tokenizer, tmp_path / "text", **options)
    assert shard_bytes(tmp_path / "arrow") == shard_bytes(tmp_path / "text") != {}
    assert splits(tmp_path / "arrow") == splits(tmp_path / "text")
    assert ours.documents_processed == text.documents_processed


def test_dropping_written_pages_behind_changes_no_byte(tmp_path, corpora, tokenizer, monkeypatch):
    """A job that hands its pages back every few hundred bytes writes the same shards, and
    their checksums verify."""
    parquet, _ = corpora
    options = {"shard_tokens": 4000, "val_fraction": 0.3, "show_progress": False}
    tokenize_corpus(parquet, tokenizer, tmp_path / "cached", **options)
    monkeypatch.setattr(shards, "DROP_BEHIND_BYTES", 200)
    tokenize_corpus(parquet, tokenizer, tmp_path / "dropped", **options)
    assert shard_bytes(tmp_path / "dropped") == shard_bytes(tmp_path / "cached") != {}
    verify_shards(read_manifest(tmp_path / "dropped"))


@pytest.mark.parametrize(("split", "fail_at"), [("tail", 9), ("hash", 18)])  # hash: a call per split
def test_an_interrupted_arrow_job_resumes_to_the_same_shards(tmp_path, corpora, tokenizer, monkeypatch, split, fail_at):
    parquet, jsonl = corpora
    options = {"shard_tokens": 2000, "split": split, "val_fraction": 0.3, "show_progress": False}
    calls = 0
    real = BPETokenizer.encode_arrow

    def failing(self, *args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == fail_at:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(BPETokenizer, "encode_arrow", failing)
    with pytest.raises(KeyboardInterrupt):
        tokenize_corpus(parquet, tokenizer, tmp_path / "arrow", **options)
    interrupted = json.loads((tmp_path / "arrow" / "manifest.json").read_text())
    assert interrupted["splits"]["train"]["shards"], "some shards should be finished"
    monkeypatch.setattr(BPETokenizer, "encode_arrow", real)
    resumed = tokenize_corpus(parquet, tokenizer, tmp_path / "arrow", **options)
    assert resumed.shards_kept > 0
    tokenize_corpus(jsonl, tokenizer, tmp_path / "text", **options)
    assert shard_bytes(tmp_path / "arrow") == shard_bytes(tmp_path / "text")


def test_words_mode_unknown_characters_follow_on_unknown(tmp_path, corpora, tokenizer):
    parquet, jsonl = corpora
    words = BPETokenizer.train(["Lily sat <|endoftext|>"] * 3, 40, mode="words", show_progress=False)
    with pytest.raises(DataError, match="--on-unknown"):
        tokenize_corpus(parquet, words, tmp_path / "a", show_progress=False)
    tokenize_corpus(parquet, words, tmp_path / "a", show_progress=False, on_unknown="skip")
    tokenize_corpus(jsonl, words, tmp_path / "b", show_progress=False, on_unknown="skip")
    assert shard_bytes(tmp_path / "a") == shard_bytes(tmp_path / "b")


def test_encode_arrow_matches_encode_to_array(tokenizer):
    array = pa.array(["", *STORIES[:40], None, "x"], type=pa.large_string()).drop_null().slice(3)
    ids, counts = tokenizer.encode_arrow(array, prepend=tokenizer.eot_id)
    texts = array.to_pylist()
    expected = [[tokenizer.eot_id, *tokenizer.encode(t)] if t else [] for t in texts]
    assert ids.tolist() == [i for row in expected for i in row]
    assert counts.tolist() == [len(row) for row in expected]
    with pytest.raises(DataError, match="null rows"):
        tokenizer.encode_arrow(pa.array(["a", None]))
    with pytest.raises(Exception, match="string or large_string array"):
        tokenizer.encode_arrow(pa.array([1, 2]))


def test_a_null_row_is_an_error_naming_the_row_on_both_paths(tmp_path, tokenizer):
    pq.write_table(pa.table({"text": [*STORIES[:50], None, *STORIES[50:]]}), tmp_path / "n.parquet", row_group_size=40)
    for split in ("tail", "hash"):  # the Arrow path, and one Python string per document
        with pytest.raises(DataError, match=r"n\.parquet: row 50 of column 'text' is null"):
            tokenize_corpus(tmp_path / "n.parquet", tokenizer, tmp_path / split, split=split, show_progress=False)


@pytest.mark.parametrize("split", ["tail", "hash"])
@pytest.mark.parametrize("part", [None, (1, 3)])
def test_text_files_read_through_arrow_write_the_shards_of_the_text_path(
    tmp_path, corpora, text_corpus, tokenizer, part, split
):
    _, jsonl = corpora
    options = {"shard_tokens": 4000, "part": part, "split": split, "val_fraction": 0.3, "show_progress": False}
    assert sources.open_corpus(text_corpus).reads_arrow
    assert list(sources.open_corpus(text_corpus)) == STORIES
    tokenize_corpus(text_corpus, tokenizer, tmp_path / "txt", **options)
    tokenize_corpus(jsonl, tokenizer, tmp_path / "text", **options)
    assert shard_bytes(tmp_path / "txt") == shard_bytes(tmp_path / "text") != {}
    assert splits(tmp_path / "txt") == splits(tmp_path / "text")


@pytest.mark.parametrize(
    ("raw", "offset"),
    [
        (b"good story\n<|endoftext|>\nbad \xff byte", 29),
        # each document cut inside one character: the whole file would decode, not each document
        (b"caf\xc3\n<|endoftext|>\n\xa9 and more", 3),
    ],
)
def test_invalid_utf8_in_a_text_file_names_the_offset(tmp_path, tokenizer, raw, offset):
    path = tmp_path / "bad.txt"
    path.write_bytes(raw)
    with pytest.raises(DataError, match=f"bad.txt:\\d+: invalid UTF-8 at byte offset {offset}"):
        tokenize_corpus(path, tokenizer, tmp_path / "out", val_fraction=0, show_progress=False)
