"""BPETokenizer pickles by content, so the engines people scale out with can ship it: a spawn
process pool and Hugging Face ``datasets.map(num_proc=2)`` give exactly the local ids."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

from tinygpt import BPETokenizer

STORIES = [f'Story {i}: Lily\'s cat sat on the mat, then ran {i * 7} steps.\n"Hi!" said Tom.' for i in range(64)]


@pytest.fixture(scope="module", params=["bytes", "words"])
def tok(request) -> BPETokenizer:
    if request.param == "bytes":
        return BPETokenizer.train(STORIES, 320, show_progress=False)
    return BPETokenizer.train(STORIES, 360, mode="words", byte_fallback=True, show_progress=False)


def test_pickle_round_trip_is_equal_and_encodes_alike(tok):
    data = pickle.dumps(tok)
    again = pickle.loads(data)
    assert again == tok and again.vocab == tok.vocab and again.eot_id == tok.eot_id
    assert again.encode_batch(STORIES) == tok.encode_batch(STORIES)
    assert len(data) < 200 + 12 * len(tok.merges) + 64 * len(tok.vocab)


def test_custom_pattern_tokenizer_pickles():
    custom = r"\p{L}+|\s+|[^\s\p{L}]+"
    tok = BPETokenizer.train(STORIES, 300, pattern=custom, show_progress=False)
    again = pickle.loads(pickle.dumps(tok))
    assert again.pattern == custom and again.encode(STORIES[0]) == tok.encode(STORIES[0])


def _encode_with(tok: BPETokenizer, texts: list[str]) -> list[list[int]]:
    return tok.encode_batch(texts, num_threads=1)


def test_spawn_process_pool_gives_the_local_ids(tok):
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        halves = list(pool.map(_encode_with, [tok, tok], [STORIES[:32], STORIES[32:]]))
    assert halves[0] + halves[1] == tok.encode_batch(STORIES)


def test_datasets_map_with_two_processes_gives_the_local_ids(tok, tmp_path):
    datasets = pytest.importorskip("datasets")
    dataset = datasets.Dataset.from_dict({"text": STORIES})
    mapped = dataset.map(
        lambda batch: {"ids": tok.encode_batch(batch["text"], num_threads=1)},
        batched=True,
        batch_size=8,
        num_proc=2,
        cache_file_name=str(tmp_path / "cache.arrow"),
    )
    assert mapped["ids"] == tok.encode_batch(STORIES)
