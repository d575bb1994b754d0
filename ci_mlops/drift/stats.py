"""Two-sample statistics on NumPy arrays, as Evidently's data-drift tests define them.

Numeric inputs are *sorted* float arrays without NaN: sorting once per column lets
every test here run in linear time or by binary search (the Wasserstein distance
by a merge of the two sorted samples, histograms by ``searchsorted`` on the bin
edges). Categorical tests take aligned count vectors over the union of categories.

Definitions follow Evidently 0.7 (``evidently.legacy.calculations.stattests``):

* Wasserstein: ``W1(ref, cur) / max(std(ref), 0.001)``, drift at >= threshold (0.1).
* Kolmogorov-Smirnov: two-sided ``scipy.stats.ks_2samp`` p-value, drift at p <= threshold.
* Chi-squared: observed current counts against reference counts scaled to the current
  size; a category never seen in the reference makes the statistic infinite (p = 0).
* Jensen-Shannon distance: natural log (SciPy's default base), over category shares,
  or over Sturges histogram bins of the pooled sample when the reference has more
  than 20 distinct numeric values; zero shares are kept as zero.
* Proportions z-test: share of the first category (sorted) in each sample, pooled
  standard error, two-sided p-value.
* PSI: same bins as Jensen-Shannon; empty bins get a small share so the log is finite.
"""

from __future__ import annotations

import math

import numpy as np

WASSERSTEIN_MIN_NORM = 0.001
JS_NUMERIC_BINNING_MIN_DISTINCT = 20  # Evidently bins numeric values when the reference has more


def count_distinct_sorted(values: np.ndarray) -> int:
    """Number of distinct values in a sorted array."""
    if values.size == 0:
        return 0
    return int(np.count_nonzero(values[1:] != values[:-1])) + 1


def wasserstein_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """First Wasserstein distance between two sorted samples (equals ``scipy.stats.wasserstein_distance``).

    The area between the two empirical CDFs: merge the samples once, then at every
    merged point the CDF of each side is how many of its values came before.
    """
    n, m = a.size, b.size
    if n == 0 or m == 0:
        return float("nan")
    if n == m:  # quantile functions step at the same points
        return float(np.abs(a - b).mean())
    # Position of each b value in the merged order (after equal a values).
    pos_b = np.searchsorted(a, b, side="right") + np.arange(m)
    is_b = np.zeros(n + m, dtype=bool)
    is_b[pos_b] = True
    merged = np.empty(n + m, dtype=np.float64)
    merged[pos_b] = b
    merged[~is_b] = a
    taken_b = np.cumsum(is_b[:-1], dtype=np.int64)
    taken_a = np.arange(1, n + m, dtype=np.int64) - taken_b
    # Where merged values tie the width is zero, so a partial count there adds nothing.
    gaps = np.diff(merged)
    return float(np.dot(np.abs(taken_a / n - taken_b / m), gaps))


def wasserstein_normed(ref: np.ndarray, cur: np.ndarray, ref_std: float) -> float:
    return wasserstein_sorted(ref, cur) / max(ref_std, WASSERSTEIN_MIN_NORM)


def ks_pvalue(ref: np.ndarray, cur: np.ndarray) -> float:
    from scipy.stats import ks_2samp

    return float(ks_2samp(ref, cur).pvalue)


def sturges_edges(lo: float, hi: float, n: int) -> np.ndarray:
    """Bin edges of ``np.histogram_bin_edges(sample, "sturges")`` for a sample of size n in [lo, hi]."""
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5  # what NumPy does for a constant sample
        bins = 1
    else:
        # NumPy's own arithmetic: a bin width, then as many bins as fit; a width that
        # underflows to 0 (a range of a few subnormals) gives one bin.
        width = (hi - lo) / (math.log2(n) + 1.0)
        bins = int(math.ceil((hi - lo) / width)) if width else 1
    return np.linspace(lo, hi, bins + 1)


def histogram_sorted(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(values, edges)[0]`` for a sorted array: the last bin includes its right edge."""
    idx = np.searchsorted(values, edges, side="left")
    idx[-1] = np.searchsorted(values, edges[-1], side="right")
    return np.diff(idx)


def shares_numeric(ref: np.ndarray, cur: np.ndarray, ref_distinct: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current shares per bin for Jensen-Shannon and PSI on a numeric column."""
    if ref_distinct > JS_NUMERIC_BINNING_MIN_DISTINCT:
        lo = min(ref[0], cur[0])
        hi = max(ref[-1], cur[-1])
        edges = sturges_edges(float(lo), float(hi), ref.size + cur.size)
        return histogram_sorted(ref, edges) / ref.size, histogram_sorted(cur, edges) / cur.size
    keys = np.union1d(np.unique(ref), np.unique(cur))
    return _counts_at(ref, keys) / ref.size, _counts_at(cur, keys) / cur.size


def _counts_at(sorted_values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    return np.searchsorted(sorted_values, keys, side="right") - np.searchsorted(sorted_values, keys, side="left")


def jensenshannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log), as ``scipy.spatial.distance.jensenshannon``."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        right = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    return float(math.sqrt(max((left + right) / 2.0, 0.0)))


def chisquare_pvalue(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Chi-squared goodness of fit of current counts to reference counts scaled to the current size."""
    from scipy.stats import chi2

    ref_counts = np.asarray(ref_counts, dtype=np.float64)
    cur_counts = np.asarray(cur_counts, dtype=np.float64)
    if ref_counts.size < 2:
        return 1.0  # one category on both sides: nothing can have moved
    expected = ref_counts * (cur_counts.sum() / ref_counts.sum())
    if np.any((expected == 0) & (cur_counts > 0)):
        return 0.0  # a category the reference never had
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = float(np.where(expected > 0, (cur_counts - expected) ** 2 / expected, 0.0).sum())
    return float(chi2.sf(stat, ref_counts.size - 1))


def ztest_pvalue(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Two-sided pooled z-test on the share of the first category (categories in sorted order)."""
    from scipy.stats import norm

    n1, n2 = float(np.sum(ref_counts)), float(np.sum(cur_counts))
    nonzero_ref = np.flatnonzero(ref_counts)
    nonzero_cur = np.flatnonzero(cur_counts)
    if nonzero_ref.size == 1 and nonzero_cur.size == 1 and nonzero_ref[0] == nonzero_cur[0]:
        return 1.0  # both constant, same value
    # Evidently codes the first key as 0 and everything else as 1.
    p1 = 1.0 - ref_counts[0] / n1
    p2 = 1.0 - cur_counts[0] / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    denom = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    if denom == 0.0:
        return 1.0
    return float(2.0 * norm.sf(abs((p1 - p2) / denom)))


def psi(ref_shares: np.ndarray, cur_shares: np.ndarray) -> float:
    """Population Stability Index; empty bins get a small share (Evidently's rule) so the log is finite."""
    ref_shares = _fill_zeroes(np.asarray(ref_shares, dtype=np.float64))
    cur_shares = _fill_zeroes(np.asarray(cur_shares, dtype=np.float64))
    return float(np.sum((ref_shares - cur_shares) * np.log(ref_shares / cur_shares)))


def _fill_zeroes(shares: np.ndarray) -> np.ndarray:
    nonzero = shares[shares != 0]
    if nonzero.size == 0:
        return shares
    smallest = nonzero.min()
    fill = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return np.where(shares == 0, fill, shares)
