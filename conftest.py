"""Fixtures shared by tests/ and benches/: where the reference data in ../shared/data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent
SHARED_DATA = Path(os.environ.get("TINYGPT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip when it is absent."""
    if not (SHARED_DATA / "tinystories" / "tinystories-5k.txt").is_file():
        pytest.skip(f"reference data not found at {SHARED_DATA} (set TINYGPT_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tinystories_txt(shared_data: Path) -> Path:
    return shared_data / "tinystories" / "tinystories-5k.txt"


@pytest.fixture(scope="session")
def tinystories_parquet(shared_data: Path) -> Path:
    return shared_data / "tinystories" / "tinystories-5k.parquet"


@pytest.fixture(scope="session")
def gpt2_dir(shared_data: Path) -> Path:
    return shared_data / "gpt2"
