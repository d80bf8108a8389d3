"""Neuron selection: the paper's rankings, its adaptive-thresholding sweep and the controls.

Every function here sees the train split only (nothing computed on the test split feeds a
choice). A *ranking* orders all neurons of a layer for one binary feature; the sweep then fits
the class-balanced L2 probe on the top k for each k of the grid. What a ranking establishes is
which neurons a criterion prefers; the probe on top of it says how well those k neurons read the
feature out on held-out data.

Rankings (``probing.methods``):

- ``mean_diff``: |mean over positives - mean over negatives| (the paper's default).
- ``anova_f``: the ANOVA F statistic (``sklearn.feature_selection.f_classif``).
- ``mutual_info``: mutual information (``mutual_info_classif``, k-NN estimate, seeded). On layers
  wider than ``MUTUAL_INFO_CANDIDATES`` (512) it is estimated for the top 512 neurons by mean
  difference only, as the reference code did, the rest following in mean-difference order: the
  k-NN estimate cost about 0.7 s per feature and layer for 512 neurons on the default datasets
  (it grows with the neurons scored: about 20 s at d_mlp = 16,384), and only the first 256 of
  the order are ever probed.
- ``l1_logreg``: |coef| of an L1 logistic regression (C=0.1, class-balanced, liblinear);
  neurons it zeroes keep their mean-difference order after the selected ones.
- ``svm``: |coef| of a class-balanced linear SVM (``LinearSVC``).
- ``random``: a uniformly random order (seeded per feature and layer): the chance baseline (the
  reference code drew it from the top-512 mean-difference neurons, which is not random).

Other methods:

- ``telescope``: the paper's adaptive thresholding. Start from the top ``max(k grid)`` neurons by
  mean difference; for k from the largest to the smallest grid value fit an elastic-net
  logistic regression (saga, C = k/20, l1_ratio = clip(exp(-k/20), 0.1, 0.9), class-balanced)
  on the current support of k neurons and keep the top k' (the next grid value) by |coef|. The
  probe reported at k is the L2 probe refitted on that support, as for every other method.
- ``optimal``: optimal sparse probing for k <= ``probing.optimal_max_k`` among the top
  ``optimal_candidates`` neurons by mean difference (``sparseprobe.probing.optimal``: the paper's exact
  hinge + ridge objective by outer approximation with open-source HiGHS; rows carry the
  objective, bound and gap; ``converged`` is False when the gap was not closed in time).
- ``pruning``: iterative pruning: solve k = 5 optimally, drop the support's best neuron (highest
  mean difference) from the candidates and solve again, ``pruning_steps`` times (k = 5 rows in
  order). A feature whose F1 survives the removals is carried by an ensemble of neurons; one
  whose F1 collapses after the first removal relied on a dedicated neuron.
- ``single_neuron``: the top 30 neurons by mean difference, each probed alone (k = 1, 30 rows
  per feature and layer; the best over layers is the "monosemantic neuron" table).
- ``random_basis`` (control): the mean-difference sweep after rotating the layer by a random
  orthogonal matrix (seeded per layer), so "neurons" are random directions of the same space.
  A feature with a dedicated neuron loses its k = 1 advantage there; one in superposition
  does not. (The paper used a dense Gaussian map, which is not a rotation.)
- ``shuffled_labels`` (control): the mean-difference sweep with the train labels permuted
  (seeded); test labels are intact, so its F1 is chance level.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

RANKINGS = ("mean_diff", "anova_f", "mutual_info", "l1_logreg", "svm", "random")
METHODS = (*RANKINGS, "telescope", "optimal", "pruning", "single_neuron", "random_basis",
           "shuffled_labels")
SINGLE_NEURON_CANDIDATES = 30
MUTUAL_INFO_CANDIDATES = 512


def _order(scores: np.ndarray, tie_break: np.ndarray | None = None) -> np.ndarray:
    """Indices by score descending (NaN as lowest); ties by ``tie_break`` rank, else index."""
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    secondary = np.arange(len(scores)) if tie_break is None else np.argsort(tie_break)
    return np.lexsort((secondary, -scores))


def mean_difference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.abs(x[y].mean(axis=0) - x[~y].mean(axis=0))


def rank(method: str, x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """All neuron indices of ``x`` ordered by ``method`` (one of RANKINGS), best first."""
    by_mean_diff = _order(mean_difference(x, y))
    if method == "mean_diff":
        return by_mean_diff
    if method == "random":
        return np.random.default_rng(seed).permutation(x.shape[1])
    if method == "anova_f":
        from sklearn.feature_selection import f_classif

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # constant neurons: F = nan
            return _order(f_classif(x, y)[0], by_mean_diff)
    if method == "mutual_info":
        from sklearn.feature_selection import mutual_info_classif

        if x.shape[1] <= MUTUAL_INFO_CANDIDATES:
            return _order(mutual_info_classif(x, y, random_state=seed), by_mean_diff)
        candidates = by_mean_diff[:MUTUAL_INFO_CANDIDATES]  # ties below: mean-difference order
        scores = mutual_info_classif(x[:, candidates], y, random_state=seed)
        return np.concatenate([candidates[_order(scores)], by_mean_diff[MUTUAL_INFO_CANDIDATES:]])
    if method == "l1_logreg":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(l1_ratio=1.0, C=0.1, solver="liblinear",
                                   class_weight="balanced", max_iter=1000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x, y)
        return _order(np.abs(model.coef_[0]), by_mean_diff)
    if method == "svm":
        from sklearn.svm import LinearSVC

        model = LinearSVC(class_weight="balanced", dual="auto", max_iter=5000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x, y)
        return _order(np.abs(model.coef_[0]), by_mean_diff)
    raise ValueError(f"unknown ranking '{method}'; known: {RANKINGS}")


def telescope_supports(x: np.ndarray, y: np.ndarray, k_values: list[int]) -> dict[int, np.ndarray]:
    """The adaptive-thresholding supports: {k: neuron indices}, one per k of ``k_values``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    ks = sorted(set(k_values), reverse=True)
    support = _order(mean_difference(x, y))[: ks[0]]
    supports = {}
    for i, k in enumerate(ks):
        support = support[:k]
        supports[k] = support
        if i + 1 == len(ks):
            break
        model = LogisticRegression(
            solver="saga", C=k / 20,
            l1_ratio=float(np.clip(np.exp(-k / 20), 0.1, 0.9)), class_weight="balanced",
            max_iter=200,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x[:, support], y)
        support = support[_order(np.abs(model.coef_[0]))]
    return supports


@functools.lru_cache(maxsize=2)
def random_rotation(d: int, seed: int) -> np.ndarray:
    """A uniformly random d x d orthogonal matrix (QR of a Gaussian, signs fixed). Cached: every
    feature of a layer reads the same rotation, and the QR is O(d^3) (about 0.5 s at d = 2,048,
    minutes at d = 16,384). Read-only: do not modify the returned array."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    q = q * np.sign(np.diag(r))
    q.flags.writeable = False
    return q
