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
  orthogonal map (seeded per layer; :class:`RandomRotation`, O(n d log d), no d x d matrix), so
  "neurons" are random directions of the same space.
  A feature with a dedicated neuron loses its k = 1 advantage there; one in superposition
  does not. (The paper used a dense Gaussian map, which is not a rotation.)
- ``shuffled_labels`` (control): the mean-difference sweep with the train labels permuted
  (seeded); test labels are intact, so its F1 is chance level.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np

from sparseprobe.errors import ProbeError

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
    """|mean over positives - mean over negatives| per neuron (column of ``x``), float64.

    Two matrix-vector products over ``x`` (BLAS, in its dtype), no copy of the positive or
    negative rows: ``x[y]`` and ``x[~y]`` together copied the whole layer on every call
    (0.46 GB at 16,384 neurons x 7,000 train rows)."""
    y = np.asarray(y, dtype=bool)
    n_pos = int(y.sum())
    positives = y.astype(x.dtype) @ x
    total = np.ones(len(y), dtype=x.dtype) @ x
    positives, total = positives.astype(np.float64), total.astype(np.float64)
    return np.abs(positives / n_pos - (total - positives) / (len(y) - n_pos))


MUTUAL_INFO_NEIGHBORS = 3
"""k of the k-NN mutual-information estimate (``mutual_info_classif``'s default)."""


def mutual_information(x: np.ndarray, y: np.ndarray, seed: int,
                       n_neighbors: int = MUTUAL_INFO_NEIGHBORS) -> np.ndarray:
    """Mutual information (nats) of each column of ``x`` with the binary labels ``y``:
    sklearn's ``mutual_info_classif(x, y, random_state=seed)`` estimate, computed by sorting.

    The same estimator step by step (Ross 2014, as sklearn implements it): columns scaled to
    unit std, the same tie-breaking noise (``RandomState(seed)``, 1e-10 x max(1, mean |x|)),
    per example the distance to its ``n_neighbors``-th nearest neighbour of the same class,
    the count of all examples within (just under) that radius, and the digamma formula,
    clipped at 0. In one dimension the neighbours are adjacent in sorted order, so each
    column costs a sort and two binary searches instead of a k-d tree per class: about 10x
    less at 7,000 examples. It may differ from sklearn's only when a distance equals a
    radius to the last bit (boundary rounding; tests/test_selection.py compares them).
    """
    from scipy.special import digamma

    y = np.asarray(y, dtype=bool)
    n, m = x.shape
    values = np.asarray(x, dtype=np.float64).copy()
    std = values.std(axis=0)
    values /= np.where(std < 10 * np.finfo(np.float64).eps, 1.0, std)
    noise = np.random.RandomState(seed).standard_normal(size=(n, m))
    values += 1e-10 * np.maximum(1.0, np.abs(values).mean(axis=0)) * noise
    counts = np.where(y, y.sum(), n - y.sum()).astype(np.float64)
    ks = {label: min(n_neighbors, int((y == label).sum()) - 1) for label in (False, True)}
    if min(ks.values()) < 1:
        raise ProbeError("mutual_info: each class needs at least two training examples")
    k_all = np.where(y, ks[True], ks[False]).astype(np.float64)
    constant = digamma(n) + digamma(k_all).mean() - digamma(counts).mean()
    scores = np.empty(m)
    for j in range(m):
        column = values[:, j]
        radius = np.empty(n)
        for label, k in ks.items():
            members = y == label
            within = np.sort(column[members])
            gaps = np.full((2 * k, len(within)), np.inf)
            for step in range(1, k + 1):
                spread = within[step:] - within[:-step]
                gaps[step - 1, step:] = spread  # to the step-th neighbour below
                gaps[k + step - 1, :-step] = spread  # ... and above
            kth = np.partition(gaps, k - 1, axis=0)[k - 1]
            order = np.argsort(column[members], kind="stable")
            member_radius = np.empty(len(within))
            member_radius[order] = np.nextafter(kth, 0)
            radius[members] = member_radius
        inside = _within_radius(np.sort(column), column, radius)
        scores[j] = max(0.0, constant - digamma(inside).mean())
    return scores


