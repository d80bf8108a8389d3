"""Bad input stopped at DAG time: model preflight, empty tables, non-finite activations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from sparseprobe.activations.store import check_finite
from sparseprobe.config import ConfigError, selected_models
from sparseprobe.datasets.table import read_table
from sparseprobe.errors import ActivationStoreError, DatasetError, ModelLoadError
from sparseprobe.workflow.preflight import preflight_models, shape_from_config


def config_with(entry: dict) -> dict:
    return {"model_catalog": {"mine": {"family": "f", **entry}}, "models": ["mine"]}


def neox_dir(root: Path, layers: int = 3, mlp: int = 64) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text(json.dumps({
        "model_type": "gpt_neox", "num_hidden_layers": layers, "intermediate_size": mlp,
        "hidden_size": 16}))
    return root


def test_local_shape_is_read_from_config_json(tmp_path: Path):
    specs = preflight_models(selected_models(config_with({"local": str(neox_dir(tmp_path))})))
    assert (specs["mine"].n_layers, specs["mine"].d_mlp) == (3, 64)
    assert specs["mine"].probed_layers == [0, 1, 2]


@pytest.mark.parametrize("data, shape", [
    ({"num_hidden_layers": 12, "intermediate_size": 3072}, (12, 3072)),  # BERT, GPT-NeoX
    ({"n_layer": 12, "n_inner": None, "n_embd": 768}, (12, 3072)),  # GPT-2
    ({"num_hidden_layers": 2, "ffn_dim": 32}, (2, 32)),  # OPT
])
def test_shape_keys_of_common_architectures(data: dict, shape: tuple):
    assert shape_from_config(data, "x") == shape


def test_a_config_without_a_shape_names_the_keys():
    with pytest.raises(ModelLoadError, match="d_mlp.*intermediate_size"):
        shape_from_config({"num_hidden_layers": 2}, "m/config.json")


def test_missing_local_directory_and_declared_shape_mismatch(tmp_path: Path):
    with pytest.raises(ModelLoadError, match="'mine'.*'nowhere' does not exist"):
        preflight_models(selected_models(config_with({"local": "nowhere"})))
    with pytest.raises(ModelLoadError, match=r"model_catalog.mine.d_mlp: declared 128.*says 64"):
        preflight_models(selected_models(config_with(
            {"local": str(neox_dir(tmp_path)), "n_layers": 3, "d_mlp": 128})))
    with pytest.raises(ModelLoadError, match=r"mine.layers: 5 >= n_layers 3"):
        preflight_models(selected_models(config_with(
            {"local": str(neox_dir(tmp_path)), "layers": [5]})))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="has no config.json"):
        preflight_models(selected_models(config_with({"local": str(tmp_path / "empty")})))


def test_uncached_hub_id_offline_fails_at_once_with_the_fix(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelLoadError, match="not in the local hub cache.*HF_HUB_OFFLINE.*local: DIR"):
        preflight_models(selected_models(config_with({"hub": "someone/not-cached-model"})))


def test_ladder_rungs_and_layer_checks_without_n_layers_are_left_to_preflight():
    config = {"ladder": {"rungs": {"r": {"d_model": 8, "n_layers": 2, "n_heads": 2}}},
              "models": ["r"]}
    assert preflight_models(selected_models(config))["r"].d_mlp == 32
    with pytest.raises(ConfigError, match="n_layers is unknown"):
        selected_models(config_with({"local": "x"}))["mine"].probed_layers


def test_empty_csv_names_the_file(tmp_path: Path):
    path = tmp_path / "mine.csv"
    path.write_text("")
    with pytest.raises(DatasetError, match=r"mine.csv: the file is empty"):
        read_table(path)


def test_non_finite_activations_name_the_array(tmp_path: Path):
    values = np.ones((4, 3), dtype=np.float32)
    assert check_finite(values, "a") is values
    values[2, 1] = np.inf
    values[3, 0] = np.nan
    with pytest.raises(ActivationStoreError,
                       match=r"layer_0.zarr: 1 NaN and 1 infinite.*row 2, column 1"):
        check_finite(values, tmp_path / "layer_0.zarr")


def test_a_dry_run_plans_an_unreachable_hub_model_from_its_declared_shape(monkeypatch,
                                                                          tmp_path: Path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    config = config_with({"hub": "someone/not-cached", "n_layers": 4, "d_mlp": 32})
    assert preflight_models(selected_models(config), plan_only=True)["mine"].n_layers == 4
    with pytest.raises(ModelLoadError, match="not in the local hub cache"):
        preflight_models(selected_models(config))
    with pytest.raises(ModelLoadError, match="not in the local hub cache"):
        preflight_models(selected_models(config_with({"hub": "someone/x"})), plan_only=True)


def test_own_config_stands_alone_and_plans_only_its_dataset_and_model(tmp_path: Path):
    """docs/reliability.md's smallest bring-your-own config, with --replace-workflow-config:
    none of config/config.yaml's datasets or ladder rungs is planned."""
    import os
    import subprocess
    import sys

    import yaml

    from dag_counts import job_counts

    root = Path(__file__).resolve().parent.parent
    table = tmp_path / "mine.csv"
    table.write_text("text,is_question\n" + "".join(f"row {i},{i % 2}\n" for i in range(40)))
    own = tmp_path / "mine.yaml"
    own.write_text(yaml.safe_dump({
        "datasets": {"mine": {"builder": "table", "path": str(table), "text_column": "text",
                              "label_columns": ["is_question"], "aggregation": "mean"}},
        "model_catalog": {"mymodel": {"family": "mine", "local": str(neox_dir(tmp_path / "m"))}},
        "models": ["mymodel"]}))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--forceall",
         "--configfile", str(own), "--replace-workflow-config"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["build_dataset"] == 1 and counts["extract_activations"] == 1
    assert "ladder_train" not in counts and "fetch_source" not in counts


def test_dry_run_is_read_from_the_command_line():
    from sparseprobe.workflow.preflight import dry_run_requested

    assert dry_run_requested(["snakemake", "-n", "--cores", "2"])
    assert dry_run_requested(["snakemake", "-np"])
    assert dry_run_requested(["snakemake", "--dry-run"])
    assert not dry_run_requested(["snakemake", "--cores", "2", "--configfile", "n.yaml"])
    assert not dry_run_requested(["snakemake", "--notemp"])
