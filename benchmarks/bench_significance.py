"""Paired bootstrap of 5 metric changes: ci-mlops's vectorised engine vs a scikit-learn loop.

Run: .venv/bin/python benchmarks/bench_significance.py [--examples N] [--resamples B] [--loop-resamples L]

The data: N binary examples with base and head scores (probabilities) and labels. Metrics:
accuracy, precision, recall, F1 and ROC AUC, each as head - base with a 95% interval over
B paired resamples.

* ci-mlops: ``ci_mlops.significance.bootstrap.bootstrap`` (whole call, B resamples).
* The straightforward loop a user would write: per resample, draw N indices and call
  scikit-learn's five metric functions for base and head. It is linear in the number of
  resamples, so it runs L of them (default 100) and the time is scaled to B; the printed
  line says so. Its interval endpoints (from L resamples) are not comparable, but the
  point values are, and both must equal scikit-learn's on the full set.

Prints seconds, the ratio, and ci-mlops's peak RSS. Tests never assert times.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ci_mlops.significance.bootstrap import Evaluation, Side, bootstrap

METRICS = ["accuracy", "precision", "recall", "f1", "roc_auc"]


def make_data(n: int, seed: int = 0) -> Evaluation:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    base = np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1)
    head = np.clip(0.9 * base + 0.1 * (0.32 * y + 0.68 * rng.random(n)), 0, 1)
    return Evaluation(y, Side((base > 0.5).astype(int), base), Side((head > 0.5).astype(int), head))


def sklearn_loop(ev: Evaluation, resamples: int, seed: int = 0) -> np.ndarray:
    from sklearn import metrics as skm

    fns = [skm.accuracy_score, skm.precision_score, skm.recall_score, skm.f1_score]
    rng = np.random.default_rng(seed)
    n = len(ev.actual)
    out = np.empty((resamples, len(METRICS)))
    for b in range(resamples):
        idx = rng.integers(0, n, n)
        y = ev.actual[idx]
        row = [fn(y, ev.head.predicted[idx]) - fn(y, ev.base.predicted[idx]) for fn in fns]
        row.append(skm.roc_auc_score(y, ev.head.score[idx]) - skm.roc_auc_score(y, ev.base.score[idx]))
        out[b] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--loop-resamples", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    ev = make_data(args.examples)
    bootstrap(ev, METRICS, resamples=100)  # warm-up: imports, page faults
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        found = bootstrap(ev, METRICS, resamples=args.resamples)
        times.append(time.perf_counter() - start)
    ours = min(times)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    split = {}
    for name, subset in (("label metrics only (accuracy, precision, recall, f1)", METRICS[:4]),
                         ("roc_auc only", ["roc_auc"])):
        start = time.perf_counter()
        bootstrap(ev, subset, resamples=args.resamples)
        split[name] = time.perf_counter() - start

    start = time.perf_counter()
    sklearn_loop(ev, args.loop_resamples)
    loop = (time.perf_counter() - start) * args.resamples / args.loop_resamples

    from sklearn import metrics as skm

    assert abs(found["roc_auc"].head - skm.roc_auc_score(ev.actual, ev.head.score)) < 1e-12
    assert abs(found["f1"].base - skm.f1_score(ev.actual, ev.base.predicted)) < 1e-12
    print(f"{args.examples:,} examples x {args.resamples:,} paired resamples, 5 metrics ({', '.join(METRICS)})")
    for m in METRICS:
        i = found[m]
        print(f"  {m:<10} change {i.change:+.5f}  95% CI {i.low:+.5f} … {i.high:+.5f}")
    print(f"ci-mlops bootstrap      {ours:8.2f} s  (best of {args.repeat}: {', '.join(f'{t:.2f}' for t in times)})"
          f"  peak RSS {peak:,.0f} MiB")
    for name, seconds in split.items():
        print(f"  of which {name}: {seconds:.2f} s")
    print(f"scikit-learn loop       {loop:8.2f} s  ({args.loop_resamples} resamples timed, scaled to "
          f"{args.resamples:,})")
    print(f"ratio                   {loop / ours:8.1f}x faster")


if __name__ == "__main__":
    main()