def _within_radius(ordered: np.ndarray, centres: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """For each centre, how many of ``ordered`` (sorted) lie at |distance| <= its radius,
    compared exactly as a k-d tree does (``centre + radius`` may round onto a neighbour)."""
    n = len(ordered)
    hi = np.searchsorted(ordered, centres + radius, side="right")
    lo = np.searchsorted(ordered, centres - radius, side="left")
    for _ in range(n):
        down = (hi > 0) & (ordered[np.maximum(hi - 1, 0)] - centres > radius)
        up = (hi < n) & (ordered[np.minimum(hi, n - 1)] - centres <= radius)
        if not (down.any() or up.any()):
            break
        hi = hi - down + up
    for _ in range(n):
        up = (lo < n) & (centres - ordered[np.minimum(lo, n - 1)] > radius)
        down = (lo > 0) & (centres - ordered[np.maximum(lo - 1, 0)] <= radius)
        if not (down.any() or up.any()):
            break
        lo = lo + up - down
    return hi - lo


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
        if x.shape[1] <= MUTUAL_INFO_CANDIDATES:
            return _order(mutual_information(x, y, seed), by_mean_diff)
        candidates = by_mean_diff[:MUTUAL_INFO_CANDIDATES]  # ties below: mean-difference order
        scores = mutual_information(np.take(x, candidates, axis=1), y, seed)
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


ROTATION_ROUNDS = 3
"""Rounds of (permute, flip signs, orthonormal DCT) in :class:`RandomRotation`."""


@dataclass(frozen=True)
class RandomRotation:
    """A seeded random orthogonal map of R^d, applied in O(n d log d) without forming a matrix.

    x -> DCT(S_3 P_3 ... DCT(S_1 P_1 x)): each round permutes the coordinates (P), flips random
    signs (S) and applies the orthonormal DCT-II (``scipy.fft.dct(norm="ortho")``, exactly
    orthogonal for every d, not only powers of two). A product of orthogonal maps is
    orthogonal, so distances, norms and the linear probes' reach are those of the layer; after
    three rounds every output coordinate mixes every neuron (the structured construction of
    orthogonal random features, Yu et al. 2016). It is not a Haar-uniform rotation (a dense QR
    gave one, at O(d^3): minutes at d = 16,384); the control only needs directions unrelated
    to the neuron basis, which this establishes, not uniformity over all rotations.
    """

    permutations: tuple[np.ndarray, ...]
    signs: tuple[np.ndarray, ...]

    @property
    def d(self) -> int:
        return len(self.permutations[0])

    def apply(self, x: np.ndarray) -> np.ndarray:
        """``x`` [n, d] in the rotated basis (rows are examples; the dtype is kept)."""
        from scipy.fft import dct

        x = np.asarray(x)
        if x.shape[-1] != self.d:
            raise ProbeError(f"random_basis: a rotation of width {self.d} applied to "
                             f"activations with {x.shape[-1]} columns")
        out = x
        for permutation, sign in zip(self.permutations, self.signs):
            out = np.take(out, permutation, axis=-1) * sign.astype(x.dtype)
            out = dct(out, type=2, norm="ortho", axis=-1)
        return out.astype(x.dtype, copy=False)

    def matrix(self) -> np.ndarray:
        """The d x d orthogonal matrix Q with ``apply(x) == x @ Q`` (for tests; O(d^2 log d))."""
        return self.apply(np.eye(self.d))


@functools.lru_cache(maxsize=8)
def random_rotation(d: int, seed: int) -> RandomRotation:
    """The layer's random orthogonal map (:class:`RandomRotation`), seeded; cached, since every
    feature of a layer reads the same one."""
    rng = np.random.default_rng(seed)
    permutations = tuple(rng.permutation(d) for _ in range(ROTATION_ROUNDS))
    signs = tuple(rng.choice(np.array([-1.0, 1.0]), size=d) for _ in range(ROTATION_ROUNDS))
    return RandomRotation(permutations, signs)
