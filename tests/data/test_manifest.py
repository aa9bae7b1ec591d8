"""manifest.json: round trip, clear errors on malformed files, merging part manifests."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from tinygpt.data import read_manifest, write_merged_manifest
from tinygpt.data.manifest import Manifest, ShardInfo, SplitInfo, load_manifest_file
from tinygpt.data.shards import write_shard
from tinygpt.errors import DataError


def _manifest(directory, part=None, complete=True, job=None) -> Manifest:
    """A manifest and the shards it lists (zeros: only their headers matter here)."""
    train, val = SplitInfo(), SplitInfo()
    index = part[0] if part else 0
    train.add_shard(ShardInfo(f"train_part{index:04d}_000000.bin", 100 + index, 10, 400), 11, 1)
    val.add_shard(ShardInfo(f"val_part{index:04d}_000000.bin", 20, 2, 80), 2, 0)
    for split in (train, val):
        for shard in split.shards:
            write_shard(directory / shard.file, np.zeros(shard.tokens, dtype=np.uint16))
    return Manifest(
        directory,
        "abc",
        2048,
        2047,
        "uint16",
        "tail",
        0.1,
        job or {"files": ["x.txt"], "part": list(part) if part else None},
        {"train": train, "val": val},
        part=part,
        complete=complete,
    )


def test_manifest_round_trips_through_json(tmp_path):
    manifest = _manifest(tmp_path)
    manifest.save()
    loaded = read_manifest(tmp_path)
    assert loaded == manifest
    record = json.loads((tmp_path / "manifest.json").read_text())
    assert record["splits"]["train"]["text_bytes"] == 400
    assert {"tokenizer_fingerprint", "vocab_size", "eot_id", "dtype", "split_rule"} <= set(record)


def test_unfinished_job_is_refused_with_the_resume_hint(tmp_path):
    _manifest(tmp_path, complete=False).save()
    with pytest.raises(DataError, match="has not finished; re-run the same `tinygpt tokenize`"):
        read_manifest(tmp_path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "not a readable JSON manifest"),
        ("[]", "not a tinygpt shard manifest"),
        ('{"format": "tinygpt-token-shards", "format_version": 99}', "format_version 99"),
    ],
)
def test_malformed_manifests_name_the_file(tmp_path, text, message):
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(DataError, match=message):
        read_manifest(tmp_path)


def test_missing_or_mistyped_fields_are_named(tmp_path):
    record = _manifest(tmp_path).to_record()
    del record["eot_id"]
    (tmp_path / "manifest.json").write_text(json.dumps(record))
    with pytest.raises(DataError, match="missing field 'eot_id'"):
        load_manifest_file(tmp_path / "manifest.json")
    record["eot_id"] = "7"
    (tmp_path / "manifest.json").write_text(json.dumps(record))
    with pytest.raises(DataError, match="field 'eot_id' has the wrong type"):
        load_manifest_file(tmp_path / "manifest.json")


def test_part_manifests_merge_in_part_order(tmp_path):
    """A directory of complete part manifests reads as one job; --merge stores the merge."""
    for index in (2, 0, 1):
        _manifest(tmp_path, part=(index, 3)).save()
    merged = read_manifest(tmp_path)
    assert [s.file for s in merged.splits["train"].shards] == [f"train_part{i:04d}_000000.bin" for i in range(3)]
    assert merged.splits["train"].tokens == 100 + 101 + 102
    assert merged.splits["train"].empty_documents == 3
    assert merged.part is None
    write_merged_manifest(tmp_path)
    assert read_manifest(tmp_path) == dataclasses.replace(merged, complete=True)


def test_missing_or_unfinished_parts_are_listed(tmp_path):
    _manifest(tmp_path, part=(0, 3)).save()
    _manifest(tmp_path, part=(2, 3), complete=False).save()
    with pytest.raises(DataError, match=r"parts 1/3, 2/3 of 3 are missing or unfinished"):
        read_manifest(tmp_path)


def test_parts_of_different_jobs_are_refused(tmp_path):
    _manifest(tmp_path, part=(0, 2)).save()
    _manifest(tmp_path, part=(1, 2), job={"files": ["other.txt"], "part": [1, 2]}).save()
    with pytest.raises(DataError, match="part 1/2 comes from a different tokenize job"):
        read_manifest(tmp_path)
