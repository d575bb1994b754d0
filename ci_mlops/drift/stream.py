"""The in-process engine on files: one column at a time, in chunks, with bounded memory.

Per column, each side is folded chunk by chunk (Parquet batches, CSV blocks) into
state that gives the exact statistic:

* categorical columns (strings, booleans, integers with at most 10 values): a count
  per distinct value, merged chunk by chunk. A string column stops being counted as
  soon as its reference has more distinct values than half its rows (it is text and is
  not compared), so an id column never builds a large table.
* numeric columns: the finite values, copied into one preallocated float64 array per
  side and sorted in place. Kolmogorov-Smirnov and the Wasserstein distance need
  every value; instead of a bound, the exact statistic is computed from the sorted
  arrays (the merge for the Wasserstein distance runs in blocks, so no temporary is as
  large as the data).

Peak memory is therefore about 8 bytes x (reference rows + current rows) for the
largest numeric column (16 with two columns in flight), plus one chunk per side: a
100M-row pair takes 1.6 GB per numeric column whatever the number of columns. Columns
run two at a time when two fit in ``memory_budget``, else one at a time with the two
sides read and sorted in parallel.

The result is the same document as :func:`ci_mlops.drift.engine.detect_drift` on the
same data read with pandas: every verdict goes through :func:`ci_mlops.drift.engine.judge`.
"""

from __future__ import annotations

import os
import queue
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

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
from ci_mlops.drift.pairs import SortedPair
from ci_mlops.drift.progress import Progress
from ci_mlops.drift.sources import CsvSource, Source, open_source
from ci_mlops.errors import UserError

if TYPE_CHECKING:
    import pyarrow as pa

    from ci_mlops.drift.records import ColumnResult, DriftResult

MEMORY_BUDGET = 3 << 30  # bytes of sorted values in flight before columns run one at a time
PROGRESS_MIN_VALUES = 10_000_000  # smaller comparisons take seconds at most: no progress output
TEXT_SHARE = 0.5  # more distinct values than this share of the rows: text, not compared


def detect_drift_files(
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
    workers: int | None = None,
    memory_budget: int = MEMORY_BUDGET,
) -> DriftResult:
    """Compare two data files (Parquet, a glob of Parquet files, CSV, TSV) column by column.

    ``columns`` limits the comparison (each must be on both sides), else every common
    column not in ``exclude``; ``ignore_in_current`` are current-only columns that are not
    reported as one-sided (the performance monitor's label and prediction).
    """
    tests = tests or {}
    check_request(drift_share, tests)
    ref_src, cur_src = open_source(reference, "reference"), open_source(current, "current")
    try:
        ref_cols, cur_cols = _columns(ref_src), _columns(cur_src)
        wanted, only_ref, only_cur = select_columns(ref_src.label, ref_cols, cur_src.label, cur_cols, columns,
                                                    exclude, ignore_in_current)
        for src in (ref_src, cur_src):
            if isinstance(src, CsvSource):
                src.spill(wanted)
        if ref_src.rows == 0:
            raise UserError("the reference data has no rows")
        if cur_src.rows == 0:
            raise UserError("the current data has no rows")
        total = (ref_src.rows + cur_src.rows) * len(wanted)
        meter = Progress(total, len(wanted), enabled=progress and total >= PROGRESS_MIN_VALUES)
        numeric_bytes = 8 * (ref_src.rows + cur_src.rows)
        workers = workers or min(2, os.cpu_count() or 1)
        if 2 * numeric_bytes > memory_budget:
            workers = 1

        # One pair of value arrays per worker, reused column after column: fresh arrays would
        # cost a page fault per 4 KiB every time (a third of the CPU time at 1M rows).
        spare: queue.SimpleQueue[list[np.ndarray | None]] = queue.SimpleQueue()
        for _ in range(workers):
            spare.put([None, None])

        def one(name: str) -> ColumnResult:
            buffers = spare.get()
            try:
                return _compare(name, ref_src, cur_src, tests.get(name), psi, meter, parallel_sides=workers == 1,
                                buffers=buffers)
            finally:
                spare.put(buffers)

        if workers > 1 and len(wanted) > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(one, wanted))
        else:
            results = [one(name) for name in wanted]
        meter.finish()
    finally:
        ref_src.close()
        cur_src.close()
    return summarise(results, drift_share=drift_share, reference_rows=ref_src.rows, current_rows=cur_src.rows,
                     only_in_reference=only_ref, only_in_current=only_cur)


