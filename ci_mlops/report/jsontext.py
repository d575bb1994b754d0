"""A report as indented JSON text, written as ``json.dumps`` writes it, without its encoder in Python.

``json.dumps(indent=...)`` encodes in Python, one generator per list and mapping and a type test
chain per value: 14 ms for a report with ``--history 50`` over 200 metrics (10,000 values), where
the report itself takes about 20. :func:`dumps` writes plain data (mappings with string keys, lists,
tuples, strings, numbers, booleans, None) itself, every scalar by the function ``json`` uses for it,
and NaN and the infinities as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``. Anything
else (a date in a params file, a key that is not a string) leaves it to ``json.dumps``.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class _NotPlain(Exception):
    """A value that only ``json.dumps`` (with ``default=str``) writes."""


def dumps(value: Any, indent: int | None = 2) -> str:
    """``json.dumps(finite(value), indent=indent, ensure_ascii=False, allow_nan=False, default=str)``,
    where ``finite`` replaces each NaN or infinity by its name."""
    if indent is not None:  # without indent, json's encoder is C's
        try:
            return _text(value, " " * indent, "")
        except _NotPlain:
            pass
    return json.dumps(finite(value), indent=indent, ensure_ascii=False, allow_nan=False, default=str)


def finite(value: Any) -> Any:
    """``value`` with each NaN or infinity (invalid JSON) as the string "NaN", "Infinity" or "-Infinity"."""
    if isinstance(value, float) and not math.isfinite(value):
        return _name(value)
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _name(number: float) -> str:
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")


def _float(number: float) -> str:
    return float.__repr__(number) if math.isfinite(number) else f'"{_name(number)}"'


_FLOAT = frozenset({float})

# How json writes each scalar (its encoder's own functions); exact types: a subclass is not plain.
_SCALARS: dict[type, Callable[[Any], str]] = {
    str: encode_basestring, float: _float, int: int.__repr__, bool: lambda flag: "true" if flag else "false",
    type(None): lambda _: "null",
}


def _text(value: Any, pad: str, at: str) -> str:
    """``value`` at indentation ``at``, each level ``pad`` deeper."""
    kind = type(value)
    scalar = _SCALARS.get(kind)
    if scalar is not None:
        return scalar(value)
    inner = at + pad
    scalars = _SCALARS
    if kind is dict:
        if not value:
            return "{}"
        if not all(type(key) is str for key in value):
            raise _NotPlain
        items = [encode_basestring(key) + ": " + (scalars[type(item)](item) if type(item) in scalars
                                                  else _text(item, pad, inner)) for key, item in value.items()]
        return "{\n" + inner + (",\n" + inner).join(items) + "\n" + at + "}"
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        if _FLOAT.issuperset(map(type, value)) and math.isfinite(sum(value)):
            items = list(map(float.__repr__, value))  # finite floats only (a NaN or an infinity makes the sum one)
        else:
            items = [scalars[type(item)](item) if type(item) in scalars else _text(item, pad, inner) for item in value]
        return "[\n" + inner + (",\n" + inner).join(items) + "\n" + at + "]"
    raise _NotPlain
