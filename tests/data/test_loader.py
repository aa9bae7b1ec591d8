"""TokenLoader: batches, sampling rules, determinism, ranks, resume, evaluation sweep, errors."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest
import torch

from tests.data.shard_helpers import EOT, write_shard_dir, write_stream_dir
from tinygpt.data import TokenLoader
from tinygpt.errors import ConfigError, DataError


def _documents(count: int, seed: int = 0, longest: int = 60) -> list[list[int]]:
    """Documents whose tokens are distinct across the whole split, so each token's position
    in the stream can be recovered from its value."""
    rng = np.random.default_rng(seed)
    documents, next_token = [], 1
    for length in rng.integers(1, longest, size=count):
        documents.append(list(range(next_token, next_token + int(length))))
        next_token += int(length)
    return documents


@pytest.fixture
def shard_dir(tmp_path):
    documents = _documents(120)
    vocab = max(max(doc) for doc in documents) + 1
    return write_shard_dir(
        tmp_path / "shards", {"train": documents, "val": documents[:30]}, vocab_size=vocab, documents_per_shard=7
    )


def _stream(loader: TokenLoader) -> np.ndarray:
    return np.concatenate(
        [np.fromfile(p, dtype=loader.manifest.dtype, offset=1024) for p in loader.manifest.shard_paths(loader.split)]
    ).astype(np.int64)


def test_batches_are_int64_windows_with_y_shifted_by_one(shard_dir):
    """The public contract of DESIGN §5: x, y int64 (B, T) and y is x shifted by one token
    (where y is a target; -1 marks the padding of a window cut short at a document's end)."""
    loader = TokenLoader(shard_dir, 8, 16)
    x, y = next(iter(loader))
    assert x.dtype == y.dtype == torch.int64
    assert x.shape == y.shape == (8, 16)
    real = y[:, :-1] >= 0
    assert torch.equal(x[:, 1:][real], y[:, :-1][real])
    stream = np.append(_stream(loader), EOT)  # the end of the split closes its last document
    for row_x, row_y in zip(x.numpy(), y.numpy()):
        targets = int((row_y >= 0).sum())
        anchor = int(np.flatnonzero(row_x != EOT)[0]) if (row_x != EOT).any() else None
        if anchor is None:
            continue  # EOT -> EOT: an empty document
        start = int(np.flatnonzero(stream == row_x[anchor])[0]) - anchor
        assert np.array_equal(stream[start : start + targets + 1], np.append(row_x[:targets], row_y[targets - 1]))


def _windows(loader: TokenLoader, batches: int) -> list[tuple[int, ...]]:
    """Each drawn window as its tokens (x then the last target), padding removed."""
    windows = []
    for _ in range(batches):
        x, y = next(loader)
        for row_x, row_y in zip(x.tolist(), y.tolist()):
            targets = sum(target >= 0 for target in row_y)
            windows.append((*row_x[:targets], row_y[targets - 1]))
    return windows


def test_document_windows_stay_inside_one_document_and_end_at_its_end_of_text(shard_dir):
    """document sampling: a window lies inside one document; the end-of-text token that closes
    it (the next document's) can only be its last target, and a window that would run past it
    moves back to end there, so every window of a long enough document is whole: y is x shifted
    by one token, with nothing to ignore."""
    loader = TokenLoader(shard_dir, 32, 20, seed=3)
    ends = whole = 0
    for _ in range(20):
        x, y = next(loader)
        for row_x, row_y in zip(x, y):
            targets = int((row_y >= 0).sum())
            if targets < 20:  # only a document shorter than a window: all of it, from its start
                assert row_x[0] == EOT and row_y[targets - 1] == EOT and (row_y[targets:] == -1).all()
            else:
                whole += 1
                assert torch.equal(row_x[1:], row_y[:-1])
            window = (*row_x[:targets].tolist(), int(row_y[targets - 1]))
            assert EOT not in window[1:-1], "a window crossed into the next document"
            ends += window[-1] == EOT
    assert ends > 0 and whole > 0


def test_windows_of_documents_longer_than_the_context_are_never_padded(tmp_path):
    """With every document longer than a window (the usual case: stories of a few hundred
    tokens, contexts of 64-256), y is exactly x shifted by one, as DESIGN §5 states, so a plain
    cross_entropy works on document batches too."""
    documents = _documents(50, seed=1, longest=90)
    documents = [doc for doc in documents if len(doc) >= 20]
    directory = write_shard_dir(tmp_path, {"train": documents}, vocab_size=max(map(max, documents)) + 1)
    loader = TokenLoader(directory, 64, 16, seed=2)
    ends = 0
    for _ in range(10):
        x, y = next(loader)
        assert (y >= 0).all() and torch.equal(x[:, 1:], y[:, :-1])
        ends += int((y[:, -1] == EOT).sum())
    assert ends > 0


def test_document_sampling_draws_every_start_equally_and_moves_late_ones_to_the_end(tmp_path):
    """Every token of a document with a successor draws a window, equally likely; a window that
    would pass the end-of-text token closing its document (the next one's, or the one implied at
    the end of the split) ends on it instead, so the document end is drawn once per late start;
    only a document shorter than a window is padded."""
    documents = [[1, 2, 3, 4, 5], [6], [8, 9, 10, 11]]
    loader = TokenLoader(write_shard_dir(tmp_path, {"train": documents}, vocab_size=12), 64, 3)
    counts: dict[tuple[int, ...], int] = {}
    for window in _windows(loader, 40):
        counts[window] = counts.get(window, 0) + 1
    # Starts per window: 1 each, 3 for a document end reached from its last three tokens (2 for
    # the second document, whose whole text and end fit in one padded window).
    weights = {
        (EOT, 1, 2, 3): 1,
        (1, 2, 3, 4): 1,
        (2, 3, 4, 5): 1,
        (3, 4, 5, EOT): 3,
        (EOT, 6, EOT): 2,
        (EOT, 8, 9, 10): 1,
        (8, 9, 10, 11): 1,
        (9, 10, 11, EOT): 3,
    }
    assert set(counts) == set(weights)
    draws = sum(counts.values())  # 2,560: ~197 per start
    for window, weight in weights.items():
        share = weight / sum(weights.values())
        assert 0.75 * share < counts[window] / draws < 1.25 * share, (window, counts[window])


def test_end_of_text_is_a_target_as_often_in_document_as_in_stream_sampling(tmp_path):
    """The fraction of targets that are end-of-text, per mode: documents of 30 to 60 tokens
    end about once per 45 targets; document sampling learns their ends like stream sampling
    (it was 0 when windows stopped before the end-of-text token)."""
    rng = np.random.default_rng(0)
    documents = [list(rng.integers(1, 500, size=int(n))) for n in rng.integers(30, 61, size=200)]
    directory = write_shard_dir(tmp_path, {"train": documents}, vocab_size=500, documents_per_shard=50)
    expected = len(documents) / sum(len(doc) + 1 for doc in documents)
    for sampling in ("document", "stream"):
        loader = TokenLoader(directory, 64, 16, sampling=sampling, seed=1)
        targets = eots = 0
        for _ in range(100):
            _, y = next(loader)
            targets += int((y >= 0).sum())
            eots += int((y == EOT).sum())
        assert 0.7 * expected < eots / targets < 1.3 * expected, (sampling, eots / targets, expected)


def test_stream_windows_may_cross_documents_and_shards(tmp_path):
    """stream sampling: any window of the concatenated split, across shard boundaries (uint32)."""
    stream = np.arange(70_000, 70_000 + 300, dtype=np.int64)
    stream[::25] = EOT
    directory = write_stream_dir(tmp_path, stream, [7, 8, 150], vocab_size=80_000)
    loader = TokenLoader(directory, 64, 40, sampling="stream")
    assert loader.manifest.dtype == "uint32"
    crossed = False
    for _ in range(10):
        x, y = next(loader)
        for row_x, row_y in zip(x.numpy(), y.numpy()):
            anchor = int(np.flatnonzero(row_x != EOT)[0])
            start = int(np.flatnonzero(stream == row_x[anchor])[0]) - anchor
            assert np.array_equal(stream[start : start + 41], np.append(row_x, row_y[-1]))
            crossed |= start < 150 < start + 41
    assert crossed


def test_same_seed_same_batches_whatever_the_prefetch_depth_or_timing(shard_dir):
    """Batch b depends on (seed, b) only: prefetch depth and a slow consumer change nothing."""
    fast = TokenLoader(shard_dir, 4, 8, seed=11, prefetch=1)
    deep = TokenLoader(shard_dir, 4, 8, seed=11, prefetch=8)
    for step in range(30):
        if step % 10 == 0:
            time.sleep(0.01)  # the deep loader's worker runs ahead meanwhile
        a, b = next(fast), next(deep)
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    other = TokenLoader(shard_dir, 4, 8, seed=12)
    assert not torch.equal(next(other)[0], next(TokenLoader(shard_dir, 4, 8, seed=11))[0])


def test_held_batches_are_never_overwritten(shard_dir):
    """Zero-copy buffers are recycled only after Python drops them."""
    loader = TokenLoader(shard_dir, 4, 8, seed=5, prefetch=2)
    held = [next(loader) for _ in range(40)]
    replay = TokenLoader(shard_dir, 4, 8, seed=5)
    for x, y in held:
        x2, y2 = next(replay)
        assert torch.equal(x, x2) and torch.equal(y, y2)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_forked_child_gets_its_own_batch_thread(shard_dir, tmp_path):
    """After fork() the parent's prefetch thread does not exist in the child: the child must
    carry on with a thread of its own (same batches), not wait forever."""
    loader = TokenLoader(shard_dir, 4, 8, seed=4)
    next(loader)
    result = tmp_path / "child.npy"
    pid = os.fork()
    if pid == 0:
        try:
            batches = [next(loader)[0].numpy() for _ in range(5)]  # more than were prefetched
            np.save(result, np.stack(batches))
        finally:
            os._exit(0)
    deadline = time.monotonic() + 20
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            pytest.fail("the forked child hung waiting for a batch")
        time.sleep(0.05)
    assert np.array_equal(np.load(result), np.stack([next(loader)[0].numpy() for _ in range(5)]))


def test_ranks_get_disjoint_interleaved_streams(shard_dir):
    """rank r of W gets global batches b*W + r: together they replay the single-process stream."""
    single = TokenLoader(shard_dir, 4, 8, seed=2)
    ranks = [TokenLoader(shard_dir, 4, 8, seed=2, rank=r, world_size=3) for r in range(3)]
    for _ in range(5):
        for rank in ranks:
            assert torch.equal(next(rank)[0], next(single)[0])


def test_state_dict_resumes_exactly(shard_dir):
    """A resumed run sees exactly the batches it would have seen."""
    loader = TokenLoader(shard_dir, 4, 8, seed=9)
    for _ in range(5):
        next(loader)
    state = json.loads(json.dumps(loader.state_dict()))  # survives a JSON round trip
    expected = [next(loader) for _ in range(3)]
    resumed = TokenLoader(shard_dir, 4, 8, seed=9)
    resumed.load_state_dict(state)
    for x, y in expected:
        x2, y2 = next(resumed)
        assert torch.equal(x, x2) and torch.equal(y, y2)


def test_state_from_another_configuration_is_refused(shard_dir):
    state = TokenLoader(shard_dir, 4, 8, seed=9).state_dict()
    with pytest.raises(ConfigError, match="seed"):
        TokenLoader(shard_dir, 4, 8, seed=10).load_state_dict(state)
    with pytest.raises(ConfigError, match="not a TokenLoader state"):
        TokenLoader(shard_dir, 4, 8).load_state_dict({"batches": 3})


def _eval_targets(loader: TokenLoader, **kwargs) -> list[int]:
    targets = []
    for x, y in loader.iter_eval(**kwargs):
        real = y[:, 1:] >= 0  # x[:, j + 1] is a real token exactly where y[:, j + 1] is a target
        assert torch.equal(x[:, 1:][real], y[:, :-1][real])
        assert (x[y < 0] == EOT).all(), "padding of x must be the end-of-text id"
        targets.extend(y[y >= 0].tolist())
    return targets


def test_eval_sweep_predicts_every_text_token_and_each_documents_end_once(shard_dir):
    """iter_eval (document): every text token, and the end-of-text token closing each document,
    is a target exactly once; no window crosses documents, the trailing partial window is padded
    rather than dropped."""
    loader = TokenLoader(shard_dir, 5, 16)
    stream = _stream(loader)
    expected = sorted(stream[stream != EOT].tolist() + [EOT] * loader.num_documents)
    assert sorted(_eval_targets(loader)) == expected
    ranks = [TokenLoader(shard_dir, 5, 16, rank=r, world_size=2) for r in range(2)]
    assert sorted(_eval_targets(ranks[0]) + _eval_targets(ranks[1])) == expected


def test_eval_sweep_in_stream_mode_predicts_every_token_after_the_first(shard_dir):
    loader = TokenLoader(shard_dir, 5, 16, sampling="stream")
    stream = _stream(loader)
    assert _eval_targets(loader, batch_size=7) == stream[1:].tolist()


def test_manifest_and_tokenizer_path_are_exposed(shard_dir):
    loader = TokenLoader(shard_dir, 2, 4, split="val")
    assert loader.manifest.splits["val"].documents == 30
    assert loader.tokenizer_path == shard_dir / "tokenizer.ron"
    assert loader.num_documents == 30


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"batch_size": 0}, ConfigError, "batch_size"),
        ({"context_length": -1}, ConfigError, "context_length"),
        ({"sampling": "random"}, ConfigError, "sampling"),
        ({"rank": 2, "world_size": 2}, ConfigError, "rank"),
        ({"prefetch": 0}, ConfigError, "prefetch"),
        ({"split": "test"}, DataError, "no split 'test'"),
    ],
)
def test_bad_arguments_are_refused(shard_dir, kwargs, error, message):
    arguments = {"batch_size": 2, "context_length": 4, **kwargs}
    with pytest.raises(error, match=message):
        TokenLoader(shard_dir, arguments.pop("batch_size"), arguments.pop("context_length"), **arguments)


