"""Per-column drift verdicts and the dataset verdict.

The test for each column is chosen the way Evidently's ``DataDriftPreset`` chooses it
(see :mod:`ci_mlops.drift.stats` for the definitions):

============================  ==========================  ==========================
column                        reference <= 1000 rows      reference > 1000 rows
============================  ==========================  ==========================
numeric, > 5 distinct values  Kolmogorov-Smirnov p<=0.05  Wasserstein/std >= 0.1
numeric <= 5 / categorical    chi-squared p < 0.05        Jensen-Shannon >= 0.1
binary (<= 2 values)          proportions z-test p<0.05   Jensen-Shannon >= 0.1
============================  ==========================  ==========================

Distinct values are counted over both samples together; rows are counted after
dropping missing values (NaN, None, +-inf), which are reported separately. Columns
are compared in a small thread pool: NumPy's sort and search release the GIL.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ci_mlops.config.records import Drift
from ci_mlops.drift import stats
from ci_mlops.drift.columns import COMPARABLE, NUMERIC, infer_kind, is_numeric_dtype
from ci_mlops.drift.pairs import NumericPair, SortedPair
from ci_mlops.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

    from ci_mlops.drift.records import (
        Categories,
        ColumnDrift,
        ColumnExtras,
        ColumnResult,
        DriftResult,
        Histogram,
        Psi,
        SkippedColumn,
        UncomparedColumn,
    )

SMALL_REFERENCE_ROWS = 1000
FEW_VALUES = 5
DEFAULT_DRIFT_SHARE = Drift.drift_share

# test name -> (what the statistic is, default threshold, readable name)
TESTS: dict[str, tuple[str, float, str]] = {
    "ks": ("p_value", 0.05, "Kolmogorov-Smirnov p-value"),
    "chisquare": ("p_value", 0.05, "chi-squared p-value"),
    "ztest": ("p_value", 0.05, "proportions z-test p-value"),
    "wasserstein": ("distance", 0.1, "Wasserstein distance (normed)"),
    "jensenshannon": ("distance", 0.1, "Jensen-Shannon distance"),
    "psi": ("distance", 0.1, "PSI"),
}
NUMERIC_ONLY = ("ks", "wasserstein")
HISTOGRAM_BINS = 10
TOP_CATEGORIES = 8
SHOWN_NEW_CATEGORIES = 10


@dataclass
class Sample:
    """One side of a column, cleaned: sorted finite floats, or category counts."""

    rows: int
    missing: int
    values: np.ndarray | None = None  # numeric: sorted, finite
    counts: dict[Any, int] | None = None  # categorical: value -> count

    @property
    def present(self) -> int:
        return self.rows - self.missing


def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: list[str] | None = None,
    exclude: list[str] | tuple[str, ...] = (),
    drift_share: float = DEFAULT_DRIFT_SHARE,
    tests: dict[str, dict[str, Any]] | None = None,
    psi: bool = False,
    workers: int | None = None,
) -> DriftResult:
    """Compare ``current`` with ``reference`` column by column; a JSON-ready result.

    ``columns`` limits the comparison (each must exist on both sides); by default every
    common column except ``exclude``. ``tests`` maps a column to ``{"test", "threshold"}``
    overrides. Raises :class:`UserError` for input that cannot be compared.
    """
    tests = tests or {}
    check_request(drift_share, tests)
    if reference.shape[0] == 0:
        raise UserError("the reference data has no rows")
    if current.shape[0] == 0:
        raise UserError("the current data has no rows")
    ref_cols, cur_cols = [str(c) for c in reference.columns], [str(c) for c in current.columns]
    only_ref = [c for c in ref_cols if c not in cur_cols and c not in exclude]
    only_cur = [c for c in cur_cols if c not in ref_cols and c not in exclude]
    if columns:
        for name in columns:
            where = [side for side, cols in (("reference", ref_cols), ("current", cur_cols)) if name not in cols]
            if where:
                raise UserError(f"column '{name}' is not in the {' or '.join(where)} data")
        wanted = [c for c in columns if c not in exclude]
        only_ref = only_cur = []
    else:
        wanted = [c for c in ref_cols if c in cur_cols and c not in exclude]
    if not wanted:
        raise UserError(
            "no common columns to compare (reference: "
            f"{_shown(ref_cols)}; current: {_shown(cur_cols)})"
        )

    def one(name: str) -> ColumnResult:
        return compare_column(name, reference[name], current[name], override=tests.get(name), psi=psi)

    workers = workers or min(4, os.cpu_count() or 1)
    if workers > 1 and len(wanted) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, wanted))
    else:
        results = [one(name) for name in wanted]
    return summarise(results, drift_share=drift_share, reference_rows=int(reference.shape[0]),
                     current_rows=int(current.shape[0]), only_in_reference=only_ref, only_in_current=only_cur)


def check_request(drift_share: float, tests: dict[str, dict[str, Any]]) -> None:
    """One-line errors for a drift share or per-column overrides that cannot be used."""
    if not 0 < drift_share <= 1:
        raise UserError(f"drift share {drift_share} is out of range (it is a share of columns, in (0, 1])")
    for name, override in tests.items():
        _check_override(name, override)


def summarise(results: list[ColumnResult], *, drift_share: float, reference_rows: int, current_rows: int,
              only_in_reference: list[str], only_in_current: list[str]) -> DriftResult:
    """The dataset verdict and the JSON document from the per-column results."""
    compared = [r for r in results if r["drifted"] is not None]
    skipped: list[SkippedColumn] = [{"name": r["name"], "type": r["type"], "reason": r["notes"][0]}
                                    for r in results if r["drifted"] is None]
    if not compared:
        raise UserError("none of the columns can be compared: " + "; ".join(f"{s['name']}: {s['reason']}" for s in skipped))
    drifted = sum(1 for r in compared if r["drifted"])
    share = drifted / len(compared)
    return {
        "dataset_drift": share >= drift_share,
        "share_drifted": share,
        "drift_share": drift_share,
        "drifted_columns": drifted,
        "compared_columns": len(compared),
        "reference_rows": reference_rows,
        "current_rows": current_rows,
        "columns": compared,
        "skipped": skipped,
        "only_in_reference": only_in_reference,
        "only_in_current": only_in_current,
    }


def compare_column(
    name: str,
    reference: pd.Series,
    current: pd.Series,
    *,
    override: dict[str, Any] | None = None,
    psi: bool = False,
) -> ColumnResult:
    """The verdict for one column (``drifted`` is None when it cannot be compared)."""
    kind = infer_kind(reference)
    if kind not in COMPARABLE:
        return skipped_column(name, kind, str(reference.dtype))
    if kind == NUMERIC and not is_numeric_dtype(current):
        raise UserError(f"column '{name}' is numeric in the reference but has non-numeric values "
                        f"({current.dtype}) in the current data")
    ref = _sample(reference, kind)
    cur = _sample(current, kind)
    if kind == NUMERIC:
        assert ref.values is not None and cur.values is not None  # _sample keeps values of a numeric column
        return judge(name, kind, ref_rows=ref.rows, cur_rows=cur.rows,
                     pair=SortedPair(ref.values, cur.values), override=override, psi=psi)
    return judge(name, kind, ref_rows=ref.rows, cur_rows=cur.rows, ref_counts=ref.counts, cur_counts=cur.counts,
                 override=override, psi=psi)


def skipped_column(name: str, kind: str, type_name: str) -> UncomparedColumn:
    """The result of a column that is not compared, with the reason."""
    reason = {"text": "looks like free text or ids (more than half the values are distinct)",
              "datetime": "dates and times are not compared",
              }.get(kind, f"values of type {type_name} are not compared")
    return {"name": name, "type": kind, "test": None, "statistic": None, "threshold": None,
            "drifted": None, "notes": [reason]}


def judge(
    name: str,
    kind: str,
    *,
    ref_rows: int,
    cur_rows: int,
    pair: NumericPair | None = None,
    ref_counts: dict[Any, int] | None = None,
    cur_counts: dict[Any, int] | None = None,
    override: dict[str, Any] | None = None,
    psi: bool = False,
) -> ColumnDrift:
    """The verdict for a comparable column, from a numeric pair or the categories' counts.

    Every engine ends here, so test choice, thresholds and notes are the same whichever
    engine computed the statistics.
    """
    override = override or {}
    if pair is not None:
        ref_present, cur_present = pair.ref_present, pair.cur_present
    else:
        assert ref_counts is not None and cur_counts is not None
        ref_present, cur_present = sum(ref_counts.values()), sum(cur_counts.values())
    for side, present in (("reference", ref_present), ("current", cur_present)):
        if present == 0:
            raise UserError(f"column '{name}' has no values in the {side} data (all missing); "
                            "exclude it with drift.exclude or --exclude")
    ref_missing, cur_missing = ref_rows - ref_present, cur_rows - cur_present

    if pair is not None:
        ref_distinct, cur_distinct = pair.ref_distinct, pair.cur_distinct
        few = ref_distinct <= FEW_VALUES and cur_distinct <= FEW_VALUES
        values = pair.value_counts() if few else None
        n_values = int(values[0].size) if values is not None else FEW_VALUES + 1
    else:
        assert ref_counts is not None and cur_counts is not None
        keys = _sorted_keys(set(ref_counts) | set(cur_counts))
        ref_distinct, cur_distinct = len(ref_counts), len(cur_counts)
        n_values = len(keys)

    test = override.get("test") or default_test(kind, ref_present, n_values)
    if test in NUMERIC_ONLY and kind != NUMERIC:
        raise UserError(f"drift.tests.{name}.test: '{test}' needs a numeric column, '{name}' is {kind}")
    score, default_threshold, _ = TESTS[test]
    threshold = float(override["threshold"]) if override.get("threshold") is not None else default_threshold

    notes: list[str] = []
    extras: ColumnExtras = {}
    distribution: Histogram | Categories
    if pair is not None:
        statistic, psi_value = _numeric(pair, test, psi, values)
        distribution = _numeric_distribution(pair)
        extras["reference_mean"] = pair.ref_mean
        extras["current_mean"] = pair.cur_mean
    else:
        assert ref_counts is not None and cur_counts is not None
        ref_array = np.array([ref_counts.get(k, 0) for k in keys], dtype=np.float64)
        cur_array = np.array([cur_counts.get(k, 0) for k in keys], dtype=np.float64)
        statistic, psi_value = _categorical(ref_array, cur_array, test, psi)
        distribution = _category_distribution(keys, ref_array, cur_array)
        new = [k for k in keys if k not in ref_counts]
        if new:
            new_rows = int(sum(cur_counts[k] for k in new))
            extras["new_categories"] = [_plain(k) for k in new[:SHOWN_NEW_CATEGORIES]]
            extras["new_category_count"] = len(new)
            extras["new_category_rows"] = new_rows
            notes.append(f"{len(new)} new categor{'y' if len(new) == 1 else 'ies'} not in the reference "
                         f"({_pct(new_rows / cur_present)} of current rows): "
                         + ", ".join(repr(_plain(k)) for k in new[:SHOWN_NEW_CATEGORIES])
                         + (", ..." if len(new) > SHOWN_NEW_CATEGORIES else ""))
    drifted = bool(statistic <= threshold if test == "ks" else
                   statistic < threshold if score == "p_value" else statistic >= threshold)
    with_psi: Psi = {"psi": psi_value} if psi_value is not None else {}
    # The keys in the order the JSON has always had them: the notes (a list still filled below)
    # before the counts, the kind's extras, the PSI and the distribution last.
    result: ColumnDrift = {
        "name": name, "type": kind, "test": test, "statistic": statistic, "threshold": threshold,
        "drifted": drifted, "notes": notes, "score": score,
        "reference_rows": ref_present, "current_rows": cur_present,
        "reference_missing": ref_missing, "current_missing": cur_missing,
        "reference_distinct": ref_distinct, "current_distinct": cur_distinct,
        **extras, **with_psi, "distribution": distribution,
    }

    if ref_distinct == 1:
        notes.append("constant in the reference")
    if cur_distinct == 1 and ref_distinct != 1:
        notes.append("constant in the current data")
    for side, missing, rows in (("reference", ref_missing, ref_rows), ("current", cur_missing, cur_rows)):
        if missing:
            notes.append(f"{missing} missing value{'s' if missing != 1 else ''} "
                         f"({_pct(missing / rows)}) in the {side} data")
    return result


def default_test(kind: str, reference_rows: int, n_values: int) -> str:
    """Evidently's default test for a column kind, reference size and number of distinct values."""
    small = reference_rows <= SMALL_REFERENCE_ROWS
    if kind == NUMERIC and n_values > FEW_VALUES:
        return "ks" if small else "wasserstein"
    if small:
        return "chisquare" if n_values > 2 else "ztest"
    return "jensenshannon"


