"""The bridge to Hugging Face's formats: transformers' GPT-2 and GPT-NeoX (rotary) checkpoints run
here, runs trained here export to transformers as either, tokenizers convert to and from
``tokenizer.json``.

Files are read and written directly (safetensors, JSON); transformers is never imported.
"""
