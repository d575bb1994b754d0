"""Read tabular data files (CSV, TSV, Parquet, JSON lines) for data checks and drift.

One loader, one set of error messages: a missing or unparsable file is a
:class:`UserError` naming the file. pandas is imported lazily so the CLI stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ci_mlops.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("csv", "tsv", "parquet", "jsonl")
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


def read_table(path: str | Path, columns: list[str] | None = None, fmt: str | None = None) -> "pd.DataFrame":
    """Load a data file into a DataFrame, reading only ``columns`` when given.

    Missing files, unparsable content, empty files and columns that are not in the
    file are one-line user errors naming the file.
    """
    import pandas as pd

    path = Path(path)
    kind = detect_format(path, fmt)
    if not path.is_file():
        raise UserError(f"{path}: no such file (is it tracked by DVC? run `dvc pull {path}`)")
    if kind == "parquet":
        wanted = list(columns) if columns else None
    else:
        wanted = None
    try:
        if kind == "csv" or kind == "tsv":
            sep = "," if kind == "csv" else "\t"
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
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: cannot read as {kind}: {reason}") from exc
    if columns:
        _require_columns(path, columns, frame.columns)
    return frame


def _require_columns(path: Path, wanted: list[str], present: "pd.Index") -> None:
    missing = [c for c in wanted if c not in present]
    if missing:
        shown = ", ".join(map(str, list(present)[:20])) + (", ..." if len(present) > 20 else "")
        raise UserError(f"{path}: no column {', '.join(repr(c) for c in missing)} (columns: {shown})")
