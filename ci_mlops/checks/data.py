"""Data checks: the ``data:`` section of ``.ci-mlops.yml`` run against data files.

Every check is a vectorised pandas/numpy pass over whole columns (a million rows
take well under a second per check). One result per check::

    {"file": "data/train.csv", "check": "max", "column": "age", "passed": false,
     "bound": 120, "value": 130, "failing_rows": 3, "examples": [4, 17, 230],
     "message": "age: 3 rows above max 120 (e.g. 130, 150, 121)"}

``examples`` are data row numbers, 1-based, not counting the header: row 1 is the
first data row of the file (a spreadsheet shows it on line 2).

:func:`check_frame` is pure (a DataFrame in, results out); :func:`load_data`
finds the file in the workspace, in the DVC cache by its ``dvc.lock`` / ``.dvc``
hash, or pulls it with ``dvc pull`` as a last resort.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_mlops.config.convert import build
from ci_mlops.config.records import ColumnRule, DataFile, Leakage
from ci_mlops.datafiles import SEPARATORS, detect_format, read_table, read_text_cells
from ci_mlops.dvc.cache import locate, manifest, object_paths
from ci_mlops.dvc.project import load_project
from ci_mlops.dvc.run import run_dvc
from ci_mlops.errors import UserError
from ci_mlops.report.collect import default_remote
from ci_mlops.safepath import inside

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ci_mlops.checks.records import DataResult

EXAMPLES = 5  # example row numbers (and values) shown per failure


# -- pure checks on a DataFrame -------------------------------------------------------


def data_file(spec: DataFile | Mapping[str, Any]) -> DataFile:
    """One ``data:`` entry as its typed record (a mapping is read as written in the file)."""
    return spec if isinstance(spec, DataFile) else build(DataFile, spec)


def check_frame(frame: pd.DataFrame, spec: DataFile | Mapping[str, Any], *, name: str,
                other: pd.DataFrame | None = None, other_name: str | None = None,
                text: pd.DataFrame | None = None) -> list[DataResult]:
    """Run every check of one ``data:`` entry (its record, or the mapping as written) on ``frame``.

    ``other`` is the leakage partner; ``text`` holds columns as written in the file
    (see :func:`load_text_columns`) so a regex sees ``007`` rather than the number 7.
    """
    spec = data_file(spec)
    results: list[DataResult] = []
    columns = spec.columns or {}
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise UserError(f"{name}: no column {', '.join(repr(c) for c in missing)} "
                        f"(named in data.{name}.columns; the file has: {_list(frame.columns)})")
    rows = spec.rows
    if rows is not None and (rows.min is not None or rows.max is not None):
        results.append(_rows(frame, rows.min, rows.max, name))
    if spec.schema == "strict":
        extra = [str(c) for c in frame.columns if c not in columns]
        results.append(_result(name, "schema", None, not extra, "strict", len(extra), 0, [],
                               f"unexpected column{'s' if len(extra) != 1 else ''}: {_list(extra)}" if extra
                               else "no unexpected columns"))
    for column, rules in columns.items():
        raw = text[column] if text is not None and column in text.columns else None
        results.extend(check_column(frame[column], rules, name=name, column=column, text=raw))
    if spec.duplicates is not None:
        results.append(_duplicates(frame, spec.duplicates.max, name))
    leakage = spec.leakage
    if leakage is not None and other is not None:
        results.append(check_leakage(frame, other, leakage, name=name, other_name=other_name or leakage.with_))
    return results


def check_column(series: pd.Series, rules: ColumnRule | Mapping[str, Any], *, name: str, column: str,
                 text: pd.Series | None = None) -> list[DataResult]:
    """The per-column rules (its record, or the mapping as written), in a fixed order: dtype, nulls,
    range, allowed, unique, regex.

    ``text`` is the column as written in the file, used by ``regex`` when given.
    """
    import numpy as np  # heavy: loaded when data is checked, not at start-up
    import pandas as pd

    rules = rules if isinstance(rules, ColumnRule) else build(ColumnRule, rules)
    out: list[DataResult] = []
    null = series.isna().to_numpy()
    n = len(series)
    if rules.dtype is not None:
        out.append(_dtype(series, rules.dtype, null, name, column))
    if rules.nullable is False:
        count = int(null.sum())
        out.append(_result(name, "nullable", column, count == 0, False, count, count, _rows_of(null),
                           f"{column}: {_n(count)} with a missing value" if count else f"{column}: no missing values"))
    if rules.max_null_fraction is not None:
        bound = rules.max_null_fraction
        share = float(null.mean()) if n else 0.0
        ok = share <= bound + 1e-12
        out.append(_result(name, "max_null_fraction", column, ok, bound, round(share, 6), int(null.sum()),
                           _rows_of(null) if not ok else [],
                           f"{column}: {share:.2%} missing ({'within' if ok else 'over'} max {bound:.2%})"))
    if rules.min is not None or rules.max is not None:
        numbers = series if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series) \
            else pd.to_numeric(series, errors="coerce")
        values = numbers.to_numpy(dtype="float64", na_value=np.nan)
        not_number = np.isnan(values) & ~null
        for rule, limit in (("min", rules.min), ("max", rules.max)):
            if limit is None:
                continue
            bound = limit
            with np.errstate(invalid="ignore"):
                bad = (values < bound) if rule == "min" else (values > bound)
            bad = bad | not_number
            count = int(bad.sum())
            word = "below min" if rule == "min" else "above max"
            finite = values[~np.isnan(values)]
            value = None if not len(finite) else _plain(finite.min() if rule == "min" else finite.max())
            message = (f"{column}: {_n(count)} {word} {bound}{_examples(series, bad)}"
                       + (f" ({int(not_number.sum())} not a number)" if not_number.any() else "")) if count \
                else f"{column}: all values {'>=' if rule == 'min' else '<='} {bound}"
            out.append(_result(name, rule, column, count == 0, bound, value, count, _rows_of(bad), message))
    if rules.allowed is not None:
        allowed = list(rules.allowed)
        bad = ~series.isin(allowed).to_numpy() & ~null
        if bad.any():  # "1" in the file vs 1 in the config: compare as text before failing
            texts = {str(a) for a in allowed}
            rescued = series[bad].astype(str).isin(texts).to_numpy()
            bad[np.flatnonzero(bad)[rescued]] = False
        count = int(bad.sum())
        unknown = series[bad].drop_duplicates().head(EXAMPLES).tolist()
        message = (f"{column}: {_n(count)} with a value not in allowed ({', '.join(map(repr, unknown))}"
                   f"{', ...' if series[bad].nunique() > EXAMPLES else ''})") if count \
            else f"{column}: all values allowed"
        out.append(_result(name, "allowed", column, count == 0, allowed, [_plain(u) for u in unknown] or None,
                           count, _rows_of(bad), message))
    if rules.unique:
        bad = (series.duplicated(keep="first").to_numpy() & ~null)
        count = int(bad.sum())
        message = f"{column}: {_n(count)} repeating an earlier value{_examples(series, bad)}" if count \
            else f"{column}: all values unique"
        out.append(_result(name, "unique", column, count == 0, True, count, count, _rows_of(bad), message))
    if rules.regex is not None:
        pattern = rules.regex
        subject = text if text is not None else series
        bad = ~_fullmatch(subject, pattern, column) & ~null
        count = int(bad.sum())
        message = f"{column}: {_n(count)} not matching /{pattern}/{_examples(subject, bad)}" if count \
            else f"{column}: all values match /{pattern}/"
        out.append(_result(name, "regex", column, count == 0, pattern, None, count, _rows_of(bad), message))
    return out


def is_text(series: pd.Series) -> bool:
    """Whether a column holds text as loaded (object or string dtype), so a regex can read it as is."""
    import pandas as pd  # heavy: loaded when data is checked, not at start-up

    return bool(series.dtype == object or pd.api.types.is_string_dtype(series))


def check_leakage(frame: pd.DataFrame, other: pd.DataFrame, spec: Leakage, *,
                  name: str, other_name: str) -> DataResult:
    """Rows of ``frame`` whose key columns also appear in ``other`` (hash join, no merge)."""
    import numpy as np  # heavy: loaded when data is checked, not at start-up

    on = list(spec.on or [c for c in frame.columns if c in set(other.columns)])
    if not on:
        raise UserError(f"data.{name}.leakage: {name} and {other_name} share no column; set leakage.on")
    for table, label in ((frame, name), (other, other_name)):
        missing = [c for c in on if c not in table.columns]
        if missing:
            raise UserError(f"{label}: no column {', '.join(map(repr, missing))} "
                            f"(named in data.{name}.leakage.on; the file has: {_list(table.columns)})")
    bound = spec.max
    mine, theirs = row_hashes(frame[on], other[on])
    shared = np.isin(mine, theirs)
    count = int(shared.sum())
    ok = count <= bound
    keys = ", ".join(on) if len(on) <= 4 else f"{len(on)} columns"
    message = (f"{_n(count)} also in {other_name} (on {keys}; max {bound})" if count
               else f"no rows shared with {other_name} (on {keys})")
    return _result(name, "leakage", None, ok, bound, count, count, _rows_of(shared) if count else [], message)


def _rows(frame: pd.DataFrame, low: int | None, high: int | None, name: str) -> DataResult:
    n = len(frame)
    ok = (low is None or n >= low) and (high is None or n <= high)
    bounds = " and ".join(x for x in (f"min {low}" if low is not None else "",
                                      f"max {high}" if high is not None else "") if x)
    verb = "within" if ok else "outside"
    written = {key: value for key, value in (("min", low), ("max", high)) if value is not None}
    return _result(name, "rows", None, ok, written, n, 0, [],
                   f"{_n(n)} ({verb} {bounds})")


def _duplicates(frame: pd.DataFrame, bound: int, name: str) -> DataResult:
    dup = frame.duplicated(keep="first").to_numpy()
    count = int(dup.sum())
    ok = count <= bound
    message = f"{_n(count)} duplicating an earlier row (max {bound})" if count else "no duplicate rows"
    return _result(name, "duplicates", None, ok, bound, count, count, _rows_of(dup) if count else [], message)


def _dtype(series: pd.Series, want: str, null: np.ndarray, name: str, column: str) -> DataResult:
    """Does the column hold ``want``? Values that are not are counted, with examples."""
    import numpy as np  # heavy: loaded when data is checked, not at start-up
    import pandas as pd

    types = pd.api.types
    have = str(series.dtype)
    is_bool = types.is_bool_dtype(series)
    is_num = types.is_numeric_dtype(series) and not is_bool
    bad: np.ndarray | None = None
    if want == "number" or want == "float":
        ok = is_num
        if not ok and not is_bool:
            bad = pd.to_numeric(series, errors="coerce").isna().to_numpy() & ~null
    elif want == "int":
        ok = types.is_integer_dtype(series) and not is_bool
        if not ok and not is_bool:  # CSV ints with gaps load as float: whole numbers are fine
            numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(invalid="ignore"):
                bad = (np.isnan(numbers) | (numbers != np.floor(numbers))) & ~null
            ok = not bad.any()
    elif want == "bool":
        ok = is_bool
        if not ok:
            bad = ~series.isin([True, False, 0, 1, "true", "false", "True", "False"]).to_numpy() & ~null
            ok = not bad.any()
    elif want == "datetime":
        ok = types.is_datetime64_any_dtype(series)
        if not ok:
            bad = pd.to_datetime(series, errors="coerce", format="mixed").isna().to_numpy() & ~null if not is_num \
                else ~null
            ok = not bad.any()
    elif want == "string":
        ok = types.is_string_dtype(series) or series.dtype == object
        if ok and series.dtype == object:
            bad = ~series.map(lambda v: isinstance(v, str), na_action="ignore").fillna(True).to_numpy(dtype=bool)
            ok = not bad.any()
        elif not ok:
            bad = ~null
    else:  # category: any discrete type
        ok = isinstance(series.dtype, pd.CategoricalDtype) or types.is_string_dtype(series) \
            or series.dtype == object or is_bool or types.is_integer_dtype(series)
        if not ok:
            bad = ~null
    count = 0 if ok else int(bad.sum()) if bad is not None else int((~null).sum())
    if ok:
        return _result(name, "dtype", column, True, want, have, 0, [], f"{column}: {want} ({have})")
    rows = bad if bad is not None else ~null
    return _result(name, "dtype", column, False, want, have, count, _rows_of(rows),
                   f"{column}: expected {want}, got {have}" + (f"; {_n(count)} not {want}{_examples(series, rows)}"
                                                              if bad is not None else ""))


def _fullmatch(series: pd.Series, pattern: str, column: str) -> np.ndarray:
    """Full regex match per value (missing values count as matching): pyarrow's RE2, else Python's re."""
    import numpy as np  # heavy: loaded when data is checked, not at start-up
    import pandas as pd

    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise UserError(f"data: column {column}: regex {pattern!r} is invalid: {exc}") from exc
    present = series.notna().to_numpy()
    text = series[present]
    try:
        if not (isinstance(text.dtype, pd.StringDtype) and text.dtype.storage == "pyarrow"):
            text = text.astype(str).astype("string[pyarrow]")
        matched = text.str.fullmatch(pattern).to_numpy(dtype=bool, na_value=False)
    except Exception:  # a pattern RE2 does not support (look-arounds, backreferences), or no pyarrow
        matched = np.fromiter((compiled.fullmatch(str(v)) is not None for v in text), dtype=bool, count=len(text))
    out = np.ones(len(series), dtype=bool)
    out[present] = matched
    return out


def row_hashes(*frames: pd.DataFrame) -> list[np.ndarray]:
    """A 64-bit hash per row for frames with the same columns, comparable across the frames.

    Text columns are factorized over all frames together first (hashing a million
    Python strings is ~10x slower than factorizing them); a column whose type
    differs between frames (ids as numbers here, as text there) is compared as text.
    """
    import numpy as np  # heavy: loaded when data is checked, not at start-up
    import pandas as pd

    types = pd.api.types
    encoded = {}
    for i, column in enumerate(frames[0].columns):
        parts = [frame.iloc[:, i] if frame.columns[i] == column else frame[column] for frame in frames]
        numeric = [types.is_numeric_dtype(p) and not types.is_bool_dtype(p) for p in parts]
        if all(numeric):
            dtype = parts[0].dtype if all(p.dtype == parts[0].dtype for p in parts) else np.float64
            encoded[str(i)] = np.concatenate([p.to_numpy(dtype=dtype, na_value=np.nan) if dtype == np.float64
                                              else p.to_numpy() for p in parts])
        else:
            if len({str(p.dtype) for p in parts}) > 1:
                parts = [p.astype(str).where(p.notna(), None) for p in parts]
            encoded[str(i)] = pd.factorize(pd.concat(parts, ignore_index=True))[0]
    hashes = pd.util.hash_pandas_object(pd.DataFrame(encoded), index=False).to_numpy()
    return np.split(hashes, np.cumsum([len(f) for f in frames])[:-1])


# -- reading the files ------------------------------------------------------------------


def required_columns(spec: DataFile | Mapping[str, Any]) -> list[str] | None:
    """Columns one ``data:`` entry needs, or None when it needs them all."""
    spec = data_file(spec)
    leakage = spec.leakage
    if spec.schema == "strict" or spec.duplicates is not None or (leakage is not None and not leakage.on):
        return None
    wanted = list(spec.columns or {})
    wanted += [c for c in (leakage.on if leakage is not None and leakage.on else ()) if c not in wanted]
    return wanted or None


def load_data(root: Path, path: str, *, columns: list[str] | None = None, fmt: str | None = None,
              pull: Callable[[Path, str], None] | None = None, at: Path | None = None) -> pd.DataFrame:
    """Read a data file: from the workspace, else from the DVC cache by its hash, else ``dvc pull`` it.

    ``at``: where :func:`locate_data` found its content, when the caller located it already.
    """
    fmt = detect_format(path, fmt)
    actual = at if at is not None else locate_data(root, path, pull=pull)
    try:
        return read_table(actual, columns=columns, fmt=fmt)
    except UserError as exc:  # name the configured path, not a cache file
        raise UserError(exc.message.replace(str(actual), path)) from exc


def load_text_columns(root: Path, path: str, columns: list[str], *, fmt: str | None = None,
                      at: Path | None = None) -> pd.DataFrame | None:
    """The CSV/TSV cells of ``columns`` as written (``007`` stays ``007``), for regex checks; None for other formats.

    ``at``: as for :func:`load_data`.
    """
    fmt = detect_format(path, fmt)
    if fmt not in SEPARATORS or not columns:
        return None
    actual = at if at is not None else locate_data(root, path)
    try:
        return read_text_cells(actual, columns, fmt)
    except UserError as exc:  # name the configured path, not a cache file
        raise UserError(exc.message.replace(str(actual), path)) from exc


def locate_data(root: Path, path: str, *, pull: Callable[[Path, str], None] | None = None) -> Path:
    """Where the content of ``path`` is: the workspace, the DVC cache, or the workspace after ``dvc pull``."""
    local = inside(root, path, "data file")
    if local.is_file():
        return local
    tracked, cached = in_dvc_cache(root, path)
    if cached is not None:
        return cached
    if tracked:
        (pull or dvc_pull)(root, path)
        if local.is_file():
            return local
    raise UserError(f"{path}: no such file in the workspace or the DVC cache")


def in_dvc_cache(root: Path, path: str) -> tuple[bool, Path | None]:
    """Whether DVC tracks the file ``path`` (a stage output or a ``.dvc`` file's, maybe inside a
    tracked directory), and its object in the local cache (None when the cache lacks it).

    ``dvc.yaml``, ``dvc.lock`` and the ``.dvc`` files are read by :func:`ci_mlops.dvc.project.load_project`,
    the cache by :mod:`ci_mlops.dvc.cache`, as the report reads them.
    """
    location = locate(load_project(root, dvcfiles=True), path)
    if location is None:
        return False, None
    md5, hash_name = location.md5, location.hash_name
    if location.relpath is not None:
        files = manifest(root, md5, hash_name)
        if files is None:
            return True, None  # known to DVC, but only `dvc pull` can tell the file's hash
        if location.relpath not in files:
            return False, None  # the directory has no such file
        md5, hash_name = files[location.relpath]
    if md5.endswith(".dir"):
        return True, None  # a directory, not a file
    return True, next((p for p in object_paths(root, md5, hash_name) if p.is_file()), None)


def dvc_pull(root: Path, path: str) -> None:
    proc = run_dvc(root, "pull", path)
    if not proc.ok:
        raise UserError(f"{path}: not in the workspace or the DVC cache, and `dvc pull {path}` failed: "
                        f"{pull_problem(proc.stderr, path, default_remote(root), proc.returncode)}")


def pull_problem(stderr: str, path: str, remote: str | None = None, returncode: int = 1) -> str:
    """What went wrong in a failed ``dvc pull``, in one line, with the fix.

    DVC's own last line for data missing everywhere ("Checkout failed for following
    targets:") names neither the file nor what to do about it.
    """
    if "no default remote" in stderr or "No remote provided" in stderr:
        return "no DVC remote is configured; add one (`dvc remote add -d NAME URL`) and `dvc push` the data to it"
    if "Missing cache files" in stderr or "Checkout failed" in stderr:
        name = f"the DVC remote '{remote}'" if remote else "the DVC remote"
        return (f"{name} does not have {path} (or this step cannot read it); run `dvc push` where it was "
                "produced, and give this step the remote's credentials")
    lines = stderr.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("ERROR"):
            text = line.removeprefix("ERROR:").strip()
            tail = [x.strip() for x in lines[index + 1:index + 3] if x.strip() and not x.strip().startswith("<http")]
            return f"{text} {' '.join(tail)}".strip() if text.endswith(":") else text
    # no ERROR line (a dvc.lock DVC cannot parse): the first line that is not a warning, and the
    # reason under it (indented lines are DVC's excerpt of the file)
    rest = [line.rstrip() for line in lines if line.strip() and not line.startswith("WARNING")]
    if not rest:
        return f"exit {returncode}"
    reason = next((line for line in rest[1:] if not line[0].isspace()), "")
    return f"{rest[0].strip()} {reason}".strip()


# -- small helpers ------------------------------------------------------------------------


def _result(file: str, check: str, column: str | None, passed: bool, bound: Any, value: Any,
            failing_rows: int, examples: list[int], message: str) -> DataResult:
    return {"file": file, "check": check, "column": column, "passed": bool(passed), "bound": bound,
            "value": value, "failing_rows": int(failing_rows), "examples": examples, "message": message}


def _rows_of(mask: np.ndarray) -> list[int]:
    import numpy as np  # heavy: loaded when data is checked, not at start-up

    return [int(i) + 1 for i in np.flatnonzero(mask)[:EXAMPLES]]


def _examples(series: pd.Series, mask: np.ndarray) -> str:
    import numpy as np  # heavy: loaded when data is checked, not at start-up

    values = series.iloc[np.flatnonzero(mask)[:3]].tolist()
    return f" (e.g. {', '.join(repr(_plain(v)) for v in values)})" if values else ""


def _plain(value: Any) -> Any:
    """numpy scalars -> Python values, for JSON."""
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (ValueError, TypeError):
            pass
    try:
        if value != value:  # NaN
            return None
    except (TypeError, ValueError):  # pd.NA and friends refuse truth tests
        return None
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def _n(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"


def _list(items: Any) -> str:
    items = [str(i) for i in items]
    return ", ".join(items[:12]) + (f", ... ({len(items)} in all)" if len(items) > 12 else "")
