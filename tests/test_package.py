"""The installed package: every compiled extension loads, the public names resolve, the CLI runs."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinygpt.cli import COMMANDS, build_parser

PUBLIC_NAMES = ("BPETokenizer", "GPTConfig", "GPT", "load_run")


@pytest.mark.parametrize("module", ["tinygpt._bpe", "tinygpt._loader", "tinygpt._matvec"])
def test_compiled_extension_loads(module: str) -> None:
    extension = importlib.import_module(module)
    assert extension.__file__.endswith((".so", ".pyd")), extension.__file__


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_name_resolves(name: str) -> None:
    import tinygpt

    assert getattr(tinygpt, name).__name__ == name


def test_unknown_public_name_is_an_attribute_error() -> None:
    import tinygpt

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        tinygpt.Nope  # noqa: B018


def test_every_documented_command_is_registered() -> None:
    documented = {"tokenize", "train", "generate", "repl", "quickstart", "eval"}
    assert documented <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tinygpt", command, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"usage: tinygpt {command}" in result.stdout


def test_console_script_is_installed() -> None:
    # pip puts console scripts beside the interpreter of the environment it installs into.
    script = shutil.which("tinygpt", path=str(Path(sys.executable).parent)) or shutil.which("tinygpt")
    if script is None:
        pytest.skip("the tinygpt console script is not on PATH in this environment")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


def test_missing_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([])
    assert exit_info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_cibuildwheel_smoke_script_passes() -> None:
    """The script cibuildwheel runs against every wheel must pass here too, so it cannot rot."""
    script = Path(__file__).with_name("smoke_wheel.py")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "smoke test passed" in result.stdout


def test_tokenizer_and_shard_work_do_not_import_torch() -> None:
    """Lazy exports keep torch (seconds to import) out of tokenizer-only and tokenize jobs, and
    out of the CLI's start-up, which builds every sub-command's parser."""
    code = (
        "import sys, tinygpt, tinygpt.data; tinygpt.BPETokenizer; tinygpt.data.tokenize_corpus; "
        "tinygpt.GPTConfig; from tinygpt.cli import build_parser; build_parser(); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_a_named_command_imports_only_its_own_cli_module(tmp_path: Path) -> None:
    """``tinygpt tokenize`` builds its own parser only (start-up time); a mistyped command
    still gets the usage of every command."""
    code = (
        "import sys; from tinygpt.cli import main; main(['tokenize', '--merge', '--out', sys.argv[1]]); "
        "print(' '.join(m for m in sys.modules if m.startswith('tinygpt.cli.')))"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120)
    imported = result.stdout.split()
    assert "tinygpt.cli.tokenize" in imported
    assert not [command for command in COMMANDS if command != "tokenize" and f"tinygpt.cli.{command}" in imported]
    mistyped = subprocess.run(
        [sys.executable, "-m", "tinygpt", "tokenise"], capture_output=True, text=True, timeout=120
    )
    assert mistyped.returncode == 2
    for command in COMMANDS:
        assert command in mistyped.stderr
