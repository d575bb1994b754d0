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
BLOCK = 1 << 16  # values per block of temporaries: 512 KiB, inside the CPU cache, never as large as the data


def count_distinct_sorted(values: np.ndarray, block: int = BLOCK) -> int:
    """Number of distinct values in a sorted array."""
    if values.size == 0:
        return 0
    last = values.size - 1
    changes = sum(int(np.count_nonzero(values[i + 1:min(i + block, last) + 1] != values[i:min(i + block, last)]))
                  for i in range(0, last, block))
    return changes + 1


def wasserstein_sorted(a: np.ndarray, b: np.ndarray, block: int = BLOCK) -> float:
    """First Wasserstein distance between two sorted samples (equals ``scipy.stats.wasserstein_distance``).

    SciPy integrates the gap between the two empirical CDFs over the merged values;
    this integrates the gap between the two quantile functions over [0, 1], which is
    the same area (a graph and its inverse) and needs no merge: with the sides'
    sizes n >= m, the larger side's step k covers (k/n, (k+1)/n], and the smaller
    side's value there is known by arithmetic, so nothing is searched. Every
    temporary is at most ``block`` values, small enough to stay in the CPU cache.
    """
    n, m = a.size, b.size
    if n == 0 or m == 0:
        return float("nan")
    if n == m:  # quantile functions step at the same points
        return sum(float(np.abs(a[i:i + block] - b[i:i + block]).sum()) for i in range(0, n, block)) / n
    if n < m:
        a, b, n, m = b, a, m, n
    if n * m >= 1 << 62:  # positions k * m would overflow int64 (beyond memory anyway at 8 bytes a value)
        return _wasserstein_merged(a, b, block)
    # In units of 1/(n*m): a's step k spans (k*m, (k+1)*m], b's step j spans (j*n, (j+1)*n].
    # As m < n, at most one of b's steps ends inside each of a's.
    total = 0.0  # sum of width x |a - b|, in those units
    for start in range(0, n, block):
        end = min(start + block, n)
        j = np.arange(start * m, end * m, m, dtype=np.int64)
        past = j.copy()
        j //= n  # b's step at the start of a's step k
        past -= j * n  # how far into b's step j a's step k starts ...
        past -= n - m  # ... minus what is left of b's step after a's: the width taken by b's step j + 1
        np.maximum(past, 0, out=past)
        values = a[start:end]
        near = values - b[j]
        np.abs(near, out=near)
        j += 1
        np.minimum(j, m - 1, out=j)  # where nothing is past, j + 1 may be m: its width is 0
        far = values - b[j]
        np.abs(far, out=far)
        # (m - past) * near + past * far, as m * near + past * (far - near): one product less
        far -= near
        far *= past
        total += m * float(near.sum()) + float(far.sum())
    return total / n / m


def _wasserstein_merged(a: np.ndarray, b: np.ndarray, block: int = BLOCK) -> float:
    """The same distance by merging the samples (SciPy's CDF form), in blocks; for sizes whose
    product does not fit 62 bits."""
    n, m = a.size, b.size
    total = 0.0
    i = j = 0
    last: float | None = None  # the largest value merged so far, and the CDF gap after it
    gap_after_last = 0.0
    while i < n or j < m:
        ca, cb = a[i:i + block], b[j:j + block]
        # Everything up to the smaller of the two block ends can be merged now.
        cut = min(ca[-1], cb[-1]) if ca.size and cb.size else (ca[-1] if ca.size else cb[-1])
        ca = ca[:np.searchsorted(ca, cut, side="right")]
        cb = cb[:np.searchsorted(cb, cut, side="right")]
        merged, is_b = _merge(ca, cb)
        if last is not None:
            total += abs(gap_after_last) * (float(merged[0]) - last)
        taken_b = np.cumsum(is_b[:-1], dtype=np.int64) + j
        taken_a = np.arange(1, merged.size, dtype=np.int64) - (taken_b - j) + i
        # Where merged values tie the width is zero, so a partial count there adds nothing.
        total += float(np.dot(np.abs(taken_a / n - taken_b / m), np.diff(merged)))
        i, j = i + ca.size, j + cb.size
        last, gap_after_last = float(merged[-1]), i / n - j / m
    return total


