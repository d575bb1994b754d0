"""``ci-mlops drift`` end to end, minus output: settings, the two files, the tests, performance.

:func:`compare_files` merges the command-line options with the ``drift:`` section,
reads only the columns the comparison needs and returns the JSON document of
``ci-mlops drift --format json``; :func:`failure` says whether it is a problem.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_mlops.config import Config
from ci_mlops.config.records import Drift, DriftPerformance
from ci_mlops.datafiles import read_header, read_table
from ci_mlops.drift.sources import is_glob, streamable
from ci_mlops.errors import UserError
from ci_mlops.safepath import inside, work_tree

if TYPE_CHECKING:
    from ci_mlops.drift.records import DriftResult, Performance


def names(values: tuple[str, ...] | list[str]) -> list[str]:
    """``--columns a,b --columns c`` -> ["a", "b", "c"]."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


ENGINES = ("python", "duckdb")


def compare_files(config: Config, *, reference: str | None = None, current: str | None = None,
                  columns: tuple[str, ...] = (), exclude: tuple[str, ...] = (), drift_share: float | None = None,
                  psi: bool | None = None, baseline: str | None = None, engine: str | None = None,
                  progress: bool = True) -> DriftResult:
    """Detect drift between the reference and current data (options override ``drift:`` settings).

    Parquet (files or globs), CSV and TSV are streamed column by column
    (:mod:`ci_mlops.drift.stream`); JSON lines are read with pandas; with
    ``engine: duckdb`` the statistics run as SQL in DuckDB (:mod:`ci_mlops.drift.sql`).
    """
    settings = config.settings.drift or Drift()
    base = config.path.parent if config.path else Path.cwd()
    ref_path = data_path(reference, settings.reference, base, "reference")
    cur_path = data_path(current, settings.current, base, "current")
    share = drift_share if drift_share is not None else settings.drift_share
    if not 0 < share <= 1:
        raise UserError(f"--drift-share {share}: out of range, expected a share of columns in (0, 1]")
    engine = engine or settings.engine
    if engine not in ENGINES:
        raise UserError(f"drift.engine: unknown engine '{engine}' (use one of {', '.join(ENGINES)})")
    wanted = names(columns) or list(settings.columns or ())
    skip = list(settings.exclude or ()) + names(exclude)
    perf = settings.performance or DriftPerformance()
    perf_columns = tuple(c for c in (perf.actual, perf.predicted) if c)
    # The engines' per-column overrides: {"test": ..., "threshold": ...}, None where not set.
    tests = {name: {"test": t.test, "threshold": t.threshold} for name, t in (settings.tests or {}).items()}
    options: dict[str, Any] = {"exclude": skip, "drift_share": share, "tests": tests,
                               "psi": psi if psi is not None else settings.psi}

    if engine == "duckdb":
        from ci_mlops.drift.sql import detect_drift_duckdb  # lazy: NumPy is slow to import

        result = detect_drift_duckdb(ref_path, cur_path, columns=wanted, ignore_in_current=perf_columns,
                                     progress=progress, **options)
    elif streamable(ref_path) and streamable(cur_path):
        from ci_mlops.drift.stream import detect_drift_files  # lazy: NumPy is slow to import

        result = detect_drift_files(ref_path, cur_path, columns=wanted, ignore_in_current=perf_columns,
                                    progress=progress, **options)
    else:
        from ci_mlops.drift.engine import detect_drift  # lazy: NumPy is slow to import

        ref_df, cur_df, only_ref, only_cur = read_pair(Path(ref_path), Path(cur_path), wanted, skip, perf)
        perf_only = [c for c in perf_columns if c not in ref_df.columns]
        result = detect_drift(ref_df, cur_df.drop(columns=perf_only, errors="ignore"), columns=wanted or None,
                              **options)
        if only_ref is not None and only_cur is not None:  # both known, or neither
            result["only_in_reference"], result["only_in_current"] = only_ref, only_cur
    result["reference"], result["current"] = ref_path, cur_path
    if perf.actual and perf.predicted:
        result["performance"] = performance(cur_path, perf, baseline, base)
    return result


