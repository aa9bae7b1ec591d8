"""The three batch streams of a run (training, and the train/held-out evaluation estimates)
and the checks that the shards suit the model, done before any training starts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch

from tinygpt.data.loader import TokenLoader
from tinygpt.data.manifest import Manifest, check_shards_match_tokenizer
from tinygpt.errors import ConfigError
from tinygpt.tokenizer.bpe import BPETokenizer
from tinygpt.train.compatibility import check_vocab_fits
from tinygpt.train.config import TrainConfig
from tinygpt.train.distributed import DistContext

Batch = tuple[torch.Tensor, torch.Tensor]


def micro_batch_size(config: TrainConfig, world_size: int) -> int:
    """contexts_per_batch is the global batch: split over accumulation steps and processes."""
    parts = config.grad_accumulation * world_size
    if config.contexts_per_batch % parts:
        raise ConfigError(
            f"contexts_per_batch ({config.contexts_per_batch}) must be a multiple of "
            f"grad_accumulation x processes ({config.grad_accumulation} x {world_size})"
        )
    return config.contexts_per_batch // parts


@dataclass
class TrainingData:
    directory: Path
    tokenizer: BPETokenizer
    tokenizer_path: Path
    manifest: Manifest
    loaders: dict[str, TokenLoader]

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        *,
        vocab_size: int,
        context_length: int,
        config: TrainConfig,
        seed: int,
        dist: DistContext,
        pin_memory: bool,
        tokenizer: BPETokenizer | None = None,
    ) -> TrainingData:
        """Open the shards; ``tokenizer`` (a resumed run's) must be the one that made them."""
        directory = Path(directory)
        batch = micro_batch_size(config, dist.world_size)

        def open_loader(split: str, seed_offset: int) -> TokenLoader:
            return TokenLoader(
                directory,
                batch,
                context_length,
                split=split,
                seed=seed + seed_offset,
                sampling=config.sampling,
                rank=dist.rank,
                world_size=dist.world_size,
                pin_memory=pin_memory,
            )

        # Different seeds: the estimates must not replay the training batches.
        loaders = {
            "train": open_loader("train", 0),
            "eval_train": open_loader("train", 1),
            "eval_val": open_loader("val", 2),
        }
        tokenizer_path = Path(loaders["train"].tokenizer_path)
        if tokenizer is None:
            tokenizer = BPETokenizer.load(tokenizer_path)
        manifest = loaders["train"].manifest
        check_shards_match_tokenizer(manifest, tokenizer, directory)
        check_vocab_fits(vocab_size, tokenizer, tokenizer_path)
        for loader in loaders.values():
            _probe(loader)
        return cls(directory, tokenizer, tokenizer_path, manifest, loaders)

    def batches(self) -> dict[str, Iterator[Batch]]:
        """Endless iterators over each stream (create after any ``load_state_dict``)."""
        return {name: iter(loader) for name, loader in self.loaders.items()}

    def held_out_windows(self, batch_size: int) -> Iterator[Batch]:
        return self.loaders["eval_val"].iter_eval(batch_size)

    @property
    def held_out_text_bytes(self) -> int | None:
        return self.manifest.split("val").text_bytes

    @property
    def held_out_tokens(self) -> int:
        return self.manifest.split("val").tokens

    def state_dict(self) -> dict[str, Any]:
        return {name: loader.state_dict() for name, loader in self.loaders.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, loader in self.loaders.items():
            loader.load_state_dict(state[name])


def _probe(loader: TokenLoader) -> None:
    """Draw one batch and rewind: a context longer than every document fails here, before
    the run directory exists, not at the first training step."""
    state = loader.state_dict()
    next(loader)
    loader.load_state_dict(state)
