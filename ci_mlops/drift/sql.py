"""``drift.engine: duckdb``: the statistics run as SQL where the data is; per-column summaries come back.

The data never enters Python: DuckDB scans the Parquet files (a path or a glob, on disk
or on S3 through its httpfs extension; CSV and JSON lines too) and each query returns
one row per column, or a short table when a column has few distinct values. Every
verdict then goes through :func:`ci_mlops.drift.engine.judge`, as in the in-process
engine, so the two engines agree by construction on test choice, thresholds and notes,
and on the statistics to floating-point rounding.

The queries are plain SQL:2011 so that a warehouse can run them on a table instead of
``read_parquet(...)``: ``COUNT``/``SUM``/``MIN``/``MAX``/``AVG``/``STDDEV_POP``,
``CASE``, ``UNION ALL``, ``GROUP BY``, the window functions ``ROW_NUMBER()`` and
``LEAD()`` ``OVER (PARTITION BY ... ORDER BY ...)``, and the ordered-set aggregate
``PERCENTILE_DISC(p) WITHIN GROUP (ORDER BY x)``. Identifiers are quoted with double
quotes; a value is finite when ``x - x = 0``. The exact statistics:

* Wasserstein distance: both samples sorted together once; at the last row of each run
  of equal values, the row's position in its own side and overall give both empirical
  CDFs, and the sum of ``|F - G| * (next value - value)`` is the area between them
  (SciPy's formula).
* Kolmogorov-Smirnov: the largest ``|F - G|`` at the same rows; up to 10,000 rows
  per side the (value, count) table comes back and SciPy computes the exact p-value,
  above it SciPy's asymptotic formula is applied to the statistic.
* Histograms: counts below each bin edge (``SUM(CASE WHEN x < edge ...)``), the edges
  computed in Python exactly as NumPy computes them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from ci_mlops.datafiles import SEPARATORS, detect_format
from ci_mlops.drift import stats
from ci_mlops.drift.columns import (
    CATEGORICAL,
    DATETIME,
    INTEGER_CARDINALITY_LIMIT,
    NUMERIC,
    TEXT,
    UNKNOWN,
    select_columns,
)
from ci_mlops.drift.engine import DEFAULT_DRIFT_SHARE, check_request, judge, skipped_column, summarise
from ci_mlops.drift.progress import Progress
from ci_mlops.errors import UserError

if TYPE_CHECKING:
    from ci_mlops.drift.records import ColumnResult, DriftResult

TEXT_SHARE = 0.5
MEMORY_LIMIT = os.environ.get("CI_MLOPS_DUCKDB_MEMORY", "2GB")  # DuckDB spills to disk above this


# -- SQL (portable: a warehouse runs the same text with a table in place of the FROM clause) ----


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def finite(column: str) -> str:
    """Not NULL, NaN or +-infinity: ``x - x`` is 0 only for a finite x (NaN for the others).

    Comparisons with infinity would read the same, but DuckDB answers them from Parquet
    statistics, which leave NaN out (``x < CAST('Infinity' AS DOUBLE)`` is true for NaN there).
    """
    return f"({column} - {column} = 0)"


NUMERIC_FIELDS = ("present", "mean", "min", "max")


def side_summary_sql(source: str, numeric: list[str], strings: list[str], *, with_std: bool) -> str:
    """One scan: rows, and per column the count, mean, range (and std) of the finite values,
    or the present and distinct counts of a string column."""
    parts = ["COUNT(*) AS row_count"]
    for i, name in enumerate(numeric):
        x = f"CAST({quote(name)} AS DOUBLE)"
        kept = f"CASE WHEN {finite(x)} THEN {x} END"
        parts += [f"COUNT({kept}) AS present_{i}", f"AVG({kept}) AS mean_{i}",
                  f"MIN({kept}) AS min_{i}", f"MAX({kept}) AS max_{i}"]
        if with_std:
            parts.append(f"STDDEV_POP({kept}) AS std_{i}")
    for i, name in enumerate(strings):
        parts.append(f"COUNT({quote(name)}) AS strings_{i}")
        parts.append(f"COUNT(DISTINCT {quote(name)}) AS distinct_{i}")
    return f"SELECT {', '.join(parts)} FROM {source}"


def pooled_sql(ref: str, cur: str, name: str, ref_n: int, cur_n: int) -> str:
    """One row: the Wasserstein area, each side's distinct count, the largest CDF gaps either way.

    Both samples are sorted together once (ties: reference rows first, each side in its own
    order). A row's position in its own side counts that side's values up to it, and its
    position overall minus that counts the other side's; at the last row of a run of equal
    values these are the two CDFs there, and the width to the next value is zero inside a
    run. So the area is the sum of ``|F - G| * (next value - value)``, as SciPy computes it.
    """
    x = f"CAST({quote(name)} AS DOUBLE)"
    order = "ORDER BY v, side, own"
    own_f = "CASE WHEN side = 0 THEN own ELSE overall - own END"
    own_g = "CASE WHEN side = 1 THEN own ELSE overall - own END"
    run_end = "(next_v IS NULL OR next_v <> v)"
    return f"""
