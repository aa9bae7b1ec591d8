"""tinygpt.model: gpt-rs's architecture, computed the fast way, and its checkpoints both ways."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file

from tests.generate.generation_run import one_cpu_thread  # noqa: F401 (autouse)
from tests.reference.gptrs_files import TRANSFORMER_CONFIG
from tests.reference.gptrs_model import GptRsModel, randomize
from tinygpt.errors import ConfigError, DataError
from tinygpt.model import GPT, GPTConfig, KVCache

SMALL = GPTConfig(vocab_size=50, embedding_size=24, context_length=16, head_count=3, block_count=2)

# DESIGN.md §1's list of gpt-rs safetensors names, expanded for a config.
GPTRS_NAMES = (
    "transformer.token_embedding.weight",
    "transformer.position_embedding.weight",
    "transformer.blocks.{i}.layer_norm_1.{weight,bias}",
    "transformer.blocks.{i}.multi_attention_head.heads.{h}.{query,key,value}.{weight,bias}",
    "transformer.blocks.{i}.multi_attention_head.projection.{weight,bias}",
    "transformer.blocks.{i}.layer_norm_2.{weight,bias}",
    "transformer.blocks.{i}.feed_forward.{input,output}.{weight,bias}",
    "transformer.layer_norm.{weight,bias}",
    "transformer.linear_head.weight",
)


def expand_gptrs_names(config: GPTConfig) -> set[str]:
    import itertools
    import re

    names = set()
    for pattern in GPTRS_NAMES:
        pattern = pattern.replace("{i}", "{block}").replace("{h}", "{head}")
        alternatives = re.findall(r"\{([a-z_,]+)\}", pattern)
        choices = []
        for alternative in alternatives:
            if alternative == "block":
                choices.append([str(i) for i in range(config.block_count)])
            elif alternative == "head":
                choices.append([str(h) for h in range(config.head_count)])
            else:
                choices.append(alternative.split(","))
        template = re.sub(r"\{[a-z_,]+\}", "{}", pattern)
        names.update(template.format(*combo) for combo in itertools.product(*choices))
    return names


def reference_and_ours(config: GPTConfig, seed: int = 0) -> tuple[GptRsModel, GPT]:
    reference = GptRsModel(config).double()
    randomize(reference, seed)
    ours = GPT(config).double()
    ours.load_state_dict_checked(_ours_from(reference, config), source="reference model")
    return reference.eval(), ours.eval()


def _ours_from(reference: GptRsModel, config: GPTConfig) -> dict[str, torch.Tensor]:
    from tinygpt.gptrs.checkpoint import from_gptrs_names

    return from_gptrs_names(dict(reference.state_dict()), config.head_count, "reference")


def test_reference_names_are_designs_gptrs_names():
    """The test fixture really has gpt-rs's checkpoint layout (DESIGN §1), nothing more or less."""
    assert set(GptRsModel(SMALL).state_dict()) == expand_gptrs_names(SMALL)


@pytest.mark.parametrize(
    "config",
    [
        SMALL,
        GPTConfig(
            vocab_size=40, embedding_size=32, context_length=12, head_count=4, block_count=3, feed_forward_multiplier=2
        ),
    ],
)
def test_fused_model_computes_the_per_head_reference_function(config):
    """Fused q/k/v + SDPA == one module per head, given the same weights."""
    reference, ours = reference_and_ours(config)
    idx = torch.randint(0, config.vocab_size, (3, config.context_length))
    torch.testing.assert_close(ours(idx), reference(idx), rtol=1e-10, atol=1e-10)
    short = idx[:, :5]
    torch.testing.assert_close(ours(short), reference(short), rtol=1e-10, atol=1e-10)


def test_training_gradients_match_the_reference():
    """The training path (causal SDPA, dropout modules in train mode) differentiates like the reference."""
    config = GPTConfig(
        **{
            **SMALL.to_dict(),
            **{f: 0.0 for f in ("embedding_dropout", "attention_dropout", "feed_forward_dropout", "residual_dropout")},
        }
    )
    reference, ours = reference_and_ours(config)
    reference.train()
    ours.train()
    idx = torch.randint(0, config.vocab_size, (2, config.context_length))
    reference(idx).square().mean().backward()
    ours(idx).square().mean().backward()
    ours_grad = ours.blocks[1].attention.qkv.weight.grad
    heads = reference.transformer.blocks[1].multi_attention_head.heads
    expected = torch.cat([getattr(h, role).weight.grad for role in ("query", "key", "value") for h in heads])
    torch.testing.assert_close(ours_grad, expected)
    torch.testing.assert_close(ours.token_embedding.weight.grad, reference.transformer.token_embedding.weight.grad)


