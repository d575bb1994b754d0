"""The resampling counts are completed in one draw for all rows, with the numbers of a draw per row."""

from __future__ import annotations

import numpy as np
import pytest

from ci_mlops.significance.bootstrap import _counts, _poisson_rows


def _counts_row_by_row(rng: np.random.Generator, size: int, n: int) -> np.ndarray:
    """The completion as first written: one ``integers`` draw and one ``unique`` per row."""
    counts = np.empty((size, n), dtype=np.uint16)
    pending = np.arange(size)
    while len(pending):
        counts[pending] = _poisson_rows(rng, len(pending), n)
        totals = counts[pending].sum(axis=1, dtype=np.int64)
        for row, total in zip(pending[totals <= n], totals[totals <= n], strict=True):
            if total < n:
                cells, times = np.unique(rng.integers(0, n, n - total), return_counts=True)
                counts[row, cells] += times.astype(np.uint16)
        pending = pending[totals > n]
    return counts


# Small n: a few percent of the rows pass n and are drawn again, so several rounds complete rows.
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 100, 1000, 65_537])
@pytest.mark.parametrize("seed", [0, 3])
def test_counts_equal_the_row_by_row_completion(n, seed):
    size = max(2, min(1000, 300_000 // n))
    fast, slow = np.random.default_rng(seed), np.random.default_rng(seed)
    got = _counts(fast, size, n)
    assert np.array_equal(got, _counts_row_by_row(slow, size, n))
    assert got.dtype == np.uint16
    assert fast.bit_generator.state == slow.bit_generator.state  # the stream is where the next block expects it

