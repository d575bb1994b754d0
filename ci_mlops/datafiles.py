"""Read tabular data files (CSV, TSV, Parquet, JSON lines): data checks, slices, drift, significance.

One reader, one set of error messages: a missing or unparsable file is a :class:`UserError`
naming the file. pandas and PyArrow are imported only when a file is read, so the CLI
stays fast. (The drift engines' streaming and DuckDB readers scan files on their own, with
the formats and reasons defined here.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from ci_mlops.errors import UserError, exhausted

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("csv", "tsv", "parquet", "jsonl")
SEPARATORS = {"csv": ",", "tsv": "\t"}
_BY_SUFFIX = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet",
              ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """The format named by ``fmt``, else by the file extension (``.csv.gz`` counts as csv)."""
    if fmt:
        if fmt not in FORMATS:
            raise UserError(f"{path}: unknown data format '{fmt}' (use one of {', '.join(FORMATS)})")
        return fmt
    suffixes = [s.lower() for s in Path(path).suffixes]
    for suffix in reversed(suffixes):
        if suffix in _BY_SUFFIX:
            return _BY_SUFFIX[suffix]
    raise UserError(f"{path}: cannot tell the data format from the extension (set format: csv|tsv|parquet|jsonl)")


def _no_file(path: Path) -> UserError:
    return UserError(f"{path}: no such file (is it tracked by DVC? run `dvc pull {path}`)")


def read_header(path: str | Path, fmt: str | None = None) -> list[str] | None:
    """Column names without reading the data; None when the format needs a full read (JSON
    lines) or the file cannot be parsed (reading it then gives the one-line error)."""
    path = Path(path)
    kind = detect_format(path, fmt)
    if not path.is_file():
        raise _no_file(path)
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq  # heavy: only when a data file is read

            return [str(n) for n in pq.read_schema(path).names if not str(n).startswith("__index_level_")]
        if kind in SEPARATORS:
            import pandas as pd  # heavy: only when a data file is read

            return [str(c) for c in pd.read_csv(path, sep=SEPARATORS[kind], nrows=0).columns]
    except Exception:
        return None
    return None


def read_table(path: str | Path, columns: list[str] | None = None, fmt: str | None = None, *,
               categories: bool = False) -> pd.DataFrame:
    """Load a data file into a DataFrame, reading only ``columns`` when given.

    Missing files, unparsable content, empty files and columns that are not in the
    file are one-line user errors naming the file. With ``categories``, Parquet string
    columns come as pandas categoricals straight from their dictionary encoding (nothing
    materialised per row: what drift needs to count categories), and nested cells stay
    as PyArrow gives them.
    """
    import pandas as pd  # heavy: only when a data file is read

    path = Path(path)
    kind = detect_format(path, fmt)
    if not path.is_file():
        raise _no_file(path)
    if categories and kind == "parquet":
        return _parquet_categories(path, columns)
    if kind == "parquet":
        wanted = list(columns) if columns else None
    else:
        wanted = None
    try:
        if kind in SEPARATORS:
            sep = SEPARATORS[kind]
            usecols = None
            if columns:
                header = pd.read_csv(path, sep=sep, nrows=0).columns
                _require_columns(path, columns, header)
                usecols = list(columns)
            frame = pd.read_csv(path, sep=sep, usecols=usecols, low_memory=False)
        elif kind == "parquet":
            frame = pd.read_parquet(path, columns=wanted)
        else:
            frame = pd.read_json(path, lines=True)
            if columns:
                _require_columns(path, columns, frame.columns)
                frame = frame[list(columns)]
    except UserError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise UserError(f"{path}: the file is empty") from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text") from exc
    except MemoryError:
        raise
    except Exception as exc:  # parsers raise many types; all mean "cannot parse"
        raise UserError(f"{path}: cannot read as {kind}: {reader_reason(exc)}") from exc
    if columns:
        _require_columns(path, columns, frame.columns)
    return hashable_nested(frame)


def _parquet_categories(path: Path, columns: list[str] | None) -> pd.DataFrame:
    import pyarrow as pa  # heavy: only when a data file is read
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        wanted = columns or [n for n in schema.names if not n.startswith("__index_level_")]
        missing = [c for c in wanted if c not in schema.names]
        if missing:
            raise UserError(f"{path}: no column {', '.join(repr(c) for c in missing)} "
                            f"(columns: {', '.join(schema.names[:20])})")
        strings = [c for c in wanted if pa.types.is_string(schema.field(c).type)
                   or pa.types.is_large_string(schema.field(c).type)]
        table = pq.read_table(path, columns=wanted, read_dictionary=strings or None)
        return table.to_pandas()
    except UserError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # pyarrow raises many types; all mean "cannot parse"
        raise UserError(f"{path}: cannot read as parquet: {reader_reason(exc)}") from exc


def read_text_cells(path: str | Path, columns: list[str], fmt: str) -> pd.DataFrame:
    """The CSV/TSV cells of ``columns`` exactly as written (``007`` stays ``007``), as strings."""
    import pandas as pd  # heavy: only when a data file is read

    try:
        return pd.read_csv(path, sep=SEPARATORS[fmt], usecols=columns, dtype=str)
    except Exception as exc:  # the typed read succeeded, so this is unexpected; say so plainly
        raise UserError(f"{path}: cannot read as {fmt}: {str(exc).strip().splitlines()[0]}") from exc


class Nested:
    """A list or mapping cell (Parquet list/struct columns, nested JSON lines) as a hashable value.

    Equal when the JSON text is equal, so duplicate, leakage, unique and allowed checks
    compare nested cells by content instead of failing on unhashable lists; it is no
    ``str``, so ``dtype: string`` still fails for it. Shown as its JSON text.
    """

    __slots__ = ("text",)

    def __init__(self, value: object):
        self.text = json.dumps(_plain(value), sort_keys=True, default=str, ensure_ascii=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Nested) and other.text == self.text

    def __hash__(self) -> int:
        return hash(("nested", self.text))

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def hashable_nested(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every list, mapping or array cell of an object column wrapped in :class:`Nested`."""
    for column in frame.columns:
        series = frame[column]
        if series.dtype != object:
            continue
        nested = series.map(_is_nested)
        if nested.any():
            frame[column] = series.where(~nested, series[nested].map(Nested))
    return frame


def _is_nested(value: object) -> bool:
    import numpy as np  # heavy: loaded with pandas when a data file is read

    return isinstance(value, (list, dict, tuple, np.ndarray))


def _plain(value: object) -> object:
    import numpy as np  # heavy: loaded with pandas when a data file is read

    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def reader_reason(exc: BaseException) -> str:
    """The first line of a reader's error, for "cannot read as ..." messages.

    Raises MemoryError instead when the cause is exhausted memory or threads (pyarrow
    reports those as generic errors), so the user hears that and not "cannot read".
    """
    text = str(exc).strip()
    if exhausted(exc):
        raise MemoryError(text.splitlines()[0] if text else "") from exc
    return text.splitlines()[0] if text else type(exc).__name__


def _require_columns(path: Path, wanted: list[str], present: pd.Index) -> None:
    missing = [c for c in wanted if c not in present]
    if missing:
        shown = ", ".join(map(str, list(present)[:20])) + (", ..." if len(present) > 20 else "")
        raise UserError(f"{path}: no column {', '.join(repr(c) for c in missing)} (columns: {shown})")
