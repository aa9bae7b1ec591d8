"""`tinygpt tokenize` as a library call: a corpus into llm.c token shards and a manifest.

``job`` identifies and resumes a job, ``pipeline`` reads, encodes and writes, ``writer`` cuts
shards, ``summary`` reports what was done.
"""

from __future__ import annotations

from tinygpt.data.tokenize.pipeline import DEFAULT_SHARD_TOKENS, tokenize_corpus
from tinygpt.data.tokenize.summary import TokenizeSummary

__all__ = ["DEFAULT_SHARD_TOKENS", "TokenizeSummary", "tokenize_corpus"]
