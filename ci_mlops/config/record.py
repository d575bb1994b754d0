"""``@record``: a frozen, keyword-only dataclass whose methods are not compiled at import.

Python 3.11's ``@dataclass`` writes ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__`` and ``__delattr__`` of each class as source text and ``exec``-compiles them:
for the 33 config records that was about 30 ms of every command's start-up, more than
reading and checking the file. ``record`` lets the dataclass machinery collect the fields
(so ``dataclasses.fields``, ``is_dataclass``, ``replace`` and ``asdict`` work as before)
and gives every record the same six methods, written once below, which read the fields at
run time. Records are built a few at a time per command, so the loops cost nothing.

For the type checker ``record`` is ``@dataclass(frozen=True, kw_only=True)``
(``dataclass_transform``): each class gets its typed ``__init__`` and read-only fields.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast, dataclass_transform

T = TypeVar("T")


def _init(self: Any, **values: Any) -> None:
    cls = type(self)
    for item in cls.__dataclass_fields__.values():
        if item.name in values:
            value = values.pop(item.name)
        elif item.default is not dataclasses.MISSING:
            value = item.default
        elif item.default_factory is not dataclasses.MISSING:
            value = item.default_factory()
        else:
            raise TypeError(f"{cls.__qualname__}.__init__() missing 1 required keyword-only argument: "
                            f"'{item.name}'")
        object.__setattr__(self, item.name, value)
    if values:
        raise TypeError(f"{cls.__qualname__}.__init__() got an unexpected keyword argument '{next(iter(values))}'")


def _values(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, name) for name in type(self).__dataclass_fields__)


def _repr(self: Any) -> str:
    inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self).__dataclass_fields__)
    return f"{type(self).__qualname__}({inner})"


def _eq(self: Any, other: object) -> object:
    if other.__class__ is not self.__class__:
        return NotImplemented
    equal: bool = _values(self) == _values(other)
    return equal


def _hash(self: Any) -> int:
    return hash(_values(self))


def _setattr(self: Any, name: str, value: object) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: type[T]) -> type[T]:
    """The class as a frozen, keyword-only dataclass (equality and hash by field values)."""
    for name in vars(cls).get("__annotations__", {}):  # what @dataclass refuses, refused here too
        value = vars(cls).get(name)
        if isinstance(value, (list, dict, set)):
            raise ValueError(f"mutable default {type(value)} for field {name} is not allowed: use default_factory")
    methods = {"__init__": _init, "__repr__": _repr, "__eq__": _eq, "__hash__": _hash,
               "__setattr__": _setattr, "__delattr__": _delattr}
    for name, method in methods.items():
        if name in vars(cls):
            raise TypeError(f"{cls.__name__} defines {name}: a record's methods are the same for every record")
        setattr(cls, name, method)
    # The methods are in place first: a class without a docstring gets ``inspect.signature(cls)``
    # as one, which for object's own __init__ would parse its text signature (tokenize: ~10 ms).
    dataclass: Any = dataclasses.dataclass(init=False, repr=False, eq=False, kw_only=True)
    return cast(type[T], dataclass(cls))
