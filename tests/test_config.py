"""Typed config views: model specs and how probe work is partitioned into jobs."""

from __future__ import annotations

import pytest

from sparseprobe.config import ConfigError, ModelSpec, probe_layer_groups, selected_models


def spec(n_layers, d_mlp, layers=None):
    return ModelSpec(name="m", family="f", source_kind="hub", source="x", n_layers=n_layers,
                     d_mlp=d_mlp, layers=layers)


def test_probe_jobs_group_layers_by_neurons_and_cover_each_layer_once():
    assert probe_layer_groups(spec(4, 512), 8192) == {"0-3": [0, 1, 2, 3]}
    assert probe_layer_groups(spec(6, 2048), 8192) == {"0-3": [0, 1, 2, 3], "4-5": [4, 5]}
    big = probe_layer_groups(spec(32, 16384), 8192)
    assert list(big) == [f"{i}-{i}" for i in range(32)]
    subset = probe_layer_groups(spec(12, 3072, layers=(1, 5, 7, 11)), 8192)
    assert subset == {"1-5": [1, 5], "7-11": [7, 11]}
    assert probe_layer_groups(spec(3, 100), 1) == {"0-0": [0], "1-1": [1], "2-2": [2]}


def test_unknown_models_are_named():
    config = {"models": ["nope"], "ladder": {"rungs": {"a": {"d_model": 8, "n_layers": 1,
                                                             "n_heads": 2}}}}
    with pytest.raises(ConfigError, match=r"\['nope'\] not declared"):
        selected_models(config)


def ladder_config(**ladder) -> dict:
    rungs = {"a": {"d_model": 8, "n_layers": 1, "n_heads": 2},
             "b": {"d_model": 16, "n_layers": 2, "n_heads": 2}}
    return {"models": ["a", "b"], "ladder": {"family": "lad", "training": {"seed": 3},
                                             "rungs": rungs, **ladder}}


def test_ladder_seeds_add_a_replicate_per_rung_and_seed():
    from sparseprobe.config import ladder_training_job

    config = ladder_config(seeds=[3, 7])
    models = selected_models(config)
    assert list(models) == ["a", "a-seed7", "b", "b-seed7"]
    replicate = models["b-seed7"]
    assert (replicate.family, replicate.source, replicate.n_layers, replicate.d_mlp) == (
        "lad-seed7", "results/ladder/models/b-seed7", 2, 64)
    assert models["b"].family == "lad"
    shape, training = ladder_training_job(config["ladder"], "b-seed7")
    assert shape == {"name": "b-seed7", "d_model": 16, "n_layers": 2, "n_heads": 2}
    assert training["seed"] == 7 and ladder_training_job(config["ladder"], "b")[1]["seed"] == 3
    # one replicate alone, by its key; without seeds, no replicates
    assert list(selected_models({**config, "models": ["a-seed7"]})) == ["a-seed7"]
    assert list(selected_models(ladder_config())) == ["a", "b"]


def test_ladder_seeds_must_start_with_the_training_seed():
    with pytest.raises(ConfigError, match=r"ladder.seeds: the first seed \(7\) must be ladder"
                                          r".training.seed \(3\)"):
        selected_models(ladder_config(seeds=[7, 3]))
    clash = ladder_config(seeds=[3, 1])
    clash["ladder"]["rungs"]["a-seed1"] = {"d_model": 8, "n_layers": 1, "n_heads": 2}
    with pytest.raises(ConfigError, match=r"ladder.rungs.a-seed1: the name is rung a's replicate"):
        selected_models(clash)


def test_ladder_checkpoints_make_a_training_axis_ending_at_the_model_itself():
    from sparseprobe.config import ladder_training_job, size_axis, training_axis

    config = ladder_config(checkpoints=[0.25, 0.5], seeds=[3, 7])
    config["ladder"]["training"].update(tokens=4096, batch_size=2, context_length=64)  # 32 steps
    models = selected_models({**config, "models": ["b"]})
    assert list(models) == ["b@step8", "b@step16", "b", "b-seed7@step8", "b-seed7@step16",
                            "b-seed7"]
    assert models["b@step8"].source == "results/ladder/models/b/checkpoints/step8"
    assert (models["b"].base, models["b"].checkpoint, models["b"].step) == ("b", "step32", 32)
    assert list(size_axis(models)) == ["b", "b-seed7"]  # the models themselves, not checkpoints
    assert training_axis(models) == {"lad": ["b@step8", "b@step16", "b"],
                                     "lad-seed7": ["b-seed7@step8", "b-seed7@step16", "b-seed7"]}
    assert ladder_training_job(config["ladder"], "b-seed7")[1]["checkpoint_steps"] == [8, 16]
    assert "checkpoint_steps" not in ladder_training_job(ladder_config()["ladder"], "b")[1]
    bare = ladder_config(checkpoints=[0.5])
    with pytest.raises(ConfigError, match=r"ladder.training needs \['tokens', 'batch_size', "
                                          r"'context_length'\]"):
        selected_models(bare)


def test_bases_add_a_residual_stream_variant_of_every_model():
    config = ladder_config(checkpoints=[0.5])
    config["ladder"]["training"].update(tokens=4096, batch_size=2, context_length=64)
    config["bases"] = ["mlp", "resid"]
    models = selected_models({**config, "models": ["b"]})
    assert list(models) == ["b@step16", "b-resid@step16", "b", "b-resid"]
    resid = models["b-resid"]
    # the same weights, read at the residual stream: the rung's d_model columns
    assert (resid.source, resid.basis, resid.d_mlp, resid.family) == (
        "results/ladder/models/b", "resid", 16, "lad-resid")
    assert (models["b-resid@step16"].base, models["b-resid@step16"].checkpoint) == (
        "b-resid", "step16")
    assert models["b"].basis is None and "basis" not in models["b"].to_dict()
    with pytest.raises(ConfigError, match=r"bases: \['resid'\]: list 'mlp'"):
        selected_models({**config, "bases": ["resid"]})


def test_a_package_models_residual_variant_takes_the_declared_width():
    from sparseprobe.config import package_models

    config = {"models": ["enc"], "bases": ["mlp", "resid"],
              "sources": {"pkg": {"package": "p", "version": "1", "sha256": "0" * 64}},
              "model_catalog": {"enc": {"family": "e", "package": "pkg", "package_dir": "m",
                                        "n_layers": 6, "d_mlp": 1536, "d_model": 384}}}
    models = selected_models(config)
    assert (models["enc-resid"].d_mlp, models["enc-resid"].source) == (384, models["enc"].source)
    assert list(package_models(config, models)) == ["enc"]  # unpacked once, for both bases