def test_documents_shorter_than_the_context_are_sampled_padded(shard_dir):
    loader = TokenLoader(shard_dir, 4, 500)
    x, y = next(loader)
    assert ((y >= 0).sum(dim=1) < 500).all() and (y[:, -1] == -1).all()
    assert (x[y < 0] == EOT).all(), "padding of x must be the end-of-text id"
    assert len(list(loader.iter_eval())) > 0


def test_stream_sampling_needs_one_full_window(shard_dir):
    loader = TokenLoader(shard_dir, 2, 100_000, sampling="stream")
    with pytest.raises(DataError, match="fewer than one window"):
        next(loader)


def test_missing_directory_manifest_or_shard_is_a_data_error(tmp_path, shard_dir):
    with pytest.raises(DataError, match="no such directory"):
        TokenLoader(tmp_path / "absent", 2, 4)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no manifest.json"):
        TokenLoader(tmp_path / "empty", 2, 4)
    (shard_dir / "train_000002.bin").unlink()
    with pytest.raises(DataError, match="train_000002.bin: listed in .*manifest.json but missing"):
        TokenLoader(shard_dir, 2, 4)


def test_corrupt_shards_are_data_errors_naming_the_file(shard_dir):
    shard = shard_dir / "train_000001.bin"
    data = bytearray(shard.read_bytes())
    shard.write_bytes(data[:-3])
    with pytest.raises(DataError, match="train_000001.bin: truncated"):
        TokenLoader(shard_dir, 2, 4)
    data[1024:1026] = (65535).to_bytes(2, "little")
    shard.write_bytes(data)
    with pytest.raises(DataError, match=r"train_000001.bin: token 65535 at byte 1024 is outside"):
        TokenLoader(shard_dir, 2, 4)


def test_dtype_disagreeing_with_manifest_is_refused(shard_dir):
    manifest = json.loads((shard_dir / "manifest.json").read_text())
    manifest["dtype"] = "uint32"
    (shard_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"header says \d+ uint16 tokens, the manifest \d+ uint32"):
        TokenLoader(shard_dir, 2, 4)


def test_pin_memory_without_cuda_is_explained(shard_dir):
    if torch.cuda.is_available():
        x, _ = next(TokenLoader(shard_dir, 2, 4, pin_memory=True))
        assert x.is_pinned()
    else:
        with pytest.raises(ConfigError, match="CUDA"):
            TokenLoader(shard_dir, 2, 4, pin_memory=True)
