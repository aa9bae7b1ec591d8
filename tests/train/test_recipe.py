"""Budget mode's recipe rule: what `plan_recipe` picks for a budget, a device's speed and the
size of the training data (no training here; the choices are measured in benches/sweep_recipe.py)."""

from __future__ import annotations

from tinygpt.train.recipe import (
    ACCELERATOR_CONTEXTS_PER_BATCH,
    CPU_TOKENS_PER_BATCH,
    MANY_PASSES_CONTEXT,
    REGULARISED_DROPOUT,
    REPEATED_WEIGHT_DECAY,
    SHAPES,
    WEIGHT_DECAY,
    plan_recipe,
    planned_passes,
)

SAMPLE_TOKENS = 1_083_497  # the TinyStories sample's training split, BPE 2,048
GPU_FLOPS = 1e14


def _shape(recipe):
    model = recipe.model
    return (model.embedding_size, model.block_count, model.head_count, model.context_length)


def test_a_small_corpus_keeps_the_smallest_shape_however_large_the_budget():
    recipe = plan_recipe(
        3600, vocab_size=2048, device="cuda", flops_per_second=GPU_FLOPS, training_tokens=SAMPLE_TOKENS
    )
    assert _shape(recipe)[:3] == SHAPES[0][:3]  # its context is the many-passes one


def test_a_large_corpus_lets_the_shape_grow_with_the_budget():
    unknown = plan_recipe(3600, vocab_size=2048, device="cuda", flops_per_second=GPU_FLOPS)
    large = plan_recipe(
        3600, vocab_size=2048, device="cuda", flops_per_second=GPU_FLOPS, training_tokens=10_000_000_000
    )
    assert _shape(large) == _shape(unknown) != SHAPES[0]


def test_dropout_comes_only_when_the_run_reads_its_data_many_times_over():
    cpu = {"device": "cpu", "flops_per_second": 5e10}
    quickstart = plan_recipe(150, vocab_size=512, training_tokens=41_298, **cpu)  # its ~100 KB of stories
    # Ten minutes on the sample, at the speed an idle 2-core AVX512 machine's probe showed.
    sample = plan_recipe(600, vocab_size=2048, training_tokens=SAMPLE_TOKENS, device="cpu", flops_per_second=2.2e11)
    unknown = plan_recipe(150, vocab_size=512, **cpu)
    assert quickstart.model.residual_dropout == quickstart.model.embedding_dropout == REGULARISED_DROPOUT > 0
    assert sample.model.residual_dropout == unknown.model.residual_dropout == 0.0


def test_weight_decay_rises_once_the_run_reads_its_data_more_than_once():
    cpu = {"vocab_size": 2048, "device": "cpu", "flops_per_second": 5e10}
    fresh = plan_recipe(600, training_tokens=10_000_000_000, **cpu)
    unknown = plan_recipe(600, **cpu)
    repeated = plan_recipe(600, training_tokens=SAMPLE_TOKENS, **cpu)
    assert fresh.train.weight_decay == unknown.train.weight_decay == WEIGHT_DECAY
    assert repeated.train.weight_decay == REPEATED_WEIGHT_DECAY > WEIGHT_DECAY


def test_planned_passes_are_the_predicted_tokens_over_the_training_tokens():
    assert planned_passes(6e12, 1_000_000, 500_000) == 2.0
    assert planned_passes(6e12, 1_000_000, None) == 0.0


def test_the_head_is_tied_to_the_token_embedding_at_every_budget():
    assert all(
        plan_recipe(seconds, vocab_size=2048, device="cpu", flops_per_second=5e10).model.tie_weights
        for seconds in (60, 600, 36000)
    )


def _batch_tokens(recipe):
    return recipe.train.contexts_per_batch * recipe.model.context_length


def test_a_cpu_batch_holds_the_same_tokens_on_any_threads_and_an_accelerator_takes_windows():
    cpu = {"vocab_size": 2048, "device": "cpu", "flops_per_second": 5e10}
    one, two, eight = (plan_recipe(240, threads=threads, **cpu) for threads in (1, 2, 8))
    gpu = plan_recipe(240, vocab_size=2048, device="cuda", flops_per_second=GPU_FLOPS, threads=8)
    assert _batch_tokens(one) == _batch_tokens(two) == _batch_tokens(eight) == CPU_TOKENS_PER_BATCH
    assert gpu.train.contexts_per_batch == ACCELERATOR_CONTEXTS_PER_BATCH
    assert (one.threads, two.threads, gpu.threads) == (1, 2, None)


def test_a_story_fits_one_window_unless_the_run_reads_its_data_many_times_over():
    sample = plan_recipe(
        600, vocab_size=2048, training_tokens=SAMPLE_TOKENS, device="cpu", flops_per_second=2.2e11, threads=2
    )
    quickstart = plan_recipe(150, vocab_size=512, training_tokens=41_298, device="cpu", flops_per_second=5e10)
    assert sample.model.context_length == SHAPES[0][3] == 256
    assert sample.train.contexts_per_batch == CPU_TOKENS_PER_BATCH // 256
    assert quickstart.model.context_length == MANY_PASSES_CONTEXT == 64
    assert quickstart.train.contexts_per_batch == CPU_TOKENS_PER_BATCH // 64


def test_unset_threads_are_the_cores_the_load_leaves(monkeypatch):
    monkeypatch.setattr("tinygpt.train.recipe.cpu_threads", lambda: 1)
    recipe = plan_recipe(240, vocab_size=2048, device="cpu", flops_per_second=5e10)
    assert recipe.threads == 1


def test_a_flag_that_changes_the_window_keeps_the_cpu_batch_in_tokens():
    cpu = plan_recipe(600, vocab_size=2048, device="cpu", flops_per_second=5e10, threads=1)
    gpu = plan_recipe(600, vocab_size=2048, device="cuda", flops_per_second=GPU_FLOPS)
    assert cpu.contexts_per_batch_for(64) * 64 == cpu.contexts_per_batch_for(512) * 512 == CPU_TOKENS_PER_BATCH
    assert cpu.contexts_per_batch_for(4096) == 1
    assert gpu.contexts_per_batch_for(64) == gpu.contexts_per_batch_for(512) == ACCELERATOR_CONTEXTS_PER_BATCH