def test_dropout_is_active_in_training_and_off_in_eval():
    """Dropout perturbs training forwards only (the four per-block dropouts + embedding)."""
    model = GPT(
        GPTConfig(
            vocab_size=30,
            embedding_size=16,
            context_length=8,
            head_count=2,
            block_count=1,
            embedding_dropout=0.3,
            attention_dropout=0.3,
            feed_forward_dropout=0.3,
            residual_dropout=0.3,
        )
    )
    idx = torch.randint(0, 30, (2, 8))
    model.train()
    assert not torch.equal(model(idx), model(idx))
    model.eval()
    assert torch.equal(model(idx), model(idx))


def test_default_config_has_gptrs_parameter_count():
    """gpt-rs's transformer_config.ron is the ≈2.1 M-parameter model."""
    assert GPT(GPTConfig()).num_parameters() == 2_118_912


def test_initialisation_is_normal_002_with_zero_biases():
    model = GPT(GPTConfig())
    linear_weights = torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, nn.Linear)])
    assert abs(linear_weights.std().item() - 0.02) < 0.001
    assert all(not m.bias.any() for m in model.modules() if isinstance(m, nn.Linear) and m.bias is not None)


def test_optimizer_groups_decay_linear_weights_only():
    """Weight decay goes to every nn.Linear weight, nothing else, and every parameter is in one group."""
    model = GPT(SMALL)
    decay, no_decay = model.optimizer_groups(0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    linear_weights = {id(m.weight) for m in model.modules() if isinstance(m, nn.Linear)}
    assert {id(p) for p in decay["params"]} == linear_weights
    assert len(decay["params"]) == SMALL.block_count * 4 + 1
    everything = [id(p) for p in model.parameters()]
    assert sorted(id(p) for p in decay["params"] + no_decay["params"]) == sorted(everything)
    torch.optim.AdamW(model.optimizer_groups(0.1), lr=1e-3)


def test_tied_weights_share_the_head_and_are_not_decayed():
    model = GPT(GPTConfig(**{**SMALL.to_dict(), "tie_weights": True}))
    assert model.linear_head.weight is model.token_embedding.weight
    assert model.num_parameters() == GPT(SMALL).num_parameters() - SMALL.vocab_size * SMALL.embedding_size
    decay, _ = model.optimizer_groups(0.1)
    assert all(p is not model.token_embedding.weight for p in decay["params"])


def test_options_change_the_model():
    """GELU and bias-free linears are real options (off by default)."""
    no_bias = GPT(GPTConfig(**{**SMALL.to_dict(), "bias": False}))
    assert all(m.bias is None for m in no_bias.modules() if isinstance(m, nn.Linear))
    gelu = GPT(GPTConfig(**{**SMALL.to_dict(), "activation": "gelu"}))
    assert isinstance(gelu.blocks[0].feed_forward.activation, nn.GELU)
    assert isinstance(GPT(SMALL).blocks[0].feed_forward.activation, nn.ReLU)


@pytest.mark.parametrize("positions", ["learned", "rotary"])
def test_kv_cache_continuation_equals_full_forward(positions):
    """Feeding a prefix, then one token, then a chunk through the cache == one full forward;
    ``last_only`` gives the last position's logits of that forward."""
    model = GPT(GPTConfig(**{**SMALL.to_dict(), "positions": positions})).double().eval()
    randomize(model)
    idx = torch.randint(0, SMALL.vocab_size, (2, 12))
    full = model(idx)
    cache = KVCache(SMALL, 2, device=torch.device("cpu"), dtype=torch.float64)
    pieces = [model(idx[:, :5], cache=cache), model(idx[:, 5:6], cache=cache), model(idx[:, 6:], cache=cache)]
    torch.testing.assert_close(torch.cat(pieces, dim=1), full)
    assert cache.length == 12
    cache.reset()
    model(idx[:, :4], cache=cache)
    torch.testing.assert_close(model(idx[:, 4:], cache=cache, last_only=True), full[:, -1:])
    torch.testing.assert_close(model(idx, last_only=True), full[:, -1:])
    with pytest.raises(ValueError, match="exceed context_length"):
        model(idx, cache=cache)


def test_gptrs_checkpoint_loads_and_computes_the_same(tmp_path):
    """A gpt-rs safetensors file loads via GPT.from_gptrs and gives gpt-rs's logits."""
    reference = GptRsModel(SMALL)
    randomize(reference, seed=3)
    path = tmp_path / "trained_transformer.safetensors"
    save_file(dict(reference.state_dict()), path)
    model = GPT.from_gptrs(path, SMALL).eval()
    idx = torch.randint(0, SMALL.vocab_size, (2, 10))
    torch.testing.assert_close(model(idx), reference.eval()(idx), rtol=1e-5, atol=1e-5)


def test_gptrs_export_round_trips_exactly(tmp_path):
    """gptrs_state_dict() / save_gptrs() give gpt-rs's names and the original tensors back."""
    reference = GptRsModel(SMALL)
    randomize(reference, seed=4)
    save_file(dict(reference.state_dict()), tmp_path / "in.safetensors")
    model = GPT.from_gptrs(tmp_path / "in.safetensors", SMALL)
    model.save_gptrs(tmp_path / "out.safetensors")
    exported = load_file(tmp_path / "out.safetensors")
    assert set(exported) == expand_gptrs_names(SMALL)
    for name, tensor in reference.state_dict().items():
        assert torch.equal(exported[name], tensor), name


def test_bias_free_model_exports_zero_biases_that_compute_the_same(tmp_path):
    config = GPTConfig(**{**SMALL.to_dict(), "bias": False})
    model = GPT(config).eval()
    model.save_gptrs(tmp_path / "out.safetensors")
    reference = GptRsModel(config)
    reference.load_state_dict(load_file(tmp_path / "out.safetensors"))
    idx = torch.randint(0, SMALL.vocab_size, (1, 9))
    torch.testing.assert_close(model(idx), reference.eval()(idx))


def test_rotary_model_has_no_position_table_and_refuses_gptrs_files(tmp_path):
    rotary = GPTConfig(**{**SMALL.to_dict(), "positions": "rotary"})
    model = GPT(rotary)
    assert model.position_embedding is None
    assert not [name for name in model.state_dict() if "position" in name or "rotary" in name]
    assert model.num_parameters() == GPT(SMALL).num_parameters() - SMALL.context_length * SMALL.embedding_size
    with pytest.raises(ConfigError, match="learned positions"):
        model.gptrs_state_dict()
    save_file(dict(GptRsModel(SMALL).state_dict()), tmp_path / "in.safetensors")
    with pytest.raises(ConfigError, match="learned position table"):
        GPT.from_gptrs(tmp_path / "in.safetensors", rotary)


def test_rotary_attention_depends_on_the_distance_between_positions_only():
    """A query-key product is the same wherever the pair sits, and rotation keeps lengths."""
    from tinygpt.model.rotary import RotaryPositions

    rotary = RotaryPositions(SMALL).double()
    q, k = torch.randn(2, 1, 3, 1, SMALL.head_size, dtype=torch.float64)
    scores = [(rotary(q, start + 3) * rotary(k, start)).sum() for start in range(SMALL.context_length - 3)]
    torch.testing.assert_close(torch.stack(scores), scores[0].expand(len(scores)))
    torch.testing.assert_close(rotary(q, 5).norm(), q.norm())
    assert not torch.allclose((rotary(q, 4) * rotary(k, 0)).sum(), scores[0])  # another distance


def test_zero_output_projections_start_every_block_as_the_identity():
    model = GPT(GPTConfig(**{**SMALL.to_dict(), "positions": "rotary"})).eval()
    model.zero_output_projections()
    for block in model.blocks:
        assert not block.attention.projection.weight.any() and not block.feed_forward.output.weight.any()
    idx = torch.randint(0, SMALL.vocab_size, (2, 7))
    with torch.no_grad():
        # Biases start at zero too, so each block adds nothing: logits are the head of the embeddings.
        expected = model.linear_head(model.layer_norm(model.token_embedding(idx)))
        torch.testing.assert_close(model(idx), expected)


def test_gelu_model_refuses_gptrs_export():
    with pytest.raises(ConfigError, match="ReLU"):
        GPT(GPTConfig(**{**SMALL.to_dict(), "activation": "gelu"})).gptrs_state_dict()


def test_gptrs_checkpoint_errors_name_file_and_tensors(tmp_path):
    """Missing heads, wrong shapes and unreadable files are DataErrors naming what is wrong."""
    state = dict(GptRsModel(SMALL).state_dict())
    path = tmp_path / "broken.safetensors"
    save_file({k: v for k, v in state.items() if "heads.2.key" not in k}, path)
    with pytest.raises(DataError, match=r"broken\.safetensors.*missing heads\.2\.key"):
        GPT.from_gptrs(path, SMALL)
    save_file({k: v for k, v in state.items() if k != "transformer.layer_norm.bias"}, path)
    with pytest.raises(DataError, match=r"missing tensors: layer_norm\.bias"):
        GPT.from_gptrs(path, SMALL)
    bigger = GPTConfig(**{**SMALL.to_dict(), "vocab_size": 60})
    save_file(state, path)
    with pytest.raises(DataError, match=r"wrong shapes: linear_head\.weight \(50, 24\) \(expected \(60, 24\)\)"):
        GPT.from_gptrs(path, bigger)
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match=r"junk\.safetensors"):
        GPT.from_gptrs(tmp_path / "junk.safetensors", SMALL)


