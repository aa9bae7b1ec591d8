"""gpt-rs's config files: the fields its ``transformer_config.ron`` and ``train_config.ron`` hold.

tinygpt reads both files as they are and writes them so that gpt-rs reads them back; our own
options are the other fields of ``GPTConfig`` and ``TrainConfig``.
"""

from __future__ import annotations

# gpt-rs's transformer_config.ron has exactly these fields; the others are our options.
TRANSFORMER_CONFIG_FIELDS = (
    "vocab_size",
    "embedding_size",
    "context_length",
    "head_count",
    "block_count",
    "feed_forward_multiplier",
    "embedding_dropout",
    "attention_dropout",
    "feed_forward_dropout",
    "residual_dropout",
)

# The fields every gpt-rs train_config.ron has; a file missing one is probably a typo.
TRAIN_CONFIG_FIELDS = frozenset(
    {"training_iterations", "evaluation_interval", "evaluation_iterations", "contexts_per_batch"}
)
