"""BPE tokenizers (bytes and gpt-rs words modes) over the compiled core ``tinygpt._bpe``."""

from tinygpt.tokenizer.bpe import BPETokenizer
from tinygpt.tokenizer.gpt2_files import read_gpt2_vocab_merges
from tinygpt.tokenizer.patterns import GPT2_PATTERN, GPT4_PATTERN

__all__ = ["BPETokenizer", "GPT2_PATTERN", "GPT4_PATTERN", "read_gpt2_vocab_merges"]