def _merge(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two sorted arrays merged (b after equal a values), and which merged values came from b."""
    pos_b = np.searchsorted(a, b, side="right") + np.arange(b.size)
    is_b = np.zeros(a.size + b.size, dtype=bool)
    is_b[pos_b] = True
    merged = np.empty(a.size + b.size, dtype=np.float64)
    merged[pos_b] = b
    merged[~is_b] = a
    return merged, is_b


def std_sorted(values: np.ndarray, block: int = BLOCK) -> float:
    """Population standard deviation (``np.std``), with temporaries of at most ``block`` values."""
    if values.size <= block:
        return float(values.std())
    mean = values.mean()
    squares = sum(float(np.square(values[i:i + block] - mean).sum()) for i in range(0, values.size, block))
    return math.sqrt(squares / values.size)


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """Distinct values of a sorted array (``np.unique`` without another sort)."""
    if values.size == 0:
        return values
    keep = np.empty(values.size, dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def wasserstein_normed(ref: np.ndarray, cur: np.ndarray, ref_std: float) -> float:
    return wasserstein_sorted(ref, cur) / max(ref_std, WASSERSTEIN_MIN_NORM)


def ks_pvalue(ref: np.ndarray, cur: np.ndarray) -> float:
    from scipy.stats import ks_2samp  # lazy: SciPy is slow to import

    return float(ks_2samp(ref, cur).pvalue)


KS_EXACT_MAX_ROWS = 10_000  # ks_2samp's method="auto" is exact up to this many rows per side


def ks_pvalue_from_counts(keys: np.ndarray, ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """``ks_2samp(ref, cur).pvalue`` from each side's count at every distinct value (sorted keys).

    SciPy evaluates both CDFs at every sample value, so the distinct values with their
    counts carry everything it needs. Up to ``KS_EXACT_MAX_ROWS`` rows per side the
    samples are rebuilt and handed to SciPy (its exact method); above, the statistic goes
    to :func:`ks_pvalue_asymptotic`, SciPy's formula for that case.
    """
    n, m = int(ref_counts.sum()), int(cur_counts.sum())
    if max(n, m) <= KS_EXACT_MAX_ROWS:
        return ks_pvalue(np.repeat(keys, ref_counts.astype(np.int64)), np.repeat(keys, cur_counts.astype(np.int64)))
    diffs = np.cumsum(ref_counts) / n - np.cumsum(cur_counts) / m
    return ks_pvalue_asymptotic(max(float(np.max(diffs)), float(np.clip(-np.min(diffs), 0, 1))), n, m)


def ks_pvalue_asymptotic(d: float, n: int, m: int) -> float:
    """``ks_2samp``'s two-sided p-value for statistic d when a side has more than 10,000 rows."""
    from scipy.stats import kstwo  # lazy: SciPy is slow to import

    big, small = sorted([float(n), float(m)], reverse=True)
    return float(np.clip(kstwo.sf(d, np.round(big * small / (big + small))), 0, 1))


def sturges_edges(lo: float, hi: float, n: int) -> np.ndarray:
    """Bin edges of ``np.histogram_bin_edges(sample, "sturges")`` for a sample of size n in [lo, hi]."""
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5  # what NumPy does for a constant sample
        bins = 1
    else:
        # NumPy's own arithmetic: a bin width, then as many bins as fit; a width that
        # underflows to 0 (a range of a few subnormals) gives one bin.
        width = (hi - lo) / (math.log2(n) + 1.0)
        bins = math.ceil((hi - lo) / width) if width else 1
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
    keys = np.union1d(unique_sorted(ref), unique_sorted(cur))
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
    from scipy.stats import chi2  # lazy: SciPy is slow to import

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
    from scipy.stats import norm  # lazy: SciPy is slow to import

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
