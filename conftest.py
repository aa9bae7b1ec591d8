"""Fixtures shared by tests/ and benches/: where the reference text and GPT-2 files live.

The full reference data sits in ``../shared/data`` beside the checkout (or wherever
``TINYGPT_SHARED_DATA`` points). A fresh clone without it falls back to the small copy shipped
in ``tests/fixtures`` (a 307-story slice, GPT-2's first 5,000 merges), so every test still runs;
only the full benchmarks (``TINYGPT_BENCH_FULL=1``) insist on the full data.

The package's docstring examples (collected by ``--doctest-modules``) each run in a fresh copy
of one folder of sample files, so that they can name files as a user would.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.generate.generation_run import make_generation_run
from tinygpt import BPETokenizer
from tinygpt.data import tokenize_corpus

REPO_ROOT = Path(__file__).resolve().parent
SHARED_DATA = Path(os.environ.get("TINYGPT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
SHIPPED_DATA = REPO_ROOT / "tests" / "fixtures"
BENCH_FULL = os.environ.get("TINYGPT_BENCH_FULL") == "1"


@dataclass(frozen=True)
class ReferenceData:
    """One copy of the reference data: a folder with README.md, tinystories/ and gpt2/."""

    root: Path
    stories_stem: str

    @property
    def is_full(self) -> bool:
        return self.root == SHARED_DATA


FULL_DATA = ReferenceData(SHARED_DATA, "tinystories-5k")
SHIPPED = ReferenceData(SHIPPED_DATA, "tinystories-307")


@pytest.fixture(scope="session")
def reference_data() -> ReferenceData:
    """``../shared/data`` when present, else the slice shipped in tests/fixtures."""
    if (FULL_DATA.root / "tinystories" / f"{FULL_DATA.stories_stem}.txt").is_file():
        return FULL_DATA
    if BENCH_FULL:
        pytest.skip(
            f"TINYGPT_BENCH_FULL=1 measures on the full reference data, not found at {SHARED_DATA} "
            "(set TINYGPT_SHARED_DATA)"
        )
    return SHIPPED


@pytest.fixture(scope="session")
def tinystories_txt(reference_data: ReferenceData) -> Path:
    """Real TinyStories text, one story per block, blocks separated by ``<|endoftext|>`` lines."""
    return reference_data.root / "tinystories" / f"{reference_data.stories_stem}.txt"


@pytest.fixture(scope="session")
def tinystories_parquet(reference_data: ReferenceData) -> Path:
    """The same stories as :func:`tinystories_txt`, one per row of a ``text`` column."""
    return reference_data.root / "tinystories" / f"{reference_data.stories_stem}.parquet"


@pytest.fixture(scope="session")
def gpt2_dir(reference_data: ReferenceData) -> Path:
    """GPT-2's ``vocab.json`` and ``merges.txt`` (the shipped copy holds the first 5,000 merges)."""
    return reference_data.root / "gpt2"


@pytest.fixture(scope="session")
def docstring_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the docstring examples find in their working folder: ``stories.txt`` and
    ``stories.parquet`` (the shipped slice, whatever ../shared holds, so outputs never change),
    ``gpt2/``, ``tokenizer.ron`` trained on the stories, ``out/`` (their shards) and
    ``runs/stories`` (a small run directory with random weights)."""
    folder = tmp_path_factory.mktemp("docstrings")
    stories = SHIPPED.root / "tinystories" / SHIPPED.stories_stem
    shutil.copyfile(stories.with_suffix(".txt"), folder / "stories.txt")
    shutil.copyfile(stories.with_suffix(".parquet"), folder / "stories.parquet")
    shutil.copytree(SHIPPED.root / "gpt2", folder / "gpt2")
    tokenizer = BPETokenizer.train(folder / "stories.txt", 512, show_progress=False)
    tokenizer.save(folder / "tokenizer.ron")
    tokenize_corpus(folder / "stories.txt", tokenizer, folder / "out", show_progress=False)
    make_generation_run(folder / "runs" / "stories")
    return folder


@pytest.fixture(autouse=True)
def _docstring_examples_run_in_a_copy_of_the_docstring_folder(request: pytest.FixtureRequest) -> None:
    if isinstance(request.node, pytest.DoctestItem):
        folder = request.getfixturevalue("tmp_path") / "examples"
        shutil.copytree(request.getfixturevalue("docstring_folder"), folder)
        request.getfixturevalue("monkeypatch").chdir(folder)
