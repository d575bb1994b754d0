"""Verdicts on synthetic data with known shifts, test selection, and the awkward columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ci_mlops.drift import default_test, detect_drift
from ci_mlops.errors import UserError

N = 100_000


def _by_name(result: dict) -> dict[str, dict]:
    return {c["name"]: c for c in result["columns"]}


@pytest.fixture(scope="module")
def large() -> dict:
    rng = np.random.default_rng(20240601)
    ref = pd.DataFrame({
        "mean_shift": rng.normal(0, 1, N), "variance": rng.normal(5, 1, N),
        "stable_num": rng.normal(10, 3, N), "stable_skewed": rng.lognormal(0, 1, N),
        "mix": rng.choice(["a", "b", "c"], N, p=[0.5, 0.3, 0.2]),
        "stable_cat": rng.choice(["x", "y", "z", "w"], N, p=[0.4, 0.3, 0.2, 0.1]),
        "stable_int": rng.integers(0, 200, N), "stable_flag": rng.integers(0, 2, N),
    })
    cur = pd.DataFrame({
        "mean_shift": rng.normal(0.3, 1, N), "variance": rng.normal(5, 1.6, N),
        "stable_num": rng.normal(10, 3, N), "stable_skewed": rng.lognormal(0, 1, N),
        "mix": rng.choice(["a", "b", "c"], N, p=[0.3, 0.3, 0.4]),
        "stable_cat": rng.choice(["x", "y", "z", "w"], N, p=[0.4, 0.3, 0.2, 0.1]),
        "stable_int": rng.integers(0, 200, N), "stable_flag": rng.integers(0, 2, N),
    })
    return detect_drift(ref, cur)


def test_shifted_columns_are_flagged(large: dict) -> None:
    cols = _by_name(large)
    for name in ("mean_shift", "variance", "mix"):
        assert cols[name]["drifted"], cols[name]
    assert cols["mean_shift"]["test"] == "wasserstein" and cols["mix"]["test"] == "jensenshannon"


def test_unshifted_columns_at_100k_rows_are_not_flagged(large: dict) -> None:
    cols = _by_name(large)
    for name in ("stable_num", "stable_skewed", "stable_cat", "stable_int", "stable_flag"):
        assert cols[name]["drifted"] is False, cols[name]
        assert cols[name]["statistic"] < 0.05
    assert cols["stable_int"]["type"] == "numeric" and cols["stable_flag"]["type"] == "categorical"


def test_dataset_verdict_uses_the_share(large: dict) -> None:
    assert large["drifted_columns"] == 3 and large["compared_columns"] == 8
    assert large["share_drifted"] == pytest.approx(3 / 8)
    assert large["dataset_drift"] is False


def test_drift_share_threshold_is_inclusive() -> None:
    ref = pd.DataFrame({"a": np.arange(2000.0), "b": np.arange(2000.0)})
    cur = pd.DataFrame({"a": np.arange(2000.0) + 1000, "b": np.arange(2000.0)})
    assert detect_drift(ref, cur, drift_share=0.5)["dataset_drift"] is True
    assert detect_drift(ref, cur, drift_share=0.51)["dataset_drift"] is False


def test_small_reference_uses_ks_chisquare_and_ztest() -> None:
    rng = np.random.default_rng(7)
    n = 500
    ref = pd.DataFrame({"num": rng.normal(0, 1, n), "cat": rng.choice(list("abc"), n, p=[0.6, 0.3, 0.1]),
                        "flag": rng.choice(["yes", "no"], n, p=[0.5, 0.5]), "same": rng.normal(0, 1, n)})
    cur = pd.DataFrame({"num": rng.normal(0.5, 1, n), "cat": rng.choice(list("abc"), n, p=[0.3, 0.3, 0.4]),
                        "flag": rng.choice(["yes", "no"], n, p=[0.75, 0.25]), "same": rng.normal(0, 1, n)})
    cols = _by_name(detect_drift(ref, cur))
    assert [cols[c]["test"] for c in ("num", "cat", "flag", "same")] == ["ks", "chisquare", "ztest", "ks"]
    assert cols["num"]["drifted"] and cols["cat"]["drifted"] and cols["flag"]["drifted"]
    assert not cols["same"]["drifted"]
    assert cols["num"]["score"] == "p_value" and cols["num"]["threshold"] == 0.05


@pytest.mark.parametrize(("kind", "rows", "values", "test"), [
    ("numeric", 1000, 6, "ks"), ("numeric", 1001, 6, "wasserstein"), ("numeric", 1000, 5, "chisquare"),
    ("numeric", 1000, 2, "ztest"), ("numeric", 5000, 2, "jensenshannon"), ("categorical", 1000, 3, "chisquare"),
    ("categorical", 1001, 2, "jensenshannon"), ("categorical", 10, 1, "ztest"),
])
def test_default_test_table(kind: str, rows: int, values: int, test: str) -> None:
    assert default_test(kind, rows, values) == test


def test_overrides_pick_test_and_threshold() -> None:
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"a": rng.normal(0, 1, 5000)})
    cur = pd.DataFrame({"a": rng.normal(0.05, 1, 5000)})
    loose = _by_name(detect_drift(ref, cur))["a"]
    assert not loose["drifted"]
    strict = _by_name(detect_drift(ref, cur, tests={"a": {"threshold": 0.01}}))["a"]
    assert strict["drifted"] and strict["threshold"] == 0.01
    ks = _by_name(detect_drift(ref, cur, tests={"a": {"test": "ks"}}))["a"]
    assert ks["test"] == "ks" and ks["score"] == "p_value"
    psi = _by_name(detect_drift(ref, cur, tests={"a": {"test": "psi", "threshold": 0.2}}))["a"]
    assert psi["test"] == "psi" and psi["drifted"] is False


def test_missing_values_new_categories_and_constants_are_reported() -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0] * 300,
                        "c": ["a", "b", None, "a", "b", "a", "b"] * 300,
                        "k": [3.0] * 2100})
    cur = pd.DataFrame({"x": [1.0, 2.0, 3.0, np.inf, 5.0, 6.0, 7.0] * 300,
                        "c": ["a", "b", "new", "a", "b", "other", "b"] * 300,
                        "k": [3.0] * 2100})
    result = detect_drift(ref, cur)
    cols = _by_name(result)
    assert cols["x"]["reference_missing"] == 300 and cols["x"]["current_missing"] == 300  # inf counts as missing
    assert any("missing" in n and "reference" in n for n in cols["x"]["notes"])
    assert cols["c"]["new_categories"] == ["new", "other"] and cols["c"]["new_category_rows"] == 600
    assert cols["c"]["drifted"]
    assert "constant in the reference" in cols["k"]["notes"] and cols["k"]["drifted"] is False


def test_one_sided_and_uncomparable_columns_are_listed() -> None:
    ref = pd.DataFrame({"a": np.arange(100.0), "gone": 1.0, "id": [f"u{i}" for i in range(100)],
                        "when": pd.date_range("2024-01-01", periods=100)})
    cur = pd.DataFrame({"a": np.arange(100.0), "fresh": 2.0, "id": [f"v{i}" for i in range(100)],
                        "when": pd.date_range("2024-06-01", periods=100)})
    result = detect_drift(ref, cur)
    assert result["only_in_reference"] == ["gone"] and result["only_in_current"] == ["fresh"]
    assert {s["name"]: s["type"] for s in result["skipped"]} == {"id": "text", "when": "datetime"}
    assert [c["name"] for c in result["columns"]] == ["a"]


@pytest.mark.parametrize(("ref", "cur", "kwargs", "message"), [
    ({"a": [1.0]}, {"b": [1.0]}, {}, "no common columns"),
    ({"a": []}, {"a": [1.0]}, {}, "reference data has no rows"),
    ({"a": [1.0]}, {"a": [np.nan, np.nan]}, {}, "no values in the current data"),
    ({"a": [1.0]}, {"a": [1.0]}, {"drift_share": 1.5}, "out of range"),
    ({"a": [1.0]}, {"a": [1.0]}, {"drift_share": 0}, "out of range"),
    ({"a": [1.0]}, {"a": [1.0]}, {"tests": {"a": {"test": "ks", "threshold": 5}}}, "out of range for a p-value"),
    ({"a": [1.0]}, {"a": [1.0]}, {"tests": {"a": {"threshold": -1}}}, "out of range"),
    ({"a": ["x", "y", "x", "x"]}, {"a": ["x", "x", "y", "x"]}, {"tests": {"a": {"test": "wasserstein"}}}, "needs a numeric column"),
    ({"a": [1.0, 2.5]}, {"a": ["x", "y"]}, {}, "non-numeric values"),
    ({"a": [1.0]}, {"a": [1.0]}, {"columns": ["zz"]}, "column 'zz' is not in the reference or current"),
    ({"id": ["a", "b"]}, {"id": ["c", "d"]}, {}, "none of the columns can be compared"),
])
def test_bad_input_is_one_user_error(ref: dict, cur: dict, kwargs: dict, message: str) -> None:
    with pytest.raises(UserError) as err:
        detect_drift(pd.DataFrame(ref), pd.DataFrame(cur), **kwargs)
    assert message in err.value.message and "\n" not in err.value.message


def test_threads_do_not_change_results(large: dict) -> None:
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({f"c{i}": rng.normal(0, 1, 3000) for i in range(6)})
    cur = pd.DataFrame({f"c{i}": rng.normal(i * 0.05, 1, 3000) for i in range(6)})
    assert detect_drift(ref, cur, workers=1) == detect_drift(ref, cur, workers=4)
