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
