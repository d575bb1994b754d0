"""Every engine's verdicts and statistics against an independent reference of Evidently's defaults.

Evidently needs pandas < 3 and cannot live in this environment (benchmarks/bench_drift.py
compares with Evidently 0.7 itself, in its own venv). This reference re-implements the
defaults of Evidently's DataDriftPreset, as its documentation and source state them, with
plain pandas and SciPy calls and none of ci-mlops' code:

* column kind: float -> numeric; integer -> categorical with <= 10 distinct values, else
  numeric; strings and booleans -> categorical;
* test: reference <= 1000 rows: K-S (numeric, > 5 values), chi-squared (> 2 values),
  proportions z-test (binary); larger: normed Wasserstein (numeric, > 5 values), else
  Jensen-Shannon distance (over Sturges bins when numeric with > 20 reference values);
* drift: K-S p <= 0.05, chi-squared / z-test p < 0.05, distances >= 0.1.

Tolerance: every verdict equal; every statistic within 1e-9 relative (1e-12 absolute):
the engines sum in another order than SciPy, nothing else differs.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as ss
from scipy.spatial.distance import jensenshannon

from ci_mlops.drift import detect_drift
from ci_mlops.drift.stream import detect_drift_files

REL, ABS = 1e-9, 1e-12


def evidently_reference(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, tuple[str, float, bool]]:
    """column -> (test, statistic, drifted), Evidently's way."""
    out = {}
    for name in ref.columns:
        r, c = ref[name].dropna(), cur[name].dropna()
        if pd.api.types.is_float_dtype(r):
            r, c = r[np.isfinite(r)], c[np.isfinite(c)]
        numeric = pd.api.types.is_float_dtype(ref[name]) or (
            pd.api.types.is_integer_dtype(ref[name]) and ref[name].nunique() > 10)
        n_values = pd.concat([r, c]).nunique()
        if len(r) <= 1000:
            if numeric and n_values > 5:
                p = ss.ks_2samp(r, c).pvalue
                out[name] = ("ks", p, p <= 0.05)
            elif n_values > 2:
                keys = sorted(set(r) | set(c))
                observed = c.value_counts().reindex(keys, fill_value=0).to_numpy(float)
                expected = r.value_counts().reindex(keys, fill_value=0).to_numpy(float) * len(c) / len(r)
                if np.any((expected == 0) & (observed > 0)):
                    p = 0.0
                else:
                    keep = expected > 0
                    p = ss.chisquare(observed[keep], expected[keep], ddof=keep.sum() - len(keys)).pvalue
                out[name] = ("chisquare", p, p < 0.05)
            else:
                first = sorted(set(r) | set(c))[0]
                p1, p2 = (r != first).mean(), (c != first).mean()
                pooled = (p1 * len(r) + p2 * len(c)) / (len(r) + len(c))
                z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / len(r) + 1 / len(c)))
                p = 2 * ss.norm.sf(abs(z))
                out[name] = ("ztest", p, p < 0.05)
        elif numeric and n_values > 5:
            score = ss.wasserstein_distance(r, c) / max(np.std(r), 0.001)
            out[name] = ("wasserstein", score, score >= 0.1)
        else:
            if numeric and r.nunique() > 20:
                edges = np.histogram_bin_edges(pd.concat([r, c]), bins="sturges")
                p, q = np.histogram(r, edges)[0] / len(r), np.histogram(c, edges)[0] / len(c)
            else:
                keys = sorted(set(r) | set(c))
                p = r.value_counts().reindex(keys, fill_value=0).to_numpy() / len(r)
                q = c.value_counts().reindex(keys, fill_value=0).to_numpy() / len(c)
            score = jensenshannon(p, q)
            out[name] = ("jensenshannon", score, score >= 0.1)
    return out


def known_shifts(rows: int, seed: int, shifted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    s = 1.0 if shifted else 0.0
    income = rng.lognormal(10 + 0.25 * s, 0.6, rows)
    income[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame({
        "mean_shift": rng.normal(0.4 * s, 1, rows),               # drifted
        "variance": rng.normal(5, 1 + 0.6 * s, rows),             # drifted
        "tiny_shift": rng.normal(0.02 * s, 1, rows),              # not drifted
        "stable": rng.uniform(0, 100, rows),                      # not drifted
        "income": income,                                         # drifted, with missing values
        "score_bins": np.round(rng.beta(2 + 2 * s, 5, rows), 2),  # numeric, ties
        "rating": rng.choice([1.0, 2.0, 3.0, 4.0], rows, p=[0.1, 0.2, 0.3, 0.4][::(-1 if shifted else 1)]),
        "age": rng.integers(18, 90, rows),                        # integer, numeric (> 10 values)
        "children": rng.integers(0, 4, rows),                     # integer, categorical
        "plan": rng.choice(["free", "pro", "team"] + (["enterprise"] if shifted else []), rows),
        "country": rng.choice(["de", "fr", "it", "es"], rows),    # not drifted
        "churned": rng.random(rows) < (0.35 if shifted else 0.2),
    })


@pytest.mark.parametrize(("rows", "tests"), [
    (4000, {"wasserstein", "jensenshannon"}),
    (600, {"ks", "chisquare", "ztest"}),
])
@pytest.mark.parametrize("engine", ["pandas", "python", "duckdb"])
def test_every_column_agrees_with_the_reference(rows: int, tests: set[str], engine: str, tmp_path: Path) -> None:
    ref, cur = known_shifts(rows, 1, False), known_shifts(rows + 37, 2, True)
    expected = evidently_reference(ref, cur)
    if engine == "pandas":
        result = detect_drift(ref, cur)
    else:
        ref.to_parquet(tmp_path / "r.parquet", index=False)
        cur.to_parquet(tmp_path / "c.parquet", index=False)
        if engine == "python":
            result = detect_drift_files(str(tmp_path / "r.parquet"), str(tmp_path / "c.parquet"), columns=[],
                                        progress=False)
        else:
            sql = pytest.importorskip("ci_mlops.drift.sql")
            pytest.importorskip("duckdb")
            result = sql.detect_drift_duckdb(str(tmp_path / "r.parquet"), str(tmp_path / "c.parquet"), columns=[],
                                             progress=False)
    got = {c["name"]: (c["test"], c["statistic"], c["drifted"]) for c in result["columns"]}
    assert got.keys() == expected.keys()
    for name, (test, statistic, drifted) in expected.items():
        assert got[name][0] == test, name
        assert got[name][2] == drifted, (name, got[name], statistic)
        assert math.isclose(got[name][1], statistic, rel_tol=REL, abs_tol=ABS), (name, got[name][1], statistic)
    assert {t for t, _, _ in expected.values()} == tests
    # The planted shifts are what the verdicts say (at 600 rows the tests are p-values, noisier).
    if rows > 1000:
        drifted = {n for n, (_, _, d) in expected.items() if d}
        assert drifted == {"mean_shift", "variance", "income", "score_bins", "rating", "plan", "churned"}
