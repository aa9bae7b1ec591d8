"""Fixtures of the Hugging Face bridge tests."""

from __future__ import annotations

import pytest
import torch

from tests.hf.hf_models import train_hf_tokenizer


@pytest.fixture(autouse=True)
def one_cpu_thread():
    """Small models gain nothing from threads, and a busy machine makes waiting threads slow."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def hf_tokenizer():
    return train_hf_tokenizer()
