"""One numeric column on both sides, as the questions the drift tests ask of it.

The engine picks a test and reads the answer from a :class:`NumericPair`; how the
answer is computed is the backend's business. :class:`SortedPair` holds the two
samples as sorted NumPy arrays (the in-process engines); the DuckDB engine answers
the same questions with SQL where the data is (:mod:`ci_mlops.drift.sql`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ci_mlops.drift import stats


class NumericPair(Protocol):
    """Exact answers about a numeric column's reference and current samples (missing values dropped)."""

    ref_present: int
    cur_present: int
    ref_distinct: int
    cur_distinct: int
    ref_mean: float
    cur_mean: float
    ref_std: float
    ref_min: float
    ref_max: float
    cur_min: float
    cur_max: float

    def wasserstein(self) -> float:
        """The first Wasserstein distance between the two samples."""

    def ks_pvalue(self) -> float:
        """The two-sided ``scipy.stats.ks_2samp`` p-value."""

    def value_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every distinct value of either side (sorted) and each side's count of it."""

    def bin_counts(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``np.histogram(side, edges)[0]`` for each side (the last bin includes its right edge)."""

    def below(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How many values of each side are below each edge."""

    def order_stats(self, ref_indices: list[int], cur_indices: list[int]) -> tuple[list[float], list[float]]:
        """The values at 0-based positions of each sorted side."""


class SortedPair:
    """A :class:`NumericPair` over two sorted float64 arrays without NaN or infinities."""

    def __init__(self, ref: np.ndarray, cur: np.ndarray) -> None:
        self.ref, self.cur = ref, cur
        self.ref_present, self.cur_present = int(ref.size), int(cur.size)
        if ref.size == 0 or cur.size == 0:
            return
        self.ref_distinct = stats.count_distinct_sorted(ref)
        self.cur_distinct = stats.count_distinct_sorted(cur)
        self.ref_mean, self.cur_mean = float(ref.mean()), float(cur.mean())
        self.ref_std = stats.std_sorted(ref)
        self.ref_min, self.ref_max = float(ref[0]), float(ref[-1])
        self.cur_min, self.cur_max = float(cur[0]), float(cur[-1])

    def wasserstein(self) -> float:
        return stats.wasserstein_sorted(self.ref, self.cur)

    def ks_pvalue(self) -> float:
        return stats.ks_pvalue(self.ref, self.cur)

    def value_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        keys = np.union1d(stats.unique_sorted(self.ref), stats.unique_sorted(self.cur))
        return keys, stats._counts_at(self.ref, keys), stats._counts_at(self.cur, keys)

    def bin_counts(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return stats.histogram_sorted(self.ref, edges), stats.histogram_sorted(self.cur, edges)

    def below(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.searchsorted(self.ref, edges, side="left"), np.searchsorted(self.cur, edges, side="left")

    def order_stats(self, ref_indices: list[int], cur_indices: list[int]) -> tuple[list[float], list[float]]:
        return [float(self.ref[i]) for i in ref_indices], [float(self.cur[i]) for i in cur_indices]
