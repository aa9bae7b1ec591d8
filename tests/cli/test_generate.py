"""`tinygpt generate`: gpt-rs's flags on a run directory, streaming, batches and clear errors."""

from __future__ import annotations

import pytest

from tests.generate.generation_run import make_generation_run, one_cpu_thread  # noqa: F401 (autouse)
from tinygpt.cli import main
from tinygpt.generate import TextStream, generate_texts
from tinygpt.model.decoding import TokenSampler
from tinygpt.run import load_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_generation_run(tmp_path_factory.mktemp("gen") / "run")


def generate(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["generate", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_original_flags_print_prompt_and_continuation(run_dir, capsys):
    """`--input --token-count --temperature` as in gpt-rs; the parameter count goes to stderr."""
    code, out, err = generate(
        capsys,
        str(run_dir),
        "--input",
        "Once",
        "--token-count",
        "20",
        "--temperature",
        "0.7",
        "--seed",
        "1",
        "--device",
        "cpu",
    )
    assert code == 0
    assert out.startswith("Once") and len(out) > len("Once\n")
    assert "parameters" in err and "step_00000100" in err


def test_seed_makes_output_repeatable_and_stream_matches_batch(run_dir, capsys):
    """Same seed, same text, whether streamed or not."""
    args = [str(run_dir), "--input", "The cat", "--token-count", "30", "--seed", "5", "--device", "cpu"]
    _, first, _ = generate(capsys, *args)
    _, again, _ = generate(capsys, *args)
    _, streamed, _ = generate(capsys, *args, "--stream")
    assert first == again == streamed


def test_several_inputs_are_continued_in_order(run_dir, capsys):
    code, out, _ = generate(
        capsys,
        str(run_dir),
        "--input",
        "Once",
        "--input",
        "Tom and his dog",
        "--input",
        "Lily",
        "--token-count",
        "8",
        "--greedy",
        "--device",
        "cpu",
    )
    assert code == 0
    assert out.startswith("Once")
    assert out.index("Once") < out.index("\n\nTom and his dog") < out.index("\n\nLily")


def test_batched_texts_equal_one_by_one_streams(run_dir):
    """generate_texts batches equal-length prompts; greedy results equal single streams."""
    model, tok = load_run(run_dir, device="cpu")
    prompts = [tok.encode(t) for t in ("Once upon", "The cat", "Tom ran", "Once upon")]
    batched = generate_texts(model, tok, prompts, 40, TokenSampler(greedy=True))
    for ids, text in zip(prompts, batched):
        assert "".join(TextStream(model, tok, ids, 40, TokenSampler(greedy=True))) == text


def test_stream_finishes_with_a_reason_and_keeps_token_ids(run_dir):
    model, tok = load_run(run_dir, device="cpu")
    stream = TextStream(model, tok, tok.encode("Once"), 25, TokenSampler(greedy=True))
    text = "".join(stream)
    assert stream.finish_reason in ("length", "end_of_text")
    assert tok.decode(stream.token_ids) == text
    assert len(stream.token_ids) <= 25


def test_stop_string_ends_the_text_before_it(run_dir):
    model, tok = load_run(run_dir, device="cpu")
    full = "".join(TextStream(model, tok, tok.encode("Once"), 40, TokenSampler(greedy=True)))
    stop = full[10:13]
    stopped = TextStream(model, tok, tok.encode("Once"), 40, TokenSampler(greedy=True), stop=[stop])
    assert "".join(stopped) == full[: full.index(stop)]
    assert stopped.finish_reason == "stop"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--input", ""], "the prompt is empty"),
        (["--input", "Once", "--temperature", "0"], "temperature must be a number > 0"),
        (["--input", "Once", "--checkpoint", "step_00000007"], "checkpoint 'step_00000007' not found"),
    ],
)
def test_bad_arguments_are_one_line_errors(run_dir, capsys, argv, message):
    code, out, err = generate(capsys, str(run_dir), *argv, "--device", "cpu")
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_missing_run_directory_is_a_clear_error(tmp_path, capsys):
    code, _, err = generate(capsys, str(tmp_path / "nowhere"), "--input", "Once")
    assert code == 2 and "does not exist" in err


def test_characters_outside_a_words_alphabet_are_a_clear_error(tmp_path, capsys):
    run = make_generation_run(tmp_path / "words", mode="words")
    code, _, err = generate(capsys, str(run), "--input", "Once ☃", "--device", "cpu")
    assert code == 2 and "'☃' (U+2603) at offset 5 is not in the tokenizer's alphabet" in err


def test_threads_flag(run_dir, capsys):
    """--threads pins CPU threads; auto uses one; bad values are clear errors."""
    code, _, err = generate(
        capsys, str(run_dir), "--input", "Once", "--token-count", "2", "--device", "cpu", "--threads", "2"
    )
    assert code == 0 and "2 thread(s)" in err
    code, _, err = generate(capsys, str(run_dir), "--input", "Once", "--token-count", "2", "--device", "cpu")
    assert code == 0 and "1 thread(s)" in err
    code, _, err = generate(capsys, str(run_dir), "--input", "Once", "--device", "cpu", "--threads", "many")
    assert code == 2 and "--threads must be a positive integer or auto, got 'many'" in err