def failure(result: DriftResult) -> str | None:
    """The one-line reason a drift result fails (dataset drift, degraded performance), else None."""
    degraded = bool(result.get("performance", {}).get("degraded"))
    if result["dataset_drift"]:
        problems = f"dataset drift: {result['drifted_columns']} of {result['compared_columns']} columns drifted"
        if degraded:
            problems += "; model performance degraded"
        return problems
    if degraded:
        return f"model performance degraded: {result['performance']['message']}"
    return None


def data_path(option: str | None, configured: str | None, base: Path, side: str) -> str:
    """The path as given on the command line, else the configured one relative to the config file.

    URLs (``s3://...``) and globs stay strings: a ``Path`` would fold the ``//``."""
    if option:
        return option
    if configured:
        if "://" in configured:
            return configured

        # Production data may live outside the repository, so an absolute path is taken as
        # written; a relative one is the repository's and may not leave it (../, a link out).
        root = work_tree(base)
        if root is not None and not is_glob(configured) and not Path(configured).is_absolute():
            relative = os.path.relpath((base / configured).absolute(), root).replace(os.sep, "/")
            inside(root, relative, f"drift.{side}")
        return str(base / configured)
    raise UserError(f"no {side} data: pass --{side} FILE or set drift.{side} in .ci-mlops.yml")


def read_pair(ref_path: Path, cur_path: Path, wanted: list[str], skip: list[str],
              perf: DriftPerformance) -> tuple[Any, Any, list[str] | None, list[str] | None]:
    """Both tables with only the columns the comparison needs (plus the performance columns
    from the current data), and the columns found on one side only (None when unknown)."""
    ref_cols = read_header(ref_path)
    cur_cols = read_header(cur_path)
    extra = [c for c in (perf.actual, perf.predicted) if c and c in (cur_cols or [])]
    if wanted:
        for name in wanted:
            for path, cols in ((ref_path, ref_cols), (cur_path, cur_cols)):
                if cols is not None and name not in cols:
                    raise UserError(f"{path}: no column '{name}' (columns: {', '.join(cols[:20])})")
        return _read(ref_path, wanted), _read(cur_path, list(dict.fromkeys([*wanted, *extra]))), [], []
    if ref_cols is None or cur_cols is None:
        return _read(ref_path), _read(cur_path), None, None
    common = [c for c in ref_cols if c in cur_cols and c not in skip]
    if not common:
        raise UserError(f"{ref_path} and {cur_path} have no common columns to compare "
                        f"(reference: {', '.join(ref_cols[:10]) or 'none'}; current: {', '.join(cur_cols[:10]) or 'none'})")
    # One-sided columns are reported from the headers, without reading their data.
    only_ref = [c for c in ref_cols if c not in cur_cols and c not in skip]
    only_cur = [c for c in cur_cols if c not in ref_cols and c not in skip and c not in extra]
    return _read(ref_path, common), _read(cur_path, list(dict.fromkeys([*common, *extra]))), only_ref, only_cur


def _read(path: Path, columns: list[str] | None = None) -> Any:
    """Only ``columns`` (all when None), Parquet strings as categories: drift counts them by code."""
    return read_table(path, columns, categories=True)


def performance(cur_path: str, perf: DriftPerformance, baseline: str | None, base: Path) -> Performance:
    """The model's metric on the current data against ``baseline`` (a lineage.json), else the newest release.

    Only the label and prediction columns are read."""
    # lazy: NumPy is slow to import
    from ci_mlops.drift.performance import baseline_from_lineage, baseline_from_release, evaluate_performance

    if "://" in cur_path or is_glob(cur_path):
        raise UserError(f"drift.performance: the current data must be one local file to compute the model's "
                        f"metric (got {cur_path})")
    header = read_header(Path(cur_path))
    wanted = [perf.actual or "", perf.predicted or ""]
    for col in wanted:
        if header is not None and col not in header:
            raise UserError(f"drift.performance: column '{col}' is not in the current data")
    cur_df = _read(Path(cur_path), wanted if header is not None else None)

    key = perf.baseline_key or perf.metric or "accuracy"
    value: float | None = None
    source: str | None = None
    if baseline:
        value, source = baseline_from_lineage(baseline, key), Path(baseline).name
    else:
        try:
            found = baseline_from_release(base, key)
        except UserError:  # not a git repository, or no readable tag: nothing to compare with
            found = None
        if found:
            value, source = found
    return evaluate_performance(cur_df, perf, value, source)
