"""Which examples a probe trains, chooses and reports on: one feature's splits and designs.

Three splits, grouped by document (no document in two of them): the dataset's fixed test split,
and its train split cut into *train* proper and *validation* (``split.validation_fraction`` of the
train examples, grouped by ``document_id`` and stratified by ``stratum``, seeded; one cut per
dataset, so every feature, model and layer sees the same one: :func:`validation_mask`). Train
ranks, scales and fits; validation is for choices; test reports what validation chose.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from sparseprobe.datasets.schema import stable_seed
from sparseprobe.errors import ProbeError


def seed32(*parts: object) -> int:
    """The low 32 bits of :func:`stable_seed`: the seeds of validation cuts, rankings,
    rotations, label shuffles and bootstrap resamples (their streams are fixed by it)."""
    return stable_seed(*parts) & 0xFFFFFFFF


@dataclass(frozen=True)
class FeatureData:
    """One feature's design matrices on one layer (already split). ``y`` is bool for a binary
    feature and float for a regression target (``task``). ``x_val`` / ``y_val``: the validation
    part (None: none; its metrics are then null)."""

    feature: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str = "classification"
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    def with_train_labels(self, y_train: np.ndarray) -> FeatureData:
        """The same design with other train labels (the shuffled-label controls)."""
        return replace(self, y_train=y_train)


@dataclass(frozen=True)
class FeatureSplit:
    """Which rows one feature labels, its labels (bool, or float targets) and its split masks
    (``train``: train proper, ``validation``: the part of the dataset's train split held out for
    choices; the rest is test): read from the dataset once per probe job, applied to every
    layer's activations."""

    feature: str
    task: str
    ids: np.ndarray
    labels: np.ndarray
    train: np.ndarray
    validation: np.ndarray | None = None
    folds: np.ndarray | None = None  # k-fold CV: each train row's fold (-1 elsewhere)

    @property
    def test(self) -> np.ndarray:
        validation = np.zeros_like(self.train) if self.validation is None else self.validation
        return ~self.train & ~validation

    @property
    def n_folds(self) -> int:
        return 0 if self.folds is None else int(self.folds.max()) + 1

    def fold(self, j: int) -> FeatureSplit:
        """Fold ``j`` of the k-fold cross-validation as a split of its own: train on the other
        folds, score on fold ``j`` (in the ``test`` place; no validation part)."""
        held = self.folds == j
        keep = self.train | held
        return FeatureSplit(self.feature, self.task, self.ids[keep], self.labels[keep],
                            (self.train & ~held)[keep])

    def scorable(self) -> bool:
        """Whether both the train and the test part hold two classes (two values): what
        :func:`~sparseprobe.probing.sweep.prepare` needs."""
        parts = (self.labels[self.train], self.labels[self.test])
        if self.task == "regression":
            return all(np.unique(y).size > 1 for y in parts)
        return all(len(y) > 0 and y.any() and not y.all() for y in parts)

    def data(self, activations: np.ndarray) -> FeatureData:
        """This feature's design matrices on one layer's activations."""
        x = activations[self.ids]
        val = self.validation
        return FeatureData(self.feature, x[self.train], self.labels[self.train],
                           x[self.test], self.labels[self.test], self.task,
                           None if val is None else x[val],
                           None if val is None else self.labels[val])


def validation_mask(examples, fraction: float, seed: int) -> np.ndarray:
    """Per example (row order of ``examples``): whether it is held out of the dataset's train
    split for validation. About ``fraction`` of the train examples, whole documents
    (``document_id``) only, stratified by ``stratum``: a StratifiedGroupKFold of
    round(1/fraction) folds over the train examples, its first fold (a GroupShuffleSplit where
    there are fewer documents than folds). Test examples are never held out; ``fraction`` 0
    holds out none."""
    from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold

    train = (examples["split"] == "train").to_numpy()
    mask = np.zeros(len(train), dtype=bool)
    if fraction <= 0:
        return mask
    if fraction >= 1:
        raise ProbeError(f"split.validation_fraction must be in [0, 1), got {fraction}")
    where = np.flatnonzero(train)
    groups = examples["document_id"].to_numpy()[where]
    strata = examples["stratum"].to_numpy()[where]
    n_splits = max(2, round(1.0 / fraction))
    if len(set(groups)) < n_splits:
        splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        _, held = next(splitter.split(where, groups=groups))
    else:
        with warnings.catch_warnings():  # strata rarer than the folds: sklearn warns, still cuts
            warnings.simplefilter("ignore", UserWarning)
            splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
            _, held = next(splitter.split(where, strata, groups=groups))
    mask[where[held]] = True
    return mask


