"""Build a typed record (ci_mlops.config.records) from validated YAML data.

Driven by the records' type hints, so a key is declared once, in its record. The data
has passed the JSON Schema (``ci_mlops.config.first_error``), so values are trusted to
have the declared types; lists become tuples and nested mappings become records.
"""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar, get_args, get_origin

from ci_mlops.record import fields, is_record

T = TypeVar("T")


def build(cls: type[T], data: Mapping[str, object]) -> T:
    """The record ``cls`` for the mapping ``data`` (absent keys take the record's defaults)."""
    if not is_record(cls):
        raise TypeError(f"{cls!r} is not a record")
    values: dict[str, object] = {}
    record_type: type = cls  # hashable for _hint's cache, as the type checker sees it
    for item in fields(cls):
        name = item.metadata.get("key", item.name)
        if name in data:
            value = data[name]
            # only a container is shaped by its type: a scalar stays as it is (see convert)
            values[item.name] = convert(_hint(record_type, item.name), value) if isinstance(value, (list, tuple, Mapping)) else value
    return cls(**values)


def convert(hint: object, value: object) -> object:
    """``value`` shaped as the type ``hint`` says: records, tuples and mappings recursively."""
    if value is None:
        return None
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for option in get_args(hint):
            if _fits(option, value):
                return convert(option, value)
        return value
    if isinstance(hint, type) and is_record(hint) and isinstance(value, Mapping):
        return build(hint, value)
    if origin is tuple and isinstance(value, (list, tuple)):
        item = get_args(hint)[0]
        return tuple(convert(item, v) for v in value)
    if origin is Mapping and isinstance(value, Mapping):
        item = get_args(hint)[1]
        return {k: convert(item, v) for k, v in value.items()}
    return value


def _fits(hint: object, value: object) -> bool:
    """Whether ``value`` belongs to the union member ``hint`` (only containers need choosing)."""
    origin = get_origin(hint)
    if isinstance(value, (list, tuple)):
        return origin is tuple
    if isinstance(value, Mapping):
        return origin is Mapping or (isinstance(hint, type) and is_record(hint))
    return origin is not tuple and origin is not Mapping and not is_record(hint)


@cache
def _hint(cls: type, name: str) -> Any:
    """One field's type: evaluating all of a record's annotations (``typing.get_type_hints``)
    would cost a compile per field on every start-up, for fields the file does not have."""
    annotation = cls.__annotations__[name]
    if not isinstance(annotation, str):
        return annotation
    return eval(annotation, vars(sys.modules[cls.__module__]))  # our own module's annotation text
