"""Time the paper-style sklearn probe loop against the batched engine on the same activations.

Synthetic activations shaped like a Pythia-70M layer (GELU of Gaussian noise, 2,048 neurons),
5,000 examples (70/30 split), 10 binary features each with a planted mean shift on a few
neurons, the paper's 15-value k grid with mean-difference ranking plus the dense probe. Both
backends get exactly the same scaled data and rankings (``sweep_layer``); the script reports the
wall time of each, the ratio and how far their F1s are apart.

    python benchmarks/probe_engine.py [--examples 5000] [--neurons 2048] [--features 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from sparseprobe.probing import FeatureData, ProbeSettings, sweep_layer  # noqa: E402


def synthetic_layer(examples: int, neurons: int, features: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    pre = rng.normal(size=(examples, neurons)).astype(np.float32)
    x = pre * 0.5 * (1 + np.tanh(0.79788456 * (pre + 0.044715 * pre**3)))
    cut = int(0.7 * examples)
    out = []
    for f in range(features):
        y = rng.random(examples) < 0.2
        support = rng.choice(neurons, size=1 + f % 5, replace=False)
        xf = x.copy()
        xf[np.ix_(y, support)] += rng.uniform(0.3, 1.5)
        out.append(FeatureData(f"f{f}", xf[:cut], y[:cut], xf[cut:], y[cut:]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000)
    parser.add_argument("--neurons", type=int, default=2048)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    features = synthetic_layer(args.examples, args.neurons, args.features)
    timings, results = {}, {}
    for backend in ("engine", "sklearn"):
        # the paper-style loop: one sklearn LogisticRegression per probe at sklearn's default tol
        tol = 1e-4 if backend == "sklearn" else ProbeSettings.tol
        settings = ProbeSettings(backend=backend, device=args.device, tol=tol)
        started = time.perf_counter()
        results[backend] = sweep_layer(features, settings)
        timings[backend] = time.perf_counter() - started
        print(f"{backend:8s} {timings[backend]:8.1f} s", flush=True)
    diffs = [abs(a["f1"] - b["f1"]) for fa, fb in zip(results["engine"], results["sklearn"])
             for a, b in zip(fa, fb)]
    probes = sum(len(rows) for rows in results["engine"])
    for backend, rows in results.items():
        by_k: dict[int, float] = {}
        for feature_rows in rows:
            for r in feature_rows:
                by_k[r["k"]] = by_k.get(r["k"], 0.0) + r["fit_seconds"]
        print(backend, "fit seconds by k:", {k: round(v, 2) for k, v in sorted(by_k.items())})
    print(f"{probes} probes; sklearn / engine = {timings['sklearn'] / timings['engine']:.1f}x; "
          f"|F1 engine - F1 sklearn|: max {max(diffs):.4f}, rows > 0.005: "
          f"{sum(d > 0.005 for d in diffs)}")


if __name__ == "__main__":
    main()