def validation_folds(examples, folds: int, seed: int) -> np.ndarray:
    """Per example (row order of ``examples``): its fold of a ``folds``-fold cross-validation
    over the dataset's train split (whole documents, stratified by ``stratum``:
    StratifiedGroupKFold, seeded), -1 for test examples. A dataset with fewer train documents
    than folds is a ProbeError naming both."""
    from sklearn.model_selection import StratifiedGroupKFold

    if folds < 2:
        raise ProbeError(f"split.validation_folds must be 0 (one validation cut) or >= 2, "
                         f"got {folds}")
    train = (examples["split"] == "train").to_numpy()
    out = np.full(len(train), -1, dtype=np.int32)
    where = np.flatnonzero(train)
    groups = examples["document_id"].to_numpy()[where]
    if len(set(groups)) < folds:
        raise ProbeError(f"split.validation_folds: {folds} folds, but the train split has "
                         f"{len(set(groups))} documents")
    strata = examples["stratum"].to_numpy()[where]
    with warnings.catch_warnings():  # strata rarer than the folds: sklearn warns, still cuts
        warnings.simplefilter("ignore", UserWarning)
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        for j, (_, held) in enumerate(splitter.split(where, strata, groups=groups)):
            out[where[held]] = j
    return out


def validation_folds_of(dataset, folds: int, seed: int) -> np.ndarray:
    """:func:`validation_folds` of ``dataset``'s examples by ``example_id`` (seeded by ``seed``
    and the dataset's name, as the single validation cut is)."""
    return validation_folds(dataset.examples.sort("example_id"), folds,
                            seed32(seed, dataset.name, "validation"))


def feature_splits(dataset, validation_fraction: float = 0.0, seed: int = 0,
                   validation_folds: int = 0) -> list[FeatureSplit]:
    """One :class:`FeatureSplit` per feature of ``dataset``: the dataset's fixed test split, its
    train split cut by :func:`validation_mask` (seeded by ``seed`` and the dataset's name, so
    every model and layer sees the same cut). With ``validation_folds`` >= 2 the train split is
    not cut: every probe is fitted on all of it and its validation metrics come from a k-fold
    cross-validation over it (:func:`validation_folds`; ``validation_fraction`` is unused)."""
    if validation_folds:
        fold_of = validation_folds_of(dataset, validation_folds, seed)
        return [replace(split, folds=fold_of[split.ids])
                for split in feature_splits(dataset, 0.0, seed)]
    held = validation_mask(dataset.examples.sort("example_id"), validation_fraction,
                           seed32(seed, dataset.name, "validation"))
    splits = []
    for feature in dataset.features:
        table = dataset.feature_table(feature)
        task = dataset.task(feature)
        column = "target" if task == "regression" else "label"
        labels = table[column].to_numpy().astype(np.float64 if task == "regression" else bool)
        ids = table["example_id"].to_numpy()
        train = (table["split"] == "train").to_numpy()
        validation = held[ids] & train if validation_fraction > 0 else None
        splits.append(FeatureSplit(feature, task, ids, labels,
                                   train if validation is None else train & ~validation,
                                   validation))
    return splits


def shared_feature_data(activations: np.ndarray, splits: list[FeatureSplit]) -> list[FeatureData]:
    """Each split's design matrices; features that label the same examples with the same split
    share one set of arrays (a one-vs-rest dataset would otherwise copy the layer per
    feature), which the sweep then scales once and the wide solver reads once for all."""
    shared: dict[tuple[bytes, bytes, bytes], FeatureData] = {}
    out = []
    for split in splits:
        val = split.validation
        key = (split.ids.tobytes(), split.train.tobytes(),
               b"" if val is None else val.tobytes())
        if key not in shared:
            shared[key] = split.data(activations)
        base = shared[key]
        out.append(FeatureData(split.feature, base.x_train, split.labels[split.train],
                               base.x_test, split.labels[split.test], split.task,
                               base.x_val, None if val is None else split.labels[val]))
    return out
