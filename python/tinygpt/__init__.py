"""tinygpt: BPE tokenizers and small GPT story models with a compiled core.

The public names are imported lazily so that ``import tinygpt`` stays cheap for
tokenizer-only users (no torch import until a model is touched).
"""

from __future__ import annotations

from tinygpt._lazy import lazy_exports

__all__ = ["BPETokenizer", "GPTConfig", "GPT", "load_run"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BPETokenizer": "tinygpt.tokenizer",
        "GPTConfig": "tinygpt.model.config",
        "GPT": "tinygpt.model.gpt",
        "load_run": "tinygpt.run.load",
    },
)
