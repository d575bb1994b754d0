"""Read the two data files for a drift check: only the needed columns, strings as categories.

Parquet goes straight through PyArrow with string columns read as dictionaries
(pandas categoricals): Parquet already stores them dictionary-encoded, so nothing is
materialised per row and counting categories is a bincount of the codes. Other
formats use :func:`ci_mlops.datafiles.read_table`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ci_mlops.errors import UserError
from ci_mlops.datafiles import detect_format, read_table, reader_reason

if TYPE_CHECKING:
    import pandas as pd


def read_header(path: Path) -> list[str] | None:
    """Column names without reading the data; None when the format needs a full read (JSON lines)."""
    kind = detect_format(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file (is it tracked by DVC? run `dvc pull {path}`)")
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            return [str(n) for n in pq.read_schema(path).names if not str(n).startswith("__index_level_")]
        if kind in ("csv", "tsv"):
            import pandas as pd

            return [str(c) for c in pd.read_csv(path, sep="," if kind == "csv" else "\t", nrows=0).columns]
    except Exception:  # let read_data produce the one-line error for unreadable files
        return None
    return None


def read_data(path: Path, columns: list[str] | None = None) -> "pd.DataFrame":
    """The table at ``path`` (only ``columns`` when given); UserError when it cannot be read."""
    if detect_format(path) != "parquet" or not path.is_file():
        return read_table(path, columns=columns)
    import pyarrow as pa
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