WITH pooled AS (
  SELECT {x} AS v, 0 AS side FROM {ref} WHERE {finite(x)}
  UNION ALL
  SELECT {x} AS v, 1 AS side FROM {cur} WHERE {finite(x)}
), ranked AS (
  SELECT v, side,
         ROW_NUMBER() OVER (PARTITION BY side ORDER BY v) AS own,
         LEAD(v) OVER (PARTITION BY side ORDER BY v) AS own_next
  FROM pooled
), steps AS (
  SELECT v, side, own_next,
         CAST({own_f} AS DOUBLE) / {ref_n} - CAST({own_g} AS DOUBLE) / {cur_n} AS gap,
         LEAD(v) OVER ({order}) AS next_v
  FROM (SELECT v, side, own, own_next, ROW_NUMBER() OVER ({order}) AS overall FROM ranked) numbered
)
SELECT SUM(CASE WHEN next_v IS NOT NULL THEN ABS(gap) * (next_v - v) ELSE 0 END),
       COUNT(CASE WHEN side = 0 AND (own_next IS NULL OR own_next <> v) THEN 1 END),
       COUNT(CASE WHEN side = 1 AND (own_next IS NULL OR own_next <> v) THEN 1 END),
       MAX(CASE WHEN {run_end} THEN gap END),
       MIN(CASE WHEN {run_end} THEN gap END)
FROM steps"""


def values_sql(ref: str, cur: str, name: str) -> str:
    """Every distinct finite value of either side with each side's count, in order."""
    x = f"CAST({quote(name)} AS DOUBLE)"
    return f"""
SELECT v, SUM(r), SUM(c) FROM (
  SELECT {x} AS v, 1 AS r, 0 AS c FROM {ref} WHERE {finite(x)}
  UNION ALL
  SELECT {x} AS v, 0 AS r, 1 AS c FROM {cur} WHERE {finite(x)}
) pooled GROUP BY v ORDER BY v"""


def below_sql(source: str, name: str, edges: list[float]) -> str:
    """How many finite values are below each edge (edges as exact decimal literals)."""
    x = f"CAST({quote(name)} AS DOUBLE)"
    parts = [f"SUM(CASE WHEN {x} < CAST({edge!r} AS DOUBLE) THEN 1 ELSE 0 END)" for edge in edges]
    return f"SELECT {', '.join(parts) or '0'} FROM {source} WHERE {finite(x)}"


def order_sql(source: str, name: str, shares: list[float]) -> str:
    """The values at the given shares of the sorted finite values (the lowest one at or above the share)."""
    x = f"CAST({quote(name)} AS DOUBLE)"
    parts = [f"PERCENTILE_DISC({p!r}) WITHIN GROUP (ORDER BY {x})" for p in shares]
    return f"SELECT {', '.join(parts)} FROM {source} WHERE {finite(x)}"


def categories_sql(source: str, name: str) -> str:
    return f"SELECT {quote(name)}, COUNT(*) FROM {source} WHERE {quote(name)} IS NOT NULL GROUP BY {quote(name)}"


# -- DuckDB -----------------------------------------------------------------------------------


