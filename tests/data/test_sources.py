"""tinygpt.data.sources: every --data spec yields the same documents, and bad data fails clearly."""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinygpt.data import sources
from tinygpt.data.sources import Corpus, embedded_corpus_path, open_corpus
from tinygpt.errors import DataError

STORIES = ["Once upon a time, a cat sat.\nIt was happy.", 'Tom said, "Hi!"', "Ünïcödé 日本 😀 story."]


def write_txt(path: Path, documents: list[str], newline: str = "\n") -> Path:
    text = f"{newline}<|endoftext|>{newline}".join(documents) + newline if documents else ""
    path.write_bytes(text.encode())
    return path


def write_parquet(path: Path, columns: dict[str, list], row_group_size: int | None = None) -> Path:
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)
    return path


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ .txt


def test_txt_documents_are_separated_by_endoftext_lines(tmp_path):
    assert list(open_corpus(write_txt(tmp_path / "a.txt", STORIES))) == STORIES


def test_txt_without_separator_is_one_document(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("line one\nline two\n", encoding="utf-8")
    assert list(open_corpus(path)) == ["line one\nline two"]


def test_txt_separator_must_be_a_whole_line_and_empty_documents_are_kept(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(
        "<|endoftext|>\nfirst says <|endoftext|> inline\n<|endoftext|>\n\n<|endoftext|>\n"
        "<|endoftext|> \nsecond\n<|endoftext|>",
        encoding="utf-8",
    )
    assert list(open_corpus(path)) == ["first says <|endoftext|> inline", "", "<|endoftext|> \nsecond"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("\n", [""]),
        ("<|endoftext|>\n", []),
        ("a\n<|endoftext|>\nb\n<|endoftext|>\n", ["a", "b"]),
        ("<|endoftext|>\na\n<|endoftext|>\nb\n", ["a", "b"]),
        ("a\n<|endoftext|>\n<|endoftext|>\nb\n", ["a", "", "b"]),
        ("<|endoftext|>\n<|endoftext|>\na\n<|endoftext|>\n<|endoftext|>", ["", "a", ""]),
        ("a\r\n<|endoftext|>\r\n<|endoftext|>\r\nb", ["a", "", "b"]),
        ("a\n<|endoftext|>\n\n", ["a", ""]),
    ],
)
def test_txt_separators_that_frame_the_file_make_no_document_and_two_in_a_row_an_empty_one(tmp_path, text, expected):
    path = tmp_path / "a.txt"
    path.write_bytes(text.encode())
    assert list(open_corpus(path)) == expected


def test_txt_with_windows_line_endings(tmp_path):
    path = write_txt(tmp_path / "crlf.txt", ["a\r\nb", "c"], newline="\r\n")
    assert list(open_corpus(path)) == ["a\r\nb", "c"]


documents = st.lists(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=30).filter(
        lambda text: text.strip("\r\n") == text and "<|endoftext|>" not in text
    ),
    max_size=8,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=documents, chunk=st.integers(1, 40))
def test_txt_reading_does_not_depend_on_chunk_boundaries(tmp_path, monkeypatch, docs, chunk):
    monkeypatch.setattr(sources, "_CHUNK_BYTES", chunk)
    path = write_txt(tmp_path / "stories.txt", docs)
    assert list(open_corpus(path)) == docs


def test_txt_invalid_utf8_names_file_line_and_offset(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"good story\n<|endoftext|>\nline\nbad \xff byte\n")
    corpus = open_corpus(path)
    with pytest.raises(DataError, match=rf"{path}:4: invalid UTF-8 at byte offset 34"):
        list(corpus)


# ------------------------------------------------------------------------------------ .jsonl


