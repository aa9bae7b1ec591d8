# cython: language_level=3
# distutils: language=c++
"""Compiled BPE core (training and encoding). Filled in by the tokenizer work."""

def core_name() -> str:
    return "tinygpt._bpe"