class Database:
    """A DuckDB connection with the two sides as FROM clauses.

    Parquet is scanned where it is (columns and row groups are read as a query needs them).
    A row format (CSV, TSV, JSON lines) is read once into a table: DuckDB parses and sniffs
    such a file again on every scan, and a drift run makes a few scans per column. The table
    lives in a database file in the temporary folder, so memory stays capped at
    ``MEMORY_LIMIT`` (DuckDB evicts a file's blocks; an in-memory table could not leave memory).
    """

    def __init__(self, reference: str, current: str) -> None:
        try:
            import duckdb  # lazy: DuckDB is slow to import (and optional)
        except ImportError as exc:
            raise UserError("drift.engine duckdb needs the duckdb package: pip install 'ci-mlops[duckdb]'") from exc
        self.duckdb = duckdb
        ref_source, cur_source = _source(reference), _source(current)
        self.spill = tempfile.mkdtemp(prefix="ci-mlops-duckdb-")
        self.con = duckdb.connect(os.path.join(self.spill, "sides.duckdb"),
                                  config={"memory_limit": MEMORY_LIMIT, "temp_directory": self.spill,
                                          "threads": max(1, min(os.cpu_count() or 1, 4))})
        self.labels: dict[str, str] = {}
        try:
            if any(p.startswith("s3://") for p in (reference, current)):
                self._s3()
            self.ref = self._side(ref_source, reference, "reference_side")
            self.cur = self._side(cur_source, current, "current_side")
        except BaseException:
            self.close()
            raise

    def _side(self, source: str, path: str, table: str) -> str:
        """The FROM clause of one side: the file itself (Parquet), or a table it was read into once."""
        if detect_format(path) == "parquet":
            self.labels[source] = path
            return source
        self.labels[table] = path
        self.rows(f"CREATE TABLE {table} AS SELECT * FROM {source}", table)
        return table

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.spill, ignore_errors=True)

    def rows(self, sql: str, source: str | None = None) -> list[tuple[Any, ...]]:
        try:
            return self.con.execute(sql).fetchall()
        except self.duckdb.Error as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            where = f"{self.labels[source]}: " if source else ""
            raise UserError(f"{where}DuckDB cannot read the data: {text}") from exc

    def columns(self, source: str) -> dict[str, str]:
        return {str(r[0]): str(r[1]) for r in self.rows(f"DESCRIBE SELECT * FROM {source}", source)}

    def _s3(self) -> None:
        try:
            # lazy, like DuckDB: the extension as a Python package (no download), only for s3:// data
            import duckdb_extension_httpfs as packaged

            found = list(Path(packaged.__file__).parent.glob(f"extensions/v{self.duckdb.__version__}/httpfs.duckdb_extension"))
        except ImportError:
            found = []
        try:
            self.con.execute(f"LOAD {literal(str(found[0]))}" if found else "LOAD httpfs")
        except self.duckdb.Error as exc:
            raise UserError("s3:// data needs DuckDB's httpfs extension: pip install 'ci-mlops[duckdb]' "
                            f"(DuckDB said: {str(exc).strip().splitlines()[0]})") from exc
        env = os.environ
        parts = ["TYPE s3", f"REGION {literal(env.get('AWS_REGION') or env.get('AWS_DEFAULT_REGION') or 'us-east-1')}"]
        if env.get("AWS_ACCESS_KEY_ID"):
            parts += [f"KEY_ID {literal(env['AWS_ACCESS_KEY_ID'])}", f"SECRET {literal(env.get('AWS_SECRET_ACCESS_KEY', ''))}"]
        if env.get("AWS_SESSION_TOKEN"):
            parts.append(f"SESSION_TOKEN {literal(env['AWS_SESSION_TOKEN'])}")
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
        if endpoint:  # an S3-compatible service (MinIO, a test server): path-style URLs
            url = urlparse(endpoint)
            parts += [f"ENDPOINT {literal(url.netloc)}", f"USE_SSL {'true' if url.scheme == 'https' else 'false'}",
                      "URL_STYLE 'path'"]
        self.con.execute(f"CREATE SECRET ci_mlops_s3 ({', '.join(parts)})")


def _source(path: str) -> str:
    kind = detect_format(path)
    if "://" not in path and not any(ch in path for ch in "*?[") and not Path(path).is_file():
        raise UserError(f"{path}: no such file (is it tracked by DVC? run `dvc pull {path}`)")
    if kind == "parquet":
        return f"read_parquet({literal(path)}, hive_partitioning = false)"  # key=value folders are not columns
    if kind in ("csv", "tsv"):
        return f"read_csv({literal(path)}, header = true, delim = {literal(SEPARATORS[kind])})"
    return f"read_json({literal(path)}, format = 'newline_delimited')"


def _family(sql_type: str) -> str:
    t = sql_type.upper()
    if t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL") or t == '"NULL"' or t == "NULL":
        return "float"
    if t.endswith("INT") or t in ("HUGEINT", "UHUGEINT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT"):
        return "int"
    if t == "BOOLEAN":
        return "bool"
    if t == "VARCHAR" or t.startswith("ENUM"):
        return "string"
    if t.startswith(("DATE", "TIME", "INTERVAL")):
        return "datetime"
    return "other"


