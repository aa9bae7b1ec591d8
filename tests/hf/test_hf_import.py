"""Import: transformers GPT-2 and GPT-NeoX directories run in tinygpt with transformers' own logits."""

from __future__ import annotations

import json

import pytest
import torch

from tests.hf.hf_models import ENDOFTEXT, STORIES, save_transformers_model
from tinygpt import load_run
from tinygpt.errors import DataError
from tinygpt.tokenizer import BPETokenizer

pytest.importorskip("transformers", reason="transformers (dev extra) is the oracle")

SHAPES = [
    pytest.param({"activation_function": "gelu_new", "tie_word_embeddings": True}, id="gelu_new-tied"),
    pytest.param({"activation_function": "relu", "tie_word_embeddings": False}, id="relu-untied"),
    pytest.param(
        {
            "activation_function": "gelu",
            "n_layer": 3,
            "n_embd": 48,
            "n_head": 6,
            "n_inner": 80,
            "layer_norm_epsilon": 1e-3,
        },
        id="gelu-n_inner-eps",
    ),
    pytest.param(
        {"activation_function": "gelu_pytorch_tanh", "n_layer": 1, "n_embd": 16, "n_head": 1, "n_inner": 64},
        id="gelu_pytorch_tanh-one-head",
    ),
    pytest.param({"model_type": "gpt_neox"}, id="neox-gelu-untied"),
    pytest.param(
        {
            "model_type": "gpt_neox",
            "hidden_act": "gelu_new",
            "tie_word_embeddings": True,
            "num_attention_heads": 2,
            "intermediate_size": 80,
            "layer_norm_eps": 1e-3,
        },
        id="neox-gelu_new-tied-intermediate-eps",
    ),
    pytest.param(
        {"model_type": "gpt_neox", "hidden_act": "relu", "rotary_emb_base": 10_000, "num_attention_heads": 8},
        id="neox-relu-base-stated-8-heads",
    ),
]


@pytest.mark.parametrize("fields", SHAPES)
def test_logits_and_greedy_continuation_match_transformers(tmp_path, hf_tokenizer, fields):
    """Same logits within 1e-4 on every position, and the same greedy tokens (KV cache on both)."""
    reference = save_transformers_model(tmp_path, tokenizer=hf_tokenizer, **fields)
    model, tokenizer = load_run(tmp_path, device="cpu")
    ids = torch.tensor([tokenizer.encode(STORIES[1])[:40]])
    with torch.no_grad():
        expected = reference(ids).logits
    assert torch.allclose(model(ids), expected, atol=1e-4, rtol=0)
    prompt = ids[:, :5]
    theirs = reference.generate(
        prompt, max_new_tokens=30, do_sample=False, min_new_tokens=30, pad_token_id=tokenizer.eot_id
    )
    assert model.generate(prompt, 30, greedy=True).tolist() == theirs.tolist()


def test_tokenizer_json_gives_the_tokenizers_library_ids(tmp_path, hf_tokenizer):
    save_transformers_model(tmp_path, tokenizer=hf_tokenizer)
    _, tokenizer = load_run(tmp_path, device="cpu")
    texts = STORIES[:3] + [f"two{ENDOFTEXT}stories", "  spaces\n\n and 123 numbers!"]
    assert tokenizer.encode_batch(texts, allowed_special="all") == [e.ids for e in hf_tokenizer.encode_batch(texts)]
    assert tokenizer.eot_id == hf_tokenizer.token_to_id(ENDOFTEXT)


def test_vocab_and_merges_files_work_without_tokenizer_json(tmp_path, hf_tokenizer):
    """Older GPT-2 directories carry vocab.json + merges.txt only."""
    save_transformers_model(tmp_path, tokenizer=hf_tokenizer)
    (tmp_path / "tokenizer.json").unlink()
    hf_tokenizer.model.save(str(tmp_path))
    vocab = json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    assert ENDOFTEXT not in vocab  # the library keeps added tokens out of vocab.json
    vocab[ENDOFTEXT] = hf_tokenizer.token_to_id(ENDOFTEXT)
    (tmp_path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    _, tokenizer = load_run(tmp_path, device="cpu")
    assert tokenizer.encode(STORIES[0]) == hf_tokenizer.encode(STORIES[0]).ids
    assert tokenizer.eot_id == vocab[ENDOFTEXT]


def test_prompt_longer_than_n_positions_slides(tmp_path, hf_tokenizer):
    """Past n_positions the window slides as for runs: each step sees the last n_positions tokens."""
    reference = save_transformers_model(tmp_path, tokenizer=hf_tokenizer, n_positions=16)
    model, tokenizer = load_run(tmp_path, device="cpu")
    ids = torch.tensor([tokenizer.encode(" ".join(STORIES[:2]))[:30]])
    out = model.generate(ids, 5, greedy=True)
    window = ids
    for step in range(5):
        with torch.no_grad():
            chosen = reference(window[:, -16:]).logits[:, -1].argmax(-1)
        assert int(chosen) == int(out[0, 30 + step])
        window = torch.cat([window, chosen[:, None]], dim=1)


def test_sharded_weights_load(tmp_path, hf_tokenizer):
    from transformers import GPT2LMHeadModel

    reference = save_transformers_model(tmp_path / "one", tokenizer=hf_tokenizer)
    GPT2LMHeadModel.from_pretrained(tmp_path / "one").save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    hf_tokenizer.save(str(tmp_path / "sharded" / "tokenizer.json"))
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    model, _ = load_run(tmp_path / "sharded", device="cpu")
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        assert torch.allclose(model(ids), reference(ids).logits, atol=1e-4, rtol=0)


def test_from_hf_json_reads_what_the_library_saved(tmp_path, hf_tokenizer):
    hf_tokenizer.save(str(tmp_path / "tokenizer.json"))
    tokenizer = BPETokenizer.from_hf_json(tmp_path / "tokenizer.json")
    assert tokenizer.vocab_size == hf_tokenizer.get_vocab_size()
    assert tokenizer.decode(tokenizer.encode(STORIES[1])) == STORIES[1]


def test_neox_buffers_are_dropped_and_unknown_tensors_named(tmp_path, hf_tokenizer):
    """Older GPT-NeoX files carry masks and rotary frequencies beside the weights, and may name the
    head lm_head (transformers 5's name); those load. A tensor tinygpt has no place for is named."""
    from safetensors.torch import load_file, save_file

    reference = save_transformers_model(tmp_path, tokenizer=hf_tokenizer, model_type="gpt_neox")
    tensors = load_file(str(tmp_path / "model.safetensors"))
    tensors["lm_head.weight"] = tensors.pop("embed_out.weight")
    tensors["gpt_neox.rotary_emb.inv_freq"] = torch.ones(4)
    for part in ("attention.bias", "attention.masked_bias", "attention.rotary_emb.inv_freq"):
        tensors[f"gpt_neox.layers.0.{part}"] = torch.ones(2)
    save_file(tensors, str(tmp_path / "model.safetensors"))
    model, _ = load_run(tmp_path, device="cpu")
    ids = torch.tensor([[1, 2, 3, 4, 5, 6]])
    with torch.no_grad():
        assert torch.allclose(model(ids), reference(ids).logits, atol=1e-4, rtol=0)
    tensors["gpt_neox.layers.1.attention.rotary_scale"] = torch.ones(2)
    save_file(tensors, str(tmp_path / "model.safetensors"))
    with pytest.raises(DataError, match="unexpected tensors: gpt_neox.layers.1.attention.rotary_scale"):
        load_run(tmp_path, device="cpu")
