"""Run directories: the layout, the checkpoint index, and how checkpoints are named and found."""

from __future__ import annotations

import json

import pytest

from tinygpt.run import load_run
from tinygpt.run.layout import (
    CheckpointIndex,
    RunError,
    RunLayout,
    checkpoint_name,
    resolve_checkpoint,
)


def make_run(tmp_path, steps=(500, 1000), best=500):
    layout = RunLayout.of(tmp_path / "run")
    layout.root.mkdir()
    for path in (layout.tokenizer, layout.transformer_config, layout.train_config):
        path.write_text("()")
    layout.info.write_text("{}")
    for step in steps:
        layout.checkpoint(step).mkdir(parents=True)
        (layout.checkpoint(step) / "model.safetensors").write_bytes(b"")
    names = [checkpoint_name(s) for s in steps]
    CheckpointIndex(last=names[-1], best=checkpoint_name(best), kept=names).write(layout)
    return layout


def test_checkpoint_names_sort_by_step():
    names = [checkpoint_name(s) for s in (10, 9, 100000, 1000)]
    assert sorted(names) == [checkpoint_name(s) for s in (9, 10, 1000, 100000)]


def test_index_round_trips_through_json(tmp_path):
    layout = make_run(tmp_path)
    index = CheckpointIndex.read(layout)
    assert index == CheckpointIndex("step_00001000", "step_00000500", ["step_00000500", "step_00001000"])
    assert json.loads(layout.index.read_text())["best"] == "step_00000500"


def test_best_last_name_and_path_resolve_to_checkpoint_directories(tmp_path):
    layout = make_run(tmp_path)
    assert resolve_checkpoint(layout.root, "best") == layout.checkpoint(500)
    assert resolve_checkpoint(layout.root, "last") == layout.checkpoint(1000)
    assert resolve_checkpoint(layout.root, "step_00001000") == layout.checkpoint(1000)
    assert resolve_checkpoint(layout.root, "step_1000") == layout.checkpoint(1000)
    assert resolve_checkpoint(layout.root, "step_500") == layout.checkpoint(500)
    model_file = layout.checkpoint(500) / "model.safetensors"
    assert resolve_checkpoint(layout.root, str(model_file)) == layout.checkpoint(500)
    assert resolve_checkpoint(layout.root, str(layout.checkpoint(1000))) == layout.checkpoint(1000)


def test_unknown_checkpoint_lists_the_available_ones(tmp_path):
    layout = make_run(tmp_path)
    with pytest.raises(RunError, match="step_00000500, step_00001000"):
        resolve_checkpoint(layout.root, "step_00000007")


def test_run_without_checkpoints_says_so(tmp_path):
    layout = make_run(tmp_path, steps=(500,))
    layout.index.unlink()
    with pytest.raises(RunError, match="no checkpoint yet"):
        resolve_checkpoint(layout.root, "best")


def test_a_directory_that_is_not_a_run_is_rejected_by_name(tmp_path):
    with pytest.raises(RunError, match="does not exist"):
        load_run(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="not a tinygpt run directory"):
        load_run(tmp_path / "empty")


def test_malformed_index_names_the_file(tmp_path):
    layout = make_run(tmp_path)
    layout.index.write_text("{not json")
    with pytest.raises(RunError, match="index.json"):
        resolve_checkpoint(layout.root, "best")