# -- the engine -------------------------------------------------------------------------------


def detect_drift_duckdb(
    reference: str,
    current: str,
    *,
    columns: list[str],
    exclude: list[str] | tuple[str, ...] = (),
    drift_share: float = DEFAULT_DRIFT_SHARE,
    tests: dict[str, dict[str, Any]] | None = None,
    psi: bool = False,
    ignore_in_current: tuple[str, ...] = (),
    progress: bool = True,
) -> DriftResult:
    """Like :func:`ci_mlops.drift.stream.detect_drift_files`, with every statistic computed by DuckDB."""
    tests = tests or {}
    check_request(drift_share, tests)
    db = Database(reference, current)
    try:
        ref_types, cur_types = db.columns(db.ref), db.columns(db.cur)
        ref_cols, cur_cols = list(ref_types), list(cur_types)
        wanted, only_ref, only_cur = select_columns(str(reference), ref_cols, str(current), cur_cols, columns,
                                                    exclude, ignore_in_current)
        families = {name: _family(ref_types[name]) for name in wanted}
        numeric = [n for n in wanted if families[n] in ("float", "int")]
        strings = [n for n in wanted if families[n] == "string"]
        ref_side = db.rows(side_summary_sql(db.ref, numeric, strings, with_std=True), db.ref)[0]
        cur_side = db.rows(side_summary_sql(db.cur, numeric, [], with_std=False), db.cur)[0]
        ref_rows, cur_rows = int(ref_side[0]), int(cur_side[0])
        if ref_rows == 0:
            raise UserError("the reference data has no rows")
        if cur_rows == 0:
            raise UserError("the current data has no rows")
        width = len(NUMERIC_FIELDS)
        sides = {n: (ref_side[1 + (width + 1) * i:1 + (width + 1) * (i + 1)], cur_side[1 + width * i:1 + width * (i + 1)])
                 for i, n in enumerate(numeric)}
        offset = 1 + (width + 1) * len(numeric)
        text_stats = {n: (ref_side[offset + 2 * i], ref_side[offset + 2 * i + 1]) for i, n in enumerate(strings)}
        csv = {side: detect_format(path) in ("csv", "tsv") for side, path in (("ref", reference), ("cur", current))}
        meter = Progress(len(wanted), len(wanted), unit=None, enabled=progress and (ref_rows + cur_rows) * len(wanted) >= 10_000_000)
        results: list[ColumnResult] = []
        for name in wanted:
            results.append(_column(db, name, families[name], _family(cur_types[name]), ref_types[name],
                                   cur_types[name], sides.get(name), text_stats.get(name), ref_rows, cur_rows,
                                   csv, tests.get(name), psi))
            meter.advance(1, column_done=True)
        meter.finish()
    finally:
        db.close()
    return summarise(results, drift_share=drift_share, reference_rows=ref_rows, current_rows=cur_rows,
                     only_in_reference=only_ref, only_in_current=only_cur)


def _column(db: Database, name: str, family: str, cur_family: str, ref_type: str, cur_type: str,
            sides: tuple[tuple[Any, ...], tuple[Any, ...]] | None, text_stats: tuple[Any, Any] | None, ref_rows: int, cur_rows: int,
            csv: dict[str, bool], override: dict[str, Any] | None, psi: bool) -> ColumnResult:
    if family == "datetime":
        return skipped_column(name, DATETIME, ref_type)
    if family == "other":
        return skipped_column(name, UNKNOWN, ref_type)
    common: dict[str, Any] = {"override": override, "psi": psi, "ref_rows": ref_rows, "cur_rows": cur_rows}
    if family in ("float", "int"):
        if cur_family not in ("float", "int"):
            raise UserError(f"column '{name}' is numeric in the reference but has non-numeric values "
                            f"({cur_type}) in the current data")
        assert sides is not None
        pair = SqlPair(db, name, *sides)
        # As in the in-process engine: Parquet keeps integers; CSV makes a column with gaps floats.
        integers = family == "int" and (pair.ref_present == ref_rows or not csv["ref"])
        if integers and pair.ref_present and pair.cur_present and pair.ref_distinct <= INTEGER_CARDINALITY_LIMIT:
            keys, ref_counts, cur_counts = pair.value_counts()
            cur_integral = cur_family == "int" and (pair.cur_present == cur_rows or not csv["cur"])
            return judge(name, CATEGORICAL, ref_counts={int(k): int(c) for k, c in zip(keys, ref_counts) if c},
                         cur_counts={(int(k) if cur_integral else float(k)): int(c) for k, c in zip(keys, cur_counts) if c},
                         **common)
        return judge(name, NUMERIC, pair=pair, **common)
    if family == "string":
        assert text_stats is not None
        present, distinct = int(text_stats[0]), int(text_stats[1])
        if present == 0:
            return skipped_column(name, UNKNOWN, "object")
        if distinct > present * TEXT_SHARE:
            return skipped_column(name, TEXT, ref_type)
    ref_categories = {k: int(n) for k, n in db.rows(categories_sql(db.ref, name), db.ref)}
    cur_categories = {k: int(n) for k, n in db.rows(categories_sql(db.cur, name), db.cur)}
    return judge(name, CATEGORICAL, ref_counts=ref_categories, cur_counts=cur_categories, **common)


