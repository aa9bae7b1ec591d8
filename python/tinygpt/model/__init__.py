"""The GPT: its config, the network, the KV cache and the token-by-token decoding loop.

``GPTConfig`` is torch-free and imported eagerly; the rest is imported on first use, so that
the CLI can read and validate configs without paying for torch (seconds) at start-up.
"""

from __future__ import annotations

from tinygpt._lazy import lazy_exports
from tinygpt.model.config import GPTConfig

__all__ = ["GPT", "GPTConfig", "KVCache", "TokenSampler"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "GPT": "tinygpt.model.gpt",
        "KVCache": "tinygpt.model.kv_cache",
        "TokenSampler": "tinygpt.model.decoding",
    },
)