def _columns(src: Source) -> list[str]:
    return list(src.header) if isinstance(src, CsvSource) else list(src.types)


# -- one column -------------------------------------------------------------------------------


def _family(dtype: pa.DataType) -> str:
    import pyarrow as pa  # lazy: PyArrow is slow to import

    if pa.types.is_dictionary(dtype):
        value = dtype.value_type
        return "string" if pa.types.is_string(value) or pa.types.is_large_string(value) else "category"
    if pa.types.is_floating(dtype) or pa.types.is_null(dtype):  # all empty: pandas reads NaN floats
        return "float"
    if pa.types.is_integer(dtype):
        return "int"
    if pa.types.is_boolean(dtype):
        return "bool"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "string"
    if pa.types.is_temporal(dtype):
        return "datetime"
    return "other"


def _compare(name: str, ref_src: Source, cur_src: Source, override: dict[str, Any] | None, psi: bool,
             meter: Progress, *, parallel_sides: bool, buffers: list[np.ndarray | None]) -> ColumnResult:
    ref_type, cur_type = ref_src.types[name], cur_src.types[name]
    family = _family(ref_type)
    cur_family = _family(cur_type)
    skip_units = ref_src.rows + cur_src.rows
    if family == "datetime":
        meter.advance(skip_units, column_done=True)
        return skipped_column(name, DATETIME, str(ref_type))
    if family == "other":
        meter.advance(skip_units, column_done=True)
        return skipped_column(name, UNKNOWN, str(ref_type))
    common: dict[str, Any] = {"override": override, "psi": psi, "ref_rows": ref_src.rows, "cur_rows": cur_src.rows}

    if family in ("float", "int"):
        if cur_family not in ("float", "int"):
            raise UserError(f"column '{name}' is numeric in the reference but has non-numeric values "
                            f"({cur_type}) in the current data")
        for i, src in enumerate((ref_src, cur_src)):
            if buffers[i] is None:
                buffers[i] = np.empty(src.rows, dtype=np.float64)
        ref_buffer, cur_buffer = buffers
        assert ref_buffer is not None and cur_buffer is not None
        if parallel_sides:
            with ThreadPoolExecutor(max_workers=2) as pool:
                ref_job = pool.submit(_sorted_values, ref_src, name, meter, ref_buffer)
                cur = _sorted_values(cur_src, name, meter, cur_buffer)
                ref = ref_job.result()
        else:
            ref, cur = _sorted_values(ref_src, name, meter, ref_buffer), _sorted_values(cur_src, name, meter, cur_buffer)
        meter.advance(0, column_done=True)
        few = (_integers(family, ref, ref_src)
               and stats.count_distinct_sorted(ref) <= INTEGER_CARDINALITY_LIMIT)
        if few:
            return judge(name, CATEGORICAL, ref_counts=_value_counts(ref, integral=True),
                         cur_counts=_value_counts(cur, integral=_integers(cur_family, cur, cur_src)), **common)
        return judge(name, NUMERIC, pair=SortedPair(ref, cur), **common)

    limit = int(TEXT_SHARE * ref_src.rows) if family == "string" else None
    ref_counts = _counts(ref_src, name, meter, stop_above=limit)
    present = sum(ref_counts.values()) if ref_counts is not None else 0
    if ref_counts is None or (family == "string" and present and len(ref_counts) > present * TEXT_SHARE):
        meter.advance(skip_units, column_done=True)
        return skipped_column(name, TEXT, str(ref_type))
    if family == "string" and present == 0:
        meter.advance(skip_units, column_done=True)
        return skipped_column(name, UNKNOWN, "object")
    cur_counts = _counts(cur_src, name, meter)
    meter.advance(0, column_done=True)
    return judge(name, CATEGORICAL, ref_counts=ref_counts, cur_counts=cur_counts or {}, **common)


def _integers(family: str, values: np.ndarray, src: Source) -> bool:
    """Whether pandas would read the column as integers: Parquet keeps them (nullable Int64),
    CSV turns an integer column with empty cells into floats (so it is numeric, as in Evidently)."""
    return family == "int" and (values.size == src.rows or not isinstance(src, CsvSource))


# Sorted as they are, then widened to float64: both exact and order-preserving, so the sorted
# float64 array is the same, and a 32-bit sort takes about half the time of a 64-bit one.
NARROW = (np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.uint32))