# -- per kind ---------------------------------------------------------------------------------


def _sample(series: pd.Series, kind: str) -> Sample:
    rows = int(series.shape[0])
    if kind == NUMERIC:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        mask = np.isfinite(values)
        finite = np.sort(values) if mask.all() else np.sort(values[mask])
        return Sample(rows=rows, missing=rows - finite.size, values=finite)
    if series.dtype.kind == "f":  # a float column with few values: infinities count as missing
        series = series.where(np.isfinite(series.to_numpy(dtype=np.float64, na_value=np.nan)))
    counts = series.value_counts(dropna=True, sort=False)
    table = {key: int(n) for key, n in zip(counts.index.tolist(), counts.to_numpy().tolist()) if n}
    return Sample(rows=rows, missing=rows - sum(table.values()), counts=table)


def _numeric(pair: NumericPair, test: str, want_psi: bool,
             values: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> tuple[float, float | None]:
    if test == "ks":
        statistic = pair.ks_pvalue()
    elif test == "wasserstein":
        statistic = pair.wasserstein() / max(pair.ref_std, stats.WASSERSTEIN_MIN_NORM)
    elif test in ("chisquare", "ztest"):
        _, ref_counts, cur_counts = values if values is not None else pair.value_counts()
        ref_counts, cur_counts = ref_counts.astype(np.float64), cur_counts.astype(np.float64)
        statistic = (stats.chisquare_pvalue(ref_counts, cur_counts) if test == "chisquare"
                     else stats.ztest_pvalue(ref_counts, cur_counts))
    else:
        ref_shares, cur_shares = _numeric_shares(pair, values)
        statistic = stats.psi(ref_shares, cur_shares) if test == "psi" else stats.jensenshannon(ref_shares, cur_shares)
    psi_value = None
    if want_psi:
        psi_value = statistic if test == "psi" else stats.psi(*_numeric_shares(pair, values))
    return float(statistic), psi_value


def _numeric_shares(pair: NumericPair, values: tuple[np.ndarray, np.ndarray, np.ndarray] | None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Shares per Sturges bin of the pooled range (over 20 distinct reference values), else per value."""
    n, m = pair.ref_present, pair.cur_present
    if pair.ref_distinct > stats.JS_NUMERIC_BINNING_MIN_DISTINCT:
        edges = stats.sturges_edges(min(pair.ref_min, pair.cur_min), max(pair.ref_max, pair.cur_max), n + m)
        ref_counts, cur_counts = pair.bin_counts(edges)
    else:
        _, ref_counts, cur_counts = values if values is not None else pair.value_counts()
    return ref_counts / n, cur_counts / m


def _categorical(ref_counts: np.ndarray, cur_counts: np.ndarray, test: str,
                 want_psi: bool) -> tuple[float, float | None]:
    ref_shares = ref_counts / ref_counts.sum()
    cur_shares = cur_counts / cur_counts.sum()
    if test == "chisquare":
        statistic = stats.chisquare_pvalue(ref_counts, cur_counts)
    elif test == "ztest":
        statistic = stats.ztest_pvalue(ref_counts, cur_counts)
    elif test == "psi":
        statistic = stats.psi(ref_shares, cur_shares)
    else:
        statistic = stats.jensenshannon(ref_shares, cur_shares)
    psi_value = None
    if want_psi:
        psi_value = statistic if test == "psi" else stats.psi(ref_shares, cur_shares)
    return float(statistic), psi_value


def _numeric_distribution(pair: NumericPair) -> Histogram:
    """Shares in equal-width bins over the 1st-99th percentile range; outliers fall in the end bins."""
    n, m = pair.ref_present, pair.cur_present
    (ref_lo, ref_hi), (cur_lo, cur_hi) = pair.order_stats([int(0.01 * (n - 1)), int(0.99 * (n - 1))],
                                                          [int(0.01 * (m - 1)), int(0.99 * (m - 1))])
    lo, hi = min(ref_lo, cur_lo), max(ref_hi, cur_hi)
    if hi <= lo:
        lo, hi = min(pair.ref_min, pair.cur_min), max(pair.ref_max, pair.cur_max)
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, HISTOGRAM_BINS + 1)
    ref_below, cur_below = pair.below(edges[1:-1])

    def shares(below: np.ndarray, size: int) -> list[float]:
        values: list[float] = (np.diff(np.concatenate([[0], below, [size]])) / size).tolist()
        return values

    return {"kind": "histogram", "edges": edges.tolist(), "reference": shares(ref_below, n),
            "current": shares(cur_below, m)}


def _category_distribution(keys: list[Any], ref_counts: np.ndarray, cur_counts: np.ndarray) -> Categories:
    """Shares of the most frequent categories (on either side); the rest summed as 'other'."""
    ref_shares = ref_counts / ref_counts.sum()
    cur_shares = cur_counts / cur_counts.sum()
    order = np.argsort(-np.maximum(ref_shares, cur_shares), kind="stable")[:TOP_CATEGORIES]
    labels = [str(_plain(keys[i])) for i in order]
    ref_top, cur_top = ref_shares[order].tolist(), cur_shares[order].tolist()
    if len(keys) > TOP_CATEGORIES:
        labels.append("other")
        ref_top.append(max(0.0, 1.0 - sum(ref_top)))
        cur_top.append(max(0.0, 1.0 - sum(cur_top)))
    return {"kind": "categories", "labels": labels, "reference": ref_top, "current": cur_top}


# -- helpers ----------------------------------------------------------------------------------


def _check_override(name: str, override: dict[str, Any]) -> None:
    test = override.get("test")
    if test is not None and test not in TESTS:
        raise UserError(f"drift.tests.{name}.test: unknown test '{test}' (use one of {', '.join(TESTS)})")
    threshold = override.get("threshold")
    if threshold is None:
        return
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not np.isfinite(threshold):
        raise UserError(f"drift.tests.{name}.threshold: expected a number, got {threshold!r}")
    if test and TESTS[test][0] == "p_value" and not 0 < threshold < 1:
        raise UserError(f"drift.tests.{name}.threshold: {threshold} is out of range for a p-value test (0 < p < 1)")
    if threshold <= 0:
        raise UserError(f"drift.tests.{name}.threshold: {threshold} is out of range (must be above 0)")


def _sorted_keys(keys: set[Any]) -> list[Any]:
    try:
        return sorted(keys)
    except TypeError:  # mixed types: group by type name, then value
        return sorted(keys, key=lambda k: (type(k).__name__, str(k)))


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar (NumPy scalars to Python, bools stay bools)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%" if share >= 0.001 or share == 0 else "<0.1%"


def _shown(names: list[str]) -> str:
    return ", ".join(names[:10]) + (", ..." if len(names) > 10 else "") if names else "none"
