"""The vectorised statistics equal the SciPy / NumPy definitions Evidently uses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats as ss
from scipy.spatial import distance

from ci_mlops.drift import stats

floats = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(floats, min_size=1, max_size=60), st.lists(floats, min_size=1, max_size=60))
def test_wasserstein_sorted_equals_scipy(a: list[float], b: list[float]) -> None:
    ours = stats.wasserstein_sorted(np.sort(np.array(a)), np.sort(np.array(b)))
    assert ours == pytest.approx(ss.wasserstein_distance(a, b), rel=1e-9, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=50), st.lists(st.integers(0, 4), min_size=1, max_size=50))
def test_wasserstein_with_many_ties(a: list[int], b: list[int]) -> None:
    ours = stats.wasserstein_sorted(np.sort(np.array(a, float)), np.sort(np.array(b, float)))
    assert ours == pytest.approx(ss.wasserstein_distance(a, b), abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(st.lists(floats, min_size=1, max_size=60), st.lists(floats, min_size=1, max_size=60), st.integers(1, 7))
@example([0.0, 1.0], [0.5, 0.5, 2.0, 3.0], 1)  # sizes in a ratio: steps of both sides end together
def test_wasserstein_in_small_blocks_and_by_merging_equals_scipy(a: list[float], b: list[float], block: int) -> None:
    # Blocks of a few values cross every boundary case the 64K blocks of real data do;
    # the merge is what sizes beyond int64 positions use.
    ref, cur = np.sort(np.array(a)), np.sort(np.array(b))
    expected = ss.wasserstein_distance(a, b)
    assert stats.wasserstein_sorted(ref, cur, block) == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert stats._wasserstein_merged(ref, cur, block) == pytest.approx(expected, rel=1e-9, abs=1e-6)


def test_wasserstein_of_large_unequal_samples_equals_scipy() -> None:
    rng = np.random.default_rng(11)
    for n, m in ((200_003, 170_000), (65_536 * 3, 65_536), (1_000, 200_000)):
        ref, cur = np.sort(rng.normal(0, 1, n)), np.sort(rng.normal(0.05, 1.2, m))
        assert stats.wasserstein_sorted(ref, cur) == pytest.approx(ss.wasserstein_distance(ref, cur), rel=1e-12)


def test_wasserstein_normed_uses_reference_std_with_floor() -> None:
    ref = np.zeros(10)
    cur = np.ones(10)
    assert stats.wasserstein_normed(ref, cur, 0.0) == pytest.approx(1 / 0.001)
    rng = np.random.default_rng(3)
    ref = np.sort(rng.normal(0, 2, 1000))
    cur = np.sort(rng.normal(1, 2, 999))
    assert stats.wasserstein_normed(ref, cur, ref.std()) == pytest.approx(ss.wasserstein_distance(ref, cur) / np.std(ref))


@settings(max_examples=100, deadline=None)
@given(st.lists(floats, min_size=1, max_size=80), st.lists(floats, min_size=1, max_size=80))
@example([0.0], [5e-324])  # a range of one subnormal: NumPy's bin width underflows to 0
def test_histogram_and_sturges_edges_match_numpy(a: list[float], b: list[float]) -> None:
    ref, cur = np.sort(np.array(a)), np.sort(np.array(b))
    pooled = np.concatenate([ref, cur])
    edges = stats.sturges_edges(float(pooled.min()), float(pooled.max()), pooled.size)
    np.testing.assert_allclose(edges, np.histogram_bin_edges(pooled, bins="sturges"))
    np.testing.assert_array_equal(stats.histogram_sorted(ref, edges), np.histogram(ref, edges)[0])
    np.testing.assert_array_equal(stats.histogram_sorted(cur, edges), np.histogram(cur, edges)[0])


def test_jensenshannon_matches_scipy_natural_log() -> None:
    p = np.array([0.5, 0.3, 0.2, 0.0])
    q = np.array([0.1, 0.3, 0.4, 0.2])
    assert stats.jensenshannon(p, q) == pytest.approx(distance.jensenshannon(p, q))
    assert stats.jensenshannon(p, p) == pytest.approx(0.0, abs=1e-12)
    # disjoint supports: the maximum, sqrt(ln 2) in natural log
    assert stats.jensenshannon(np.array([1.0, 0]), np.array([0, 1.0])) == pytest.approx(np.sqrt(np.log(2)))


def test_chisquare_matches_scipy_and_new_category_is_drift() -> None:
    ref = np.array([50.0, 30.0, 20.0])
    cur = np.array([40.0, 40.0, 40.0])
    expected = ref * cur.sum() / ref.sum()
    assert stats.chisquare_pvalue(ref, cur) == pytest.approx(ss.chisquare(cur, expected).pvalue)
    assert stats.chisquare_pvalue(np.array([10.0, 0.0]), np.array([9.0, 1.0])) == 0.0
    assert stats.chisquare_pvalue(np.array([10.0]), np.array([7.0])) == 1.0


def test_ztest_two_sided_pooled() -> None:
    ref = np.array([60.0, 40.0])  # share of the first category 0.6
    cur = np.array([40.0, 60.0])
    p1, p2, n1, n2 = 0.4, 0.6, 100, 100
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert stats.ztest_pvalue(ref, cur) == pytest.approx(2 * (1 - ss.norm.cdf(abs(z))))
    assert stats.ztest_pvalue(np.array([5.0, 0.0]), np.array([9.0, 0.0])) == 1.0  # same constant


def test_psi_fills_empty_bins_like_evidently() -> None:
    ref = np.array([0.5, 0.5, 0.0])
    cur = np.array([0.25, 0.25, 0.5])
    filled = np.array([0.5, 0.5, 0.0001])
    expected = np.sum((filled - cur) * np.log(filled / cur))
    assert stats.psi(ref, cur) == pytest.approx(expected)
    assert stats.psi(cur, cur) == pytest.approx(0.0)


def test_shares_numeric_uses_values_for_few_distinct_and_bins_above_twenty() -> None:
    ref = np.sort(np.array([1.0, 1.0, 2.0, 3.0]))
    cur = np.sort(np.array([1.0, 4.0]))
    r, c = stats.shares_numeric(ref, cur, stats.count_distinct_sorted(ref))
    np.testing.assert_allclose(r, [0.5, 0.25, 0.25, 0.0])
    np.testing.assert_allclose(c, [0.5, 0.0, 0.0, 0.5])
    ref = np.sort(np.arange(100.0))
    r, c = stats.shares_numeric(ref, ref, 100)
    assert r.size == int(np.ceil(np.log2(200) + 1)) and r.sum() == pytest.approx(1.0)


def test_ks_pvalue_is_scipys() -> None:
    rng = np.random.default_rng(0)
    a, b = np.sort(rng.normal(size=300)), np.sort(rng.normal(0.3, 1, 400))
    assert stats.ks_pvalue(a, b) == pytest.approx(ss.ks_2samp(a, b).pvalue)