def test_jsonl_reads_text_or_the_chosen_field(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": s, "story": s.upper()} for s in STORIES])
    assert list(open_corpus(path)) == STORIES
    assert list(open_corpus(path, text_column="story")) == [s.upper() for s in STORIES]


def test_jsonl_missing_field_lists_available_ones(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"story": "x", "id": 1}])
    with pytest.raises(DataError, match=r"a.jsonl:1: no 'text' field \(available: id, story\)"):
        list(open_corpus(path))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"text": "ok"}\n{"text": oops}\n', r"bad.jsonl:2: invalid JSON"),
        (b'{"text": "ok"}\n["a list"]\n', r"bad.jsonl:2: expected a JSON object"),
        (b'{"text": 5}\n', r"bad.jsonl:1: field 'text' is int"),
        (b'{"text": "ok"}\n{"text": "\xc3\x28"}\n', r"bad.jsonl:2: invalid UTF-8 at byte offset 25"),
    ],
)
def test_jsonl_bad_lines_name_the_line(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        list(open_corpus(path))


def test_jsonl_skips_blank_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"text": "a"}\n\n  \n{"text": "b"}\n', encoding="utf-8")
    assert list(open_corpus(path)) == ["a", "b"]


# ------------------------------------------------------------------------------------ .parquet


def test_parquet_reads_the_first_string_column_across_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "_PARQUET_BATCH_ROWS", 7)
    stories = [f"story {i}" for i in range(100)]
    path = write_parquet(tmp_path / "a.parquet", {"id": list(range(100)), "text": stories}, row_group_size=30)
    assert list(open_corpus(path)) == stories


def test_parquet_text_column_and_nulls(tmp_path):
    path = write_parquet(tmp_path / "a.parquet", {"title": ["t1", "t2"], "body": ["b1", None]})
    assert list(open_corpus(path)) == ["t1", "t2"]
    with pytest.raises(DataError, match=r"a.parquet: row 1 of column 'body' is null"):
        list(open_corpus(path, text_column="body"))  # counted nowhere once dropped: refused


def test_parquet_large_string_column(tmp_path):
    path = tmp_path / "large.parquet"
    pq.write_table(pa.table({"text": pa.array(STORIES, type=pa.large_string())}), path)
    assert list(open_corpus(path)) == STORIES


def test_parquet_missing_column_lists_the_columns(tmp_path):
    path = write_parquet(tmp_path / "a.parquet", {"id": [1], "story": ["x"]})
    with pytest.raises(DataError, match=r"a.parquet: no column 'text' \(available: id \(int64\), story \(string\)\)"):
        open_corpus(path, text_column="text")
    with pytest.raises(DataError, match="column 'id' is int64, not text"):
        open_corpus(path, text_column="id")


def test_parquet_without_string_column_is_a_clear_error(tmp_path):
    path = write_parquet(tmp_path / "numbers.parquet", {"a": [1, 2], "b": [0.5, 1.5]})
    with pytest.raises(DataError, match=r"numbers.parquet: no string column .*a \(int64\), b \(double\)"):
        open_corpus(path)


def test_corrupt_parquet_is_a_data_error(tmp_path):
    path = tmp_path / "corrupt.parquet"
    path.write_bytes(b"PAR1 this is not parquet at all")
    with pytest.raises(DataError, match="corrupt.parquet: not a readable parquet file"):
        open_corpus(path)


# ------------------------------------------------------------------------------------ paths


def test_directory_reads_supported_files_recursively_in_sorted_order(tmp_path):
    write_txt(tmp_path / "b.txt", ["b"])
    (tmp_path / "a").mkdir()
    write_jsonl(tmp_path / "a" / "z.jsonl", [{"text": "a/z"}])
    write_parquet(tmp_path / "c.parquet", {"text": ["c"]})
    (tmp_path / "notes.md").write_text("ignored")
    (tmp_path / ".cache").mkdir()
    write_txt(tmp_path / ".cache" / "hidden.txt", ["hidden"])
    corpus = open_corpus(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in corpus.paths] == ["a/z.jsonl", "b.txt", "c.parquet"]
    assert list(corpus) == ["a/z", "b", "c"]
    assert corpus.total_bytes == sum(p.stat().st_size for p in corpus.paths)


def test_empty_directory_is_an_error(tmp_path):
    (tmp_path / "readme.md").write_text("no corpus here")
    with pytest.raises(DataError, match="no .parquet, .txt, .jsonl files"):
        open_corpus(tmp_path)