def _sorted_values(src: Source, name: str, meter: Progress, values: np.ndarray) -> np.ndarray:
    """The column's finite values as float64, sorted, in ``values`` (a view of part of it is
    returned); nulls, NaN and infinities dropped.

    Each chunk is copied in once (nulls left out on the way), sorted in place, and the
    non-finite values cut off the ends: the sort puts -inf first and +inf, then NaN, last.
    A float32 or 32-bit integer column is copied and sorted in its own type in the first
    half of ``values`` and widened in place afterwards (no second buffer).
    """
    filled = 0
    narrow: np.dtype | None = None  # the 32-bit type every chunk so far had
    for i, chunk in enumerate(src.chunks(name)):
        array, valid = buffer_values(chunk)
        if i == 0 and array.dtype in NARROW:
            narrow = array.dtype
        elif narrow is not None and array.dtype != narrow:  # files of a glob that store it differently
            widen(values, filled, narrow)
            narrow = None
        target = values if narrow is None else values.view(narrow)
        kept = array.size if valid is None else array.size - chunk.null_count
        if valid is None:
            target[filled:filled + kept] = array
        elif array.dtype == target.dtype:
            np.compress(valid, array, out=target[filled:filled + kept])
        else:  # an integer column stored in float64
            target[filled:filled + kept] = array[valid]
        filled += kept
        meter.advance(len(chunk))
    if narrow is not None:
        values.view(narrow)[:filled].sort()
        widen(values, filled, narrow)
        values = values[:filled]
    else:
        values = values[:filled]
        values.sort()
    if filled and not (np.isfinite(values[0]) and np.isfinite(values[-1])):
        values = values[np.searchsorted(values, -np.inf, side="right"):np.searchsorted(values, np.inf, side="left")]
    return values


def widen(values: np.ndarray, count: int, dtype: np.dtype, block: int = stats.BLOCK) -> None:
    """Widen the first ``count`` values stored as ``dtype`` (4 bytes) at the start of ``values``'
    memory to float64 in place, from the end: a block [start, end) moves from bytes
    [4 start, 4 end) to [8 start, 8 end), which do not overlap while start >= end / 2, and
    nothing still to be moved lies beyond 4 start."""
    narrow = values.view(dtype)
    end = count
    while end > 1:
        start = max((end + 1) // 2, end - block)
        values[start:end] = narrow[start:end]
        end = start
    if end == 1:
        values[0] = narrow[0]


NUMPY_TYPES = {"halffloat": np.float16, "float": np.float32, "double": np.float64,
               "int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
               "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64}


def buffer_values(array: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """A numeric Arrow array's values (a view of its buffer) and its validity (None: no nulls).

    Read from the buffers because ``Array.to_numpy`` imports pandas (half a second, and
    its memory) to convert an array with nulls.
    """
    size = len(array)
    if str(array.type) == "null":
        return np.full(size, np.nan), None
    dtype = np.dtype(NUMPY_TYPES[str(array.type)])
    validity, data = array.buffers()[0], array.buffers()[1]
    values = np.frombuffer(data, dtype=dtype, count=array.offset + size)[array.offset:]
    if not array.null_count or validity is None:
        return values, None
    bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), count=array.offset + size, bitorder="little")
    return values, bits[array.offset:].view(bool)  # 0 and 1 bytes: valid booleans without a copy


def _value_counts(values: np.ndarray, *, integral: bool) -> dict[Any, int]:
    keys = stats.unique_sorted(values)
    counts = stats._counts_at(values, keys)
    return {(int(k) if integral else float(k)): int(c) for k, c in zip(keys.tolist(), counts.tolist())}


def _counts(src: Source, name: str, meter: Progress, *, stop_above: int | None = None) -> dict[Any, int] | None:
    """Count per distinct non-missing value; None once there are more than ``stop_above``."""
    import pyarrow as pa  # lazy: PyArrow is slow to import

    counts: dict[Any, int] = {}
    for chunk in src.chunks(name):
        meter.advance(len(chunk))
        if chunk.null_count == len(chunk):
            continue
        if not pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary_encode()
        indices, valid = buffer_values(chunk.indices)
        if valid is not None:
            indices = indices[valid]
        tally = np.bincount(indices, minlength=len(chunk.dictionary))
        present = np.flatnonzero(tally)
        dictionary = chunk.dictionary.to_pylist()
        for key, n in zip((dictionary[i] for i in present.tolist()), tally[present].tolist()):
            if isinstance(key, float) and not np.isfinite(key):
                continue  # infinities in a float column read as categories count as missing
            counts[key] = counts.get(key, 0) + n
        if stop_above is not None and len(counts) > stop_above:
            return None
    return counts
