import numpy as np
import polars as pl
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from sparseprobe.errors import ProbeError
from sparseprobe.probing.metrics import probe_metrics
from sparseprobe.probing.splits import FeatureData
from sparseprobe.probing.sweep import (
    ProbeSettings,
    heuristic_sweep,
    rank_mean_difference,
    scale_by_train_std,
)
from sparseprobe.probing.results import RESULT_SCHEMA, check_schema, read_results, to_frame, write_results

SETTINGS = ProbeSettings(k_grid=(1, 2, 4, 8, 16, 256))


def planted(n=600, d=128, neuron=37, shift=3.0, seed=0, shuffle=False):
    """GELU of Gaussian noise with a mean shift on one neuron for the positives."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    pre = rng.normal(size=(n, d))
    pre[y, neuron] += shift
    x = pre * 0.5 * (1 + np.tanh(0.79788456 * (pre + 0.044715 * pre**3)))
    if shuffle:
        y = rng.permutation(y)
    cut = int(0.7 * n)
    return FeatureData("planted", x[:cut], y[:cut], x[cut:], y[cut:])


def test_planted_single_neuron_is_found_at_k1():
    rows = heuristic_sweep(planted(), SETTINGS)
    k1 = next(r for r in rows if r["method"] == "mean_diff" and r["k"] == 1)
    assert k1["neurons"] == [37]
    assert k1["f1"] > 0.9
    assert all(r["converged"] for r in rows)
    ks = [r["k"] for r in rows if r["method"] == "mean_diff"]
    assert ks == [1, 2, 4, 8, 16, 128]  # 256 capped at d_mlp = 128
    dense = next(r for r in rows if r["method"] == "dense")
    assert dense["k"] == 128 and len(dense["coefficients"]) == 128


def test_label_shuffled_feature_stays_near_chance():
    rows = heuristic_sweep(planted(shuffle=True, n=1200), SETTINGS)
    for row in rows:
        assert 0.35 < row["roc_auc"] < 0.65
        assert abs(row["mcc"]) < 0.2


def test_ranking_uses_train_split_only():
    data = planted()
    poisoned = FeatureData("p", data.x_train, data.y_train, data.x_test * 0 + 5.0, data.y_test)
    a = heuristic_sweep(data, SETTINGS)
    b = heuristic_sweep(poisoned, SETTINGS)
    assert [r["neurons"] for r in a] == [r["neurons"] for r in b]


def test_scaling_is_by_train_std_without_centering():
    rng = np.random.default_rng(1)
    train, test = rng.normal(3, 2, size=(50, 4)), rng.normal(3, 2, size=(20, 4))
    train[:, 3] = 1.0  # dead neuron: divided by 1
    s_train, s_test = scale_by_train_std(train, test, 10.0)
    np.testing.assert_allclose(s_train[:, :3].std(0), 0.1)
    np.testing.assert_allclose(s_test[:, 0], test[:, 0] / (10 * train[:, 0].std()))
    assert (s_train[:, 3] == 1.0).all()


def test_rank_is_deterministic_with_ties():
    x = np.zeros((4, 5))
    x[:2, [1, 3]] = 1.0
    y = np.array([True, True, False, False])
    assert rank_mean_difference(x, y)[:2].tolist() == [1, 3]


def test_metrics_use_scores_for_auc():
    y = np.array([True, False, True, False, True])
    scores = np.array([2.0, -1.0, -0.5, -2.0, 0.1])
    m = probe_metrics(y, scores > 0, scores)
    assert m["f1"] == pytest.approx(f1_score(y, scores > 0))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, scores))
    assert m["roc_auc"] == 1.0 and m["recall"] < 1.0  # AUC sees the ranking, F1 the threshold


@pytest.mark.parametrize("case", range(40))
def test_metrics_equal_sklearn_metrics(case):
    """The confusion-count metrics give sklearn.metrics' values, ties, all-negative and
    all-positive predictions included."""
    from sklearn import metrics

    rng = np.random.default_rng(case)
    n = int(rng.integers(5, 300))
    y = rng.random(n) < rng.uniform(0.05, 0.95)
    y[:2] = [True, False]
    scores = rng.normal(size=n) + y * rng.uniform(0, 3)
    if case % 4 == 1:
        scores = np.round(scores, 0)  # many ties
    if case % 4 == 2:
        scores = scores - 100  # predicts no positive
    if case % 4 == 3:
        scores = scores + 100  # predicts every example positive
    pred = scores > 0
    m = probe_metrics(y, pred, scores)
    expected = {
        "f1": metrics.f1_score(y, pred, zero_division=0.0),
        "precision": metrics.precision_score(y, pred, zero_division=0.0),
        "recall": metrics.recall_score(y, pred, zero_division=0.0),
        "accuracy": metrics.accuracy_score(y, pred),
        "balanced_accuracy": metrics.balanced_accuracy_score(y, pred),
        "mcc": metrics.matthews_corrcoef(y, pred),
        "roc_auc": metrics.roc_auc_score(y, scores),
        "pr_auc": metrics.average_precision_score(y, scores),
    }
    for name, value in expected.items():
        assert m[name] == pytest.approx(value, abs=1e-12), name


def test_single_class_split_is_an_error():
    data = planted()
    bad = FeatureData("bad", data.x_train, data.y_train, data.x_test, np.zeros_like(data.y_test))
    with pytest.raises(ProbeError, match="test split has a single class"):
        heuristic_sweep(bad, SETTINGS)


def _row(**overrides):
    row = {col: None for col in RESULT_SCHEMA}
    row.update(model="m", family="f", n_parameters=10, n_layers=2, d_mlp=8, dataset="d",
               hook="blocks.0.mlp.hook_post", aggregation="mean", layer=0, feature="x",
               method="mean_diff", k=1, neurons=[3], coefficients=[0.5], intercept=0.1,
               n_train=7, n_test=3, n_train_positive=2, n_test_positive=1, f1=1.0,
               precision=1.0, recall=1.0, accuracy=1.0, balanced_accuracy=1.0, mcc=1.0,
               roc_auc=1.0, pr_auc=1.0, converged=True, n_iter=5, fit_seconds=0.01, seed=42)
    row.update(overrides)
    return row


def test_result_schema_round_trip_and_errors(tmp_path):
    frame = to_frame([_row(), _row(k=2, neurons=[3, 1], coefficients=[0.5, -0.2])])
    write_results(frame, tmp_path / "r.parquet")
    back = read_results([tmp_path / "r.parquet"])
    assert back.schema == frame.schema and back.height == 2
    frame.drop("mcc").write_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ProbeError, match="'mcc' is missing"):
        read_results([tmp_path / "bad.parquet"])
    with pytest.raises(ProbeError, match="'k' is Int64"):
        check_schema(frame.with_columns(pl.col("k").cast(pl.Int64)), "x")


def test_regression_target_is_read_from_the_planted_neurons():
    """A target that is linear in two neurons: |correlation| ranks them first, the k=2 ridge
    probe explains it (R^2 near 1) and k=1 less; rows carry R^2/MAE, not classification
    metrics."""
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score

    from sparseprobe.probing.sweep import RIDGE_ALPHAS

    rng = np.random.default_rng(3)
    x = np.abs(rng.normal(size=(500, 64)))
    y = 10 * x[:, 5] + 4 * x[:, 9] + rng.normal(scale=0.1, size=500)
    data = FeatureData("pos", x[:350], y[:350], x[350:], y[350:], task="regression")
    rows = heuristic_sweep(data, SETTINGS)
    by_k = {r["k"]: r for r in rows if r["method"] == "correlation"}
    assert by_k[1]["neurons"] == [5] and by_k[2]["neurons"] == [5, 9]
    assert by_k[2]["r2"] > 0.99 > by_k[1]["r2"]
    assert by_k[1]["f1"] is None and by_k[1]["mcc"] is None
    # same numbers as the sklearn pipeline written out by hand (scaled on the train split)
    std = x[:350].std(axis=0) * SETTINGS.scale
    ref = RidgeCV(alphas=RIDGE_ALPHAS).fit(x[:350, [5, 9]] / std[[5, 9]], y[:350])
    assert by_k[2]["r2"] == pytest.approx(r2_score(y[350:], ref.predict(x[350:, [5, 9]] /
                                                                       std[[5, 9]])))
    dense = next(r for r in rows if r["method"] == "dense")
    assert dense["k"] == 64 and dense["r2"] > 0.98


def test_regression_probe_rejects_a_constant_target():
    x = np.random.default_rng(0).normal(size=(100, 8))
    data = FeatureData("pos", x[:70], np.ones(70), x[70:], np.arange(30.0), task="regression")
    with pytest.raises(ProbeError, match="train split has a single value"):
        heuristic_sweep(data, SETTINGS)


def _grouped_dataset(n_docs=60, per_doc=4, seed=0):
    """A dataset of ``n_docs`` documents with ``per_doc`` examples each (one binary feature,
    positives ~30%), split 70/30 by document."""
    from sparseprobe.datasets.schema import FeatureDataset

    rng = np.random.default_rng(seed)
    n = n_docs * per_doc
    doc = np.repeat(np.arange(n_docs), per_doc)
    label = rng.random(n) < 0.3
    test_docs = set(rng.choice(n_docs, size=int(0.3 * n_docs), replace=False).tolist())
    examples = pl.DataFrame({
        "example_id": np.arange(n), "document_id": [f"d{d}" for d in doc],
        "text": ["t"] * n, "span_start": [0] * n, "span_end": [1] * n,
        "stratum": [f"f:{'pos' if y else 'neg'}" for y in label],
        "split": ["test" if d in test_docs else "train" for d in doc]})
    labels = pl.DataFrame({"feature": ["f"] * n, "example_id": np.arange(n), "label": label,
                           "target": [None] * n}, schema_overrides={"target": pl.Float64})
    return FeatureDataset("grouped", "cat", "mean", examples, labels, "fp")


def test_validation_split_holds_out_whole_train_documents_seeded():
    from sparseprobe.probing.splits import feature_splits

    dataset = _grouped_dataset()
    (split,) = feature_splits(dataset, 0.25, seed=42)
    docs = dataset.examples["document_id"].to_numpy()[split.ids]
    original_test = (dataset.examples["split"] == "test").to_numpy()[split.ids]
    assert not (split.validation & original_test).any()  # test untouched
    assert np.array_equal(split.test, original_test)
    assert not set(docs[split.validation]) & set(docs[split.train])  # no document in two
    n_train_before = (~original_test).sum()
    assert 0.15 < split.validation.sum() / n_train_before < 0.35
    again = feature_splits(dataset, 0.25, seed=42)[0]
    assert np.array_equal(again.validation, split.validation)  # seeded
    other = feature_splits(dataset, 0.25, seed=7)[0]
    assert not np.array_equal(other.validation, split.validation)
    (none,) = feature_splits(dataset, 0.0)
    assert none.validation is None and none.train.sum() == n_train_before


def test_rows_carry_validation_metrics_of_the_train_fit_and_a_shuffled_dense_control():
    """val_* columns are probe_metrics of the same fitted probe on the validation part, and
    the shuffled-label dense control sits at chance on both held-out parts."""
    from sparseprobe.probing.sweep import sweep_layer

    base = planted(n=900)
    cut = 400
    data = FeatureData("planted", base.x_train[:cut], base.y_train[:cut], base.x_test,
                       base.y_test, x_val=base.x_train[cut:], y_val=base.y_train[cut:])
    settings = ProbeSettings(k_grid=(1, 4), shuffled_control=True)
    (rows,) = sweep_layer([data], settings)
    assert [r["method"] for r in rows] == ["mean_diff", "mean_diff", "dense", "shuffled_dense"]
    k1 = rows[0]
    std = base.x_train[:cut].std(axis=0) * settings.scale
    x_val = data.x_val[:, k1["neurons"]] / std[k1["neurons"]]
    scores = x_val @ np.asarray(k1["coefficients"], dtype=np.float64) + k1["intercept"]
    expected = probe_metrics(data.y_val, scores > 0, scores)
    assert k1["val_f1"] == pytest.approx(expected["f1"], abs=1e-6)
    assert k1["val_roc_auc"] == pytest.approx(expected["roc_auc"], abs=1e-6)
    assert k1["val_f1"] > 0.8 and k1["neurons"] == [37]
    control = rows[-1]
    assert abs(control["val_mcc"]) < 0.2 and abs(control["mcc"]) < 0.2
    no_val = sweep_layer([base], settings)[0]
    assert all(r["val_f1"] is None for r in no_val)


def test_validation_folds_cut_whole_train_documents_and_leave_test_alone():
    from sparseprobe.probing.splits import feature_splits, validation_folds

    dataset = _grouped_dataset()
    examples = dataset.examples.sort("example_id")
    folds = validation_folds(examples, 4, seed=3)
    train = (examples["split"] == "train").to_numpy()
    assert (folds[~train] == -1).all() and set(folds[train]) == {0, 1, 2, 3}
    docs = examples["document_id"].to_numpy()
    for j in range(4):  # no document in two folds
        assert not set(docs[folds == j]) & set(docs[train & (folds != j)])
    assert np.array_equal(folds, validation_folds(examples, 4, seed=3))  # seeded
    assert not np.array_equal(folds, validation_folds(examples, 4, seed=4))
    with pytest.raises(ProbeError, match="validation_folds must be 0 .* or >= 2, got 1"):
        validation_folds(examples, 1, seed=3)
    with pytest.raises(ProbeError, match="500 folds, but the train split has 42 documents"):
        validation_folds(examples, 500, seed=3)
    (split,) = feature_splits(dataset, 0.25, seed=42, validation_folds=4)
    assert split.validation is None and split.n_folds == 4  # no cut: train is the whole split
    assert split.train.sum() == train.sum()
    held = split.fold(2)
    assert held.test.sum() == (split.folds == 2).sum() and held.train.sum() == (
        split.train & (split.folds != 2)).sum()


def test_cross_validated_metrics_are_fold_means_of_sklearn_fits():
    """With k-fold CV, a dense probe's val_f1 is the mean over folds of a class-balanced
    L2 logistic regression (sklearn) fitted on the other folds' rows, scaled by their std
    (x 10) as the sweep scales, and scored on the held-out fold; the test metrics are those
    of the probe fitted on the whole train split."""
    from sklearn.linear_model import LogisticRegression

    from sparseprobe.probing.splits import FeatureSplit
    from sparseprobe.probing.sweep import cross_validate, sweep_layer
    from sparseprobe.probing.splits import shared_feature_data

    rng = np.random.default_rng(1)
    n, d = 240, 12
    y = rng.random(n) < 0.35
    x = rng.normal(size=(n, d)).astype(np.float32)
    x[y, 3] += 1.0
    train = np.arange(n) < 180
    folds = np.where(train, np.arange(n) % 3, -1).astype(np.int32)
    split = FeatureSplit("f", "classification", np.arange(n), y, train, folds=folds)
    settings = ProbeSettings(k_grid=(1,), backend="sklearn")
    datas = shared_feature_data(x, [split])
    swept = sweep_layer(datas, settings)
    plain_test_f1 = [r["f1"] for r in swept[0]]
    cross_validate(x, [split], swept, settings, layer=0)
    dense = next(r for r in swept[0] if r["method"] == "dense")
    expected = []
    for j in range(3):
        fit_rows, held = train & (folds != j), folds == j
        std = x[fit_rows].std(axis=0) * settings.scale
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000, tol=1e-6)
        model.fit(x[fit_rows] / std, y[fit_rows])
        pred = model.predict(x[held] / std).astype(bool)
        tp, fp, fn = (pred & y[held]).sum(), (pred & ~y[held]).sum(), (~pred & y[held]).sum()
        expected.append(2 * tp / (2 * tp + fp + fn))
    assert dense["val_f1"] == pytest.approx(np.mean(expected), abs=1e-6)
    assert [r["f1"] for r in swept[0]] == plain_test_f1  # test metrics untouched
    assert all(r["val_f1"] is not None and r["val_r2"] is None for r in swept[0])
