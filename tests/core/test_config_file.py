"""Config files: one suffix rule (.ron or .json) and one field check for both formats."""

from __future__ import annotations

import json

import pytest

from tests.reference.gptrs_files import WARMUP_COSINE_TRAIN_CONFIG
from tinygpt import ron
from tinygpt.config_file import read_config_file, write_config_file
from tinygpt.errors import ConfigError


def test_read_config_file_fills_defaults_and_reports_unknown_and_missing_fields(tmp_path):
    path = tmp_path / "train_config.ron"
    path.write_text(WARMUP_COSINE_TRAIN_CONFIG)
    fields = {"training_iterations", "evaluation_interval", "evaluation_iterations", "contexts_per_batch"}
    loaded = read_config_file(
        path,
        required=fields,
        optional={"min_learning_rate": 0.0, "max_learning_rate": 0.0, "warmup_iterations": 0, "seed": 0},
        what="train config",
    )
    assert loaded["warmup_iterations"] == 3000 and loaded["seed"] == 0
    with pytest.raises(ConfigError) as caught:
        read_config_file(path, required=fields | {"learning_rate"}, what="train config")
    message = str(caught.value)
    assert str(path) in message and "train config" in message
    assert "unknown field(s) max_learning_rate, min_learning_rate, warmup_iterations" in message
    assert "missing field(s) learning_rate" in message


@pytest.mark.parametrize(("content", "found"), [("[1, 2]", "a list"), ("()", "an empty struct"), ("{}", "RonMap")])
def test_read_config_file_rejects_non_structs(tmp_path, content, found):
    path = tmp_path / "config.ron"
    path.write_text(content)
    with pytest.raises(ConfigError, match=f"expected a model config struct.*{found}"):
        read_config_file(path, required={"a"}, what="model config")


def test_read_config_file_turns_syntax_errors_into_config_errors(tmp_path):
    path = tmp_path / "config.ron"
    path.write_text("(a: 1,, )")
    with pytest.raises(ConfigError, match=r"config.ron:1:7"):
        read_config_file(path, required={"a"}, what="model config")


@pytest.mark.parametrize("name", ["config.json", "config.ron"])
def test_both_formats_round_trip_and_are_checked_alike(tmp_path, name):
    path = tmp_path / name
    write_config_file({"a": 1, "b": 2.5}, path, what="model config")
    assert read_config_file(path, required={"a"}, optional={"b": 0.0, "c": "x"}, what="model config") == {
        "a": 1,
        "b": 2.5,
        "c": "x",
    }
    with pytest.raises(ConfigError, match=rf"{name}: model config: unknown field\(s\) b .*missing field\(s\) d"):
        read_config_file(path, required={"a", "d"}, what="model config")


def test_json_errors_name_the_file_line_and_column(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"a": 1,\n "b": }')
    with pytest.raises(ConfigError, match=r"config.json:2:7: invalid JSON"):
        read_config_file(path, required={"a"}, what="model config")
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(ConfigError, match="expected a JSON object of model config fields"):
        read_config_file(path, required={"a"}, what="model config")


@pytest.mark.parametrize("name", ["config.txt", "config", "config.rno"])
def test_any_other_suffix_is_refused_for_reading_and_writing(tmp_path, name):
    path = tmp_path / name
    path.write_text(ron.dumps({"a": 1}))
    with pytest.raises(ConfigError, match="must end in .ron or .json"):
        read_config_file(path, required={"a"}, what="train config")
    with pytest.raises(ConfigError, match="must end in .ron or .json"):
        write_config_file({"a": 1}, path.with_name("new-" + name), what="train config")
    assert not path.with_name("new-" + name).exists()


def test_a_missing_file_is_a_config_error_naming_it(tmp_path):
    with pytest.raises(ConfigError, match="missing.json"):
        read_config_file(tmp_path / "missing.json", required={"a"}, what="train config")
