"""Token shards: ``tokenize_corpus`` writes them, ``TokenLoader`` serves batches from them.

Names are imported lazily so that tokenizing never imports torch.
"""

from __future__ import annotations

from tinygpt._lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "TokenLoader": "tinygpt.data.loader",
        "tokenize_corpus": "tinygpt.data.tokenize.pipeline",
        "TokenizeSummary": "tinygpt.data.tokenize.summary",
        "read_manifest": "tinygpt.data.manifest",
        "write_merged_manifest": "tinygpt.data.manifest",
        "Manifest": "tinygpt.data.manifest",
        "SplitInfo": "tinygpt.data.manifest",
        "ShardInfo": "tinygpt.data.manifest",
        "write_shard": "tinygpt.data.shards",
        "read_header": "tinygpt.data.shards",
        "ShardHeader": "tinygpt.data.shards",
    },
)
