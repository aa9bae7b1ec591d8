"""Fixtures of the Hugging Face bridge tests."""

from __future__ import annotations

import pytest

from tests.generate.generation_run import one_cpu_thread  # noqa: F401 (autouse: one torch thread)
from tests.hf.hf_models import train_hf_tokenizer


@pytest.fixture(scope="module")
def hf_tokenizer():
    return train_hf_tokenizer()