def test_config_json_round_trip(tmp_path):
    config = GPTConfig(vocab_size=300, activation="gelu", tie_weights=True)
    config.save(tmp_path / "model.json")
    assert GPTConfig.load(tmp_path / "model.json") == config
    assert json.loads((tmp_path / "model.json").read_text())["activation"] == "gelu"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"vocab_size": 2048, "colour": 1}, "unknown field\\(s\\) colour"),
        ({"vocab_size": 2048}, "missing field\\(s\\) attention_dropout"),
    ],
)
def test_config_json_unknown_and_missing_fields(tmp_path, fields, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(fields))
    with pytest.raises(ConfigError, match=f"bad.json.*{message}"):
        GPTConfig.load(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"embedding_size": 130}, "multiple of head_count"),
        ({"head_count": 0}, "head_count must be a positive integer"),
        ({"residual_dropout": 1.5}, "residual_dropout must be a probability"),
        ({"activation": "tanh"}, "activation must be one of"),
        ({"bias": "yes"}, "bias must be true or false"),
        ({"positions": "sinusoidal"}, "positions must be one of"),
        ({"positions": "rotary", "embedding_size": 12, "head_count": 4}, "even head size"),
    ],
)
def test_config_validation(change, message):
    with pytest.raises(ConfigError, match=message):
        GPTConfig(**change)