class SqlPair:
    """A :class:`ci_mlops.drift.pairs.NumericPair` answered by queries; sizes and the Wasserstein
    area come from one pooled query, histograms and order statistics on demand."""

    def __init__(self, db: Database, name: str, ref: tuple[Any, ...], cur: tuple[Any, ...]) -> None:
        self.db, self.name = db, name
        def number(v: Any) -> float:
            return float(v) if v is not None else float("nan")

        self.ref_present, self.cur_present = int(ref[0]), int(cur[0])
        self.ref_mean, self.ref_min, self.ref_max, self.ref_std = (number(v) for v in (ref[1], ref[2], ref[3], ref[4]))
        self.cur_mean, self.cur_min, self.cur_max = (number(v) for v in cur[1:4])
        self._values: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        if self.ref_present == 0 or self.cur_present == 0:
            return  # judge() reports the empty side
        row = db.rows(pooled_sql(db.ref, db.cur, name, self.ref_present, self.cur_present))[0]
        self._area = float(row[0] or 0.0)
        self.ref_distinct, self.cur_distinct = int(row[1]), int(row[2])
        self._gaps = (float(row[3]), float(row[4]))

    def wasserstein(self) -> float:
        return self._area

    def ks_pvalue(self) -> float:
        if max(self.ref_present, self.cur_present) <= stats.KS_EXACT_MAX_ROWS:
            return stats.ks_pvalue_from_counts(*self.value_counts())
        largest, smallest = self._gaps
        return stats.ks_pvalue_asymptotic(max(largest, float(np.clip(-smallest, 0, 1))),
                                          self.ref_present, self.cur_present)

    def value_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._values is None:
            rows = self.db.rows(values_sql(self.db.ref, self.db.cur, self.name))
            self._values = (np.array([r[0] for r in rows], dtype=np.float64),
                            np.array([r[1] for r in rows], dtype=np.int64),
                            np.array([r[2] for r in rows], dtype=np.int64))
        return self._values

    def bin_counts(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # The edges span both samples, so bin i holds below(e[i+1]) - below(e[i]), the last one the rest.
        ref_below, cur_below = self.below(edges[1:-1])
        return (np.diff(np.concatenate([[0], ref_below, [self.ref_present]])),
                np.diff(np.concatenate([[0], cur_below, [self.cur_present]])))

    def below(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = [float(e) for e in edges]
        ref = self.db.rows(below_sql(self.db.ref, self.name, values), self.db.ref)[0]
        cur = self.db.rows(below_sql(self.db.cur, self.name, values), self.db.cur)[0]
        return (np.array([int(v or 0) for v in ref[:len(values)]], dtype=np.int64),
                np.array([int(v or 0) for v in cur[:len(values)]], dtype=np.int64))

    def order_stats(self, ref_indices: list[int], cur_indices: list[int]) -> tuple[list[float], list[float]]:
        # PERCENTILE_DISC(p) is the value at 0-based position ceil(p * n) - 1: half a position above the index.
        ref = self.db.rows(order_sql(self.db.ref, self.name, [(i + 0.5) / self.ref_present for i in ref_indices]),
                           self.db.ref)[0]
        cur = self.db.rows(order_sql(self.db.cur, self.name, [(i + 0.5) / self.cur_present for i in cur_indices]),
                           self.db.cur)[0]
        return [float(v) for v in ref], [float(v) for v in cur]
