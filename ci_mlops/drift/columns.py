"""Column kinds, inferred the way Evidently 0.7 infers them, so verdicts are comparable.

* float -> numeric
* integer -> categorical when it has at most 10 distinct values, else numeric
* bool, pandas category -> categorical (string categories follow the string rule)
* strings -> categorical, or text when more than half the non-missing values are
  distinct (ids, free text: not compared, reported as skipped)
* datetimes and anything else -> skipped
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ci_mlops.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

INTEGER_CARDINALITY_LIMIT = 10
NUMERIC = "numeric"
CATEGORICAL = "categorical"
TEXT = "text"
DATETIME = "datetime"
UNKNOWN = "unknown"
COMPARABLE = (NUMERIC, CATEGORICAL)


def infer_kind(series: pd.Series) -> str:
    """The kind of a column (numeric, categorical, text, datetime or unknown)."""
    import pandas as pd  # lazy: pandas is slow to import

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(dtype.categories.dtype):
        # strings read as categories (Parquet dictionaries): same rule as plain strings
        present = int(series.count())
        if present == 0:
            return UNKNOWN
        return TEXT if series.nunique() > present * 0.5 else CATEGORICAL
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return CATEGORICAL
    if pd.api.types.is_float_dtype(dtype):
        return NUMERIC
    if pd.api.types.is_integer_dtype(dtype):
        return CATEGORICAL if series.nunique() <= INTEGER_CARDINALITY_LIMIT else NUMERIC
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATETIME
    if pd.api.types.is_string_dtype(dtype) or dtype == object:  # noqa: E721 - a NumPy dtype equals object, is not it
        present = series.dropna()
        if present.empty:
            return UNKNOWN
        if dtype == object and not (isinstance(present.iloc[0], str) and isinstance(present.iloc[-1], str)):  # noqa: E721
            return UNKNOWN
        return TEXT if present.nunique() > present.size * 0.5 else CATEGORICAL
    return UNKNOWN


def is_numeric_dtype(series: pd.Series) -> bool:
    import pandas as pd  # lazy: pandas is slow to import

    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)


def select_columns(reference: str, ref_cols: list[str], current: str, cur_cols: list[str],
                   columns: Iterable[str] | None, exclude: Iterable[str],
                   ignore_in_current: Iterable[str] = ()) -> tuple[list[str], list[str], list[str]]:
    """(compared, reference-only, current-only) columns, the same for every engine.

    ``columns`` limits the comparison (each must be on both sides; one-sided columns are
    then not reported), else every common column not in ``exclude``. ``reference`` and
    ``current`` name the two sides in error messages.
    """
    exclude, ignore = set(exclude), set(ignore_in_current)
    if columns:
        for name in columns:
            for label, cols in ((reference, ref_cols), (current, cur_cols)):
                if name not in cols:
                    raise UserError(f"{label}: no column '{name}' (columns: {', '.join(cols[:20])})")
        wanted = [c for c in columns if c not in exclude]
        only_ref: list[str] = []
        only_cur: list[str] = []
    else:
        wanted = [c for c in ref_cols if c in cur_cols and c not in exclude]
        only_ref = [c for c in ref_cols if c not in cur_cols and c not in exclude]
        only_cur = [c for c in cur_cols if c not in ref_cols and c not in exclude and c not in ignore]
    if not wanted:
        raise UserError(f"{reference} and {current} have no common columns to compare "
                        f"(reference: {', '.join(ref_cols[:10]) or 'none'}; "
                        f"current: {', '.join(cur_cols[:10]) or 'none'})")
    return wanted, only_ref, only_cur
