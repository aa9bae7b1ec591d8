"""Token shards: ``tokenize_corpus`` writes them, ``TokenLoader`` serves batches from them.

Names are imported lazily so that tokenizing never imports torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "TokenLoader",
    "tokenize_corpus",
    "TokenizeSummary",
    "read_manifest",
    "write_merged_manifest",
    "Manifest",
    "SplitInfo",
    "ShardInfo",
    "write_shard",
    "read_header",
    "ShardHeader",
]

_LAZY = {
    "TokenLoader": "tinygpt.data.loader",
    "tokenize_corpus": "tinygpt.data.tokenize",
    "TokenizeSummary": "tinygpt.data.tokenize",
    "read_manifest": "tinygpt.data.manifest",
    "write_merged_manifest": "tinygpt.data.manifest",
    "Manifest": "tinygpt.data.manifest",
    "SplitInfo": "tinygpt.data.manifest",
    "ShardInfo": "tinygpt.data.manifest",
    "write_shard": "tinygpt.data.shards",
    "read_header": "tinygpt.data.shards",
    "ShardHeader": "tinygpt.data.shards",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tinygpt.data' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