def test_missing_path_and_unknown_extension(tmp_path):
    with pytest.raises(DataError, match=r"nope.txt: no such file or directory"):
        open_corpus(tmp_path / "nope.txt")
    csv = tmp_path / "stories.csv"
    csv.write_text("a,b\n")
    with pytest.raises(DataError, match=r"stories.csv: unsupported file type '.csv'"):
        open_corpus(csv)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_fails_when_opened(tmp_path):
    path = write_txt(tmp_path / "secret.txt", ["x"])
    path.chmod(0)
    with pytest.raises(DataError, match="secret.txt: cannot read"):
        open_corpus(path)


def test_corpus_is_reiterable_and_batches(tmp_path):
    corpus = open_corpus(write_txt(tmp_path / "a.txt", STORIES))
    assert list(corpus) == list(corpus)
    assert list(corpus.iter_batches(2)) == [STORIES[:2], STORIES[2:]]
    with pytest.raises(ValueError):
        next(corpus.iter_batches(0))
    assert isinstance(corpus, Corpus) and "1 file(s)" in repr(corpus)


# ------------------------------------------------------------------------------------ hf:


def fake_hub(monkeypatch, snapshot_download) -> None:
    module = types.ModuleType("huggingface_hub")
    module.snapshot_download = snapshot_download
    monkeypatch.setitem(sys.modules, "huggingface_hub", module)


def test_hf_dataset_is_snapshotted_as_a_dataset_repo(tmp_path, monkeypatch):
    write_parquet(tmp_path / "train.parquet", {"text": STORIES})
    calls = []

    def snapshot_download(**kwargs):
        calls.append(kwargs)
        return str(tmp_path)

    fake_hub(monkeypatch, snapshot_download)
    assert list(open_corpus("hf:flpelerin/tinystories-10k")) == STORIES
    assert calls[0]["repo_id"] == "flpelerin/tinystories-10k" and calls[0]["repo_type"] == "dataset"


def test_hf_offline_says_so_and_how_to_use_a_local_file(monkeypatch):
    def snapshot_download(**kwargs):
        raise ConnectionError("Failed to resolve 'huggingface.co'")

    fake_hub(monkeypatch, snapshot_download)
    with pytest.raises(DataError) as caught:
        open_corpus("hf:flpelerin/tinystories-10k")
    message = str(caught.value)
    assert "could not download" in message and "offline" in message and "huggingface.co" in message
    assert "pass a local .parquet" in message


def test_hf_without_the_hub_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(
        DataError, match=r"huggingface_hub, which is not installed: pip install 'tinygpt\[hub\]'.*local"
    ):
        open_corpus("hf:flpelerin/tinystories-10k")


@pytest.mark.parametrize("spec", ["hf:", "hf:just-a-name", "hf:a/b/c", "hf:owner/na me"])
def test_hf_spec_must_be_owner_slash_name(spec):
    with pytest.raises(DataError, match="expected hf:owner/name"):
        open_corpus(spec)


# ------------------------------------------------------------------------------------ embedded


def test_embedded_corpus_when_shipped():
    try:
        path = embedded_corpus_path()
    except DataError:
        pytest.skip("the embedded stories are not on this branch yet")
    assert path.name == "stories.txt"
    stories = list(open_corpus("embedded"))
    assert len(stories) >= 100 and all(story.strip() for story in stories)


def test_missing_embedded_corpus_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(sources.importlib.resources, "files", lambda package: tmp_path)
    with pytest.raises(DataError, match="embedded corpus is missing"):
        embedded_corpus_path()


# ------------------------------------------------------------------------------------ reference data


def test_reference_txt_and_parquet_hold_the_same_stories(tinystories_txt, tinystories_parquet):
    from_txt = list(open_corpus(tinystories_txt))
    from_parquet = list(open_corpus(tinystories_parquet))
    assert len(from_txt) == tinystories_txt.read_text(encoding="utf-8").count("<|endoftext|>\n") + 1
    assert from_txt == from_parquet
