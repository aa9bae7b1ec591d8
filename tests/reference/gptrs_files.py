"""gpt-rs's config files exactly as ron's PrettyConfig writes them: the shapes that must load
unchanged (DESIGN §1). Shared by the RON, model-config and train-config tests."""

TRANSFORMER_CONFIG = """(
    vocab_size: 2048,
    embedding_size: 128,
    context_length: 64,
    head_count: 4,
    block_count: 8,
    feed_forward_multiplier: 4,
    embedding_dropout: 0.05,
    attention_dropout: 0.05,
    feed_forward_dropout: 0.05,
    residual_dropout: 0.05,
)
"""

TRAIN_CONFIG = """(
    learning_rate: 2e-4,
    training_iterations: 60000,
    evaluation_interval: 500,
    evaluation_iterations: 5,
    contexts_per_batch: 64,
)
"""

WARMUP_COSINE_TRAIN_CONFIG = """(
    min_learning_rate: 1e-5,
    max_learning_rate: 2e-4,
    warmup_iterations: 3000,
    training_iterations: 60000,
    evaluation_interval: 500,
    evaluation_iterations: 5,
    contexts_per_batch: 64,
)
"""
