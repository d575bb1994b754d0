"""Build a typed record (ci_mlops.config.records) from validated YAML data.

Driven by the records' type hints, so a key is declared once, in its record. The data
has passed the JSON Schema (``ci_mlops.config.first_error``), so values are trusted to
have the declared types; lists become tuples and nested mappings become records.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping
from functools import cache

from ci_mlops.record import fields, is_record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from typing import Any, TypeVar

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
    origin, args = _shape(hint)
    if origin is _UNION:
        for option in args:
            if _fits(option, value):
                return convert(option, value)
        return value
    if isinstance(hint, type) and is_record(hint) and isinstance(value, Mapping):
        return build(hint, value)
    if origin is tuple and isinstance(value, (list, tuple)):
        return tuple(convert(args[0], v) for v in value)
    if origin is Mapping and isinstance(value, Mapping):
        return {k: convert(args[1], v) for k, v in value.items()}
    return value


_UNION = object()  # the origin _shape gives a union, ``A | B`` or typing's ``Union[A, B]``


def _shape(hint: object) -> tuple[object, tuple[object, ...]]:
    """``typing.get_origin`` and ``get_args`` of a field's type, a union's origin as ``_UNION``.

    The records' own types are ``A | B``, ``tuple[A, ...]`` and ``Mapping[K, V]``, which say it
    themselves; only a type typing made (``Literal[...]``, or a union with one) asks typing,
    which is loaded then. Importing it for every configured command would cost ~3 ms."""
    if isinstance(hint, types.UnionType):
        return _UNION, hint.__args__
    if isinstance(hint, types.GenericAlias):
        return hint.__origin__, hint.__args__
    typing = sys.modules.get("typing")
    if typing is None:
        return None, ()  # a class (a record, str, ...): nothing typing could have made
    origin = typing.get_origin(hint)
    return (_UNION if origin is typing.Union else origin), typing.get_args(hint)


def _fits(hint: object, value: object) -> bool:
    """Whether ``value`` belongs to the union member ``hint`` (only containers need choosing)."""
    origin, _ = _shape(hint)
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
    module = sys.modules[cls.__module__]
    return eval(annotation, vars(module), _ModuleNames(module))  # our own module's annotation text


def type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints`` of a record, its module's names made on first use included."""
    import typing  # lazy: see convert

    return typing.get_type_hints(cls, localns=_ModuleNames(sys.modules[cls.__module__]))


class _ModuleNames(dict[str, object]):
    """``eval``'s local names: a module's attributes, those its ``__getattr__`` makes on first
    use included (records.py's Literal aliases); anything else is looked up as usual."""

    def __init__(self, module: types.ModuleType) -> None:
        super().__init__()
        self.module = module

    def __missing__(self, name: str) -> object:
        try:
            return getattr(self.module, name)
        except AttributeError:
            raise KeyError(name) from None
