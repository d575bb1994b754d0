"""Metric changes over several training seeds: a t-interval or a Wilcoxon (Hodges-Lehmann) interval.

When the pipeline trains with several seeds and writes one value per seed, the change
of a metric is judged across seeds instead of one run against one run. Runs are paired
when base and head name the same seeds (the same per-seed file names, or lists of the
same length in the same order); otherwise they are treated as independent samples.

* ``t``: the mean change with Student's t-interval (paired) or Welch's (independent).
* ``wilcoxon``: the Hodges-Lehmann estimate of the change with its distribution-free
  interval: Walsh averages for paired runs (signed-rank test), pairwise differences for
  independent runs (rank-sum test), cut at the test's exact critical value.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from ci_mlops.errors import UserError

METHODS = ("t", "wilcoxon")


@dataclass(frozen=True)
class SeedInterval:
    """``head - base`` across seeds, with its interval."""

    base: float  # mean (t) or median (wilcoxon) over the base runs
    head: float
    estimate: float  # the change: mean difference or Hodges-Lehmann estimate
    low: float
    high: float
    confidence: float
    n: int  # runs per side (the smaller side when unpaired)
    paired: bool
    method: str


def seed_interval(base: list[float], head: list[float], *, paired: bool, method: str = "t",
                  confidence: float = 0.95, name: str = "metric") -> SeedInterval:
    """The change from ``base`` runs to ``head`` runs with a ``confidence`` interval."""
    b, h = np.asarray(base, dtype=np.float64), np.asarray(head, dtype=np.float64)
    if method not in METHODS:
        raise UserError(f"significance.seeds.method: '{method}' is not one of {', '.join(METHODS)}")
    if not (np.isfinite(b).all() and np.isfinite(h).all()):
        raise UserError(f"significance: {name}: a per-seed value is not a finite number")
    if len(b) < 2 or len(h) < 2:
        raise UserError(f"significance: {name}: needs at least 2 runs on each side for an interval "
                        f"(base has {len(b)}, head has {len(h)})")
    if paired and len(b) != len(h):
        raise UserError(f"significance: {name}: paired seeds need as many base runs as head runs "
                        f"({len(b)} vs {len(h)})")
    if method == "t":
        return _t(b, h, paired, confidence)
    return _wilcoxon(b, h, paired, confidence)


def _t(b: np.ndarray, h: np.ndarray, paired: bool, confidence: float) -> SeedInterval:
    from scipy import stats  # lazy: SciPy is slow to import

    df: float
    if paired:
        d = h - b
        n = len(d)
        est, se, df = d.mean(), d.std(ddof=1) / np.sqrt(n), n - 1
    else:
        vb, vh = b.var(ddof=1) / len(b), h.var(ddof=1) / len(h)
        est, se = h.mean() - b.mean(), np.sqrt(vb + vh)
        # Welch-Satterthwaite degrees of freedom (inf-safe when both variances are 0)
        denom = vb ** 2 / (len(b) - 1) + vh ** 2 / (len(h) - 1)
        df = (vb + vh) ** 2 / denom if denom > 0 else float(len(b) + len(h) - 2)
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    return SeedInterval(float(b.mean()), float(h.mean()), float(est), float(est - half), float(est + half),
                        confidence, min(len(b), len(h)), paired, "t")


def _wilcoxon(b: np.ndarray, h: np.ndarray, paired: bool, confidence: float) -> SeedInterval:
    alpha = 1 - confidence
    if paired:
        d = h - b
        i, j = np.triu_indices(len(d))
        walsh = np.sort((d[i] + d[j]) / 2)
        k = _signed_rank_critical(len(d), alpha)
        values = walsh
    else:
        values = np.sort(np.subtract.outer(h, b).ravel())
        k = _rank_sum_critical(len(b), len(h), alpha)
    est = float(np.median(values))
    if k < 1:  # too few runs for any interval at this confidence: the whole range, honestly wide
        low, high = float(values[0]), float(values[-1])
    else:
        low, high = float(values[k - 1]), float(values[len(values) - k])
    return SeedInterval(float(np.median(b)), float(np.median(h)), est, min(low, est), max(high, est), confidence,
                        min(len(b), len(h)), paired, "wilcoxon")


def _signed_rank_critical(n: int, alpha: float) -> int:
    """The largest k with P(T < k) <= alpha/2 under the null, T the signed-rank statistic (exact)."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1
    for r in range(1, n + 1):  # the number of sign patterns giving each rank sum
        counts[r:] = counts[r:] + counts[:-r].copy()
    cdf = np.cumsum(counts) / 2 ** n
    return int(np.searchsorted(cdf, alpha / 2, side="right"))


def _rank_sum_critical(m: int, n: int, alpha: float) -> int:
    """The largest k with P(U < k) <= alpha/2 under the null, U the Mann-Whitney statistic (exact)."""
    if m * n > 40_000:  # normal approximation for many runs (never the case with seeds in practice)
        from scipy import stats  # lazy: SciPy is slow to import

        z = stats.norm.ppf(1 - alpha / 2)
        return max(0, int(np.floor(m * n / 2 - z * np.sqrt(m * n * (m + n + 1) / 12))))
    # counts[i][j][u]: arrangements of i and j runs with statistic u (dynamic programme)
    table = {(0, j): np.array([1.0]) for j in range(n + 1)}
    for i, j in product(range(1, m + 1), range(n + 1)):
        left = table[(i - 1, j)]
        shifted = np.concatenate([np.zeros(j), left])
        if j == 0:
            table[(i, j)] = shifted
            continue
        down = table[(i, j - 1)]
        size = max(len(shifted), len(down))
        table[(i, j)] = np.pad(shifted, (0, size - len(shifted))) + np.pad(down, (0, size - len(down)))
    dist = table[(m, n)]
    cdf = np.cumsum(dist) / dist.sum()
    return int(np.searchsorted(cdf, alpha / 2, side="right"))