def test_config_needs_ron_or_json_suffix(tmp_path):
    with pytest.raises(ConfigError, match=r"\.ron or \.json"):
        GPTConfig.load(tmp_path / "config.yaml")


def test_gptrs_transformer_config_ron_loads_as_it_is(tmp_path):
    """gpt-rs's transformer_config.ron is our default config, our options at their defaults."""
    path = tmp_path / "transformer_config.ron"
    path.write_text(TRANSFORMER_CONFIG)
    assert GPTConfig.load(path) == GPTConfig()


def test_config_ron_round_trip_stays_gptrs_readable(tmp_path):
    """Saved RON reloads equal; with default options it holds exactly gpt-rs's ten fields."""
    from tinygpt import ron

    GPTConfig().save(tmp_path / "plain.ron")
    assert set(ron.load(tmp_path / "plain.ron")) == set(ron.loads(TRANSFORMER_CONFIG))
    custom = GPTConfig(context_length=256, activation="gelu", bias=False)
    custom.save(tmp_path / "custom.ron")
    assert GPTConfig.load(tmp_path / "custom.ron") == custom


def test_config_ron_unknown_field_names_the_file(tmp_path):
    path = tmp_path / "typo.ron"
    path.write_text(TRANSFORMER_CONFIG.replace("head_count", "heads_count"))
    with pytest.raises(ConfigError, match=r"typo\.ron.*unknown field\(s\) heads_count.*missing field\(s\) head_count"):
        GPTConfig.load(path)


def test_every_configurable_activation_has_a_module():
    """GPTConfig validates names without torch; the model must build a module for each."""
    from tinygpt.model.config import ACTIVATIONS
    from tinygpt.model.gpt import ACTIVATION_MODULES

    assert set(ACTIVATION_MODULES) == set(ACTIVATIONS)
