"""The bridge to Hugging Face's formats: GPT-2 checkpoints of transformers run here, runs trained
here export to transformers, tokenizers convert to and from ``tokenizer.json``.

Files are read and written directly (safetensors, JSON); transformers is never imported.
"""
