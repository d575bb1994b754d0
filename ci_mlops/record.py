"""``@record``: a dataclass without the ``dataclasses`` module, and without compiling methods.

``import dataclasses`` brings ``inspect``, ``ast``, ``dis`` and ``tokenize`` (~9 ms), and each
``@dataclass`` writes its ``__init__``, ``__repr__``, ``__eq__`` and friends as source text and
``exec``-compiles them: on the path of ``ci-mlops report``, which every pull request runs, that
was more than reading, diffing and rendering the report. ``record`` reads the class's fields
the way ``@dataclass`` does (annotations in order, defaults, :func:`field`, inherited records'
fields first) and gives every record the same methods, written once below, which read the
fields at run time. Records are built a few at a time, so the loops cost nothing.

``@record`` is ``@dataclass(frozen=True, kw_only=True)`` (the config records), ``@frozen_record``
is ``@dataclass(frozen=True)`` and ``@mutable_record`` a plain ``@dataclass``. Construction,
defaults, errors, ``repr``, equality, hashing, immutability and ``__post_init__`` behave as the
dataclass's (tests/unit/test_record.py compares them), and ``dataclasses.fields``,
``is_dataclass``, ``replace`` and ``asdict`` still work: ``__dataclass_fields__`` is made, with
the ``dataclasses`` module, the first time something asks for it. A record may not define the
methods it is given. For the type checker each decorator is a ``dataclass_transform``.
"""

from __future__ import annotations

import sys
from _thread import get_ident

TYPE_CHECKING = False  # typing's constant without importing typing (mypy reads it as typing's)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, TypeVar, dataclass_transform

    T = TypeVar("T")
else:
    def dataclass_transform(**_options):  # typing's, which only the type checker reads
        return lambda function: function

__all__ = ["MISSING", "Field", "field", "fields", "frozen_record", "is_record", "mutable_record", "record", "replace"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # "no default", as dataclasses.MISSING
_EMPTY: Mapping[str, Any] = {}


class Field:
    """One field of a record, with the options of ``dataclasses.field``."""

    __slots__ = ("compare", "default", "default_factory", "hash", "init", "kw_only", "metadata", "name",
                 "repr", "type")

    def __init__(self, default: Any, default_factory: Any, init: bool, repr: bool, hash: bool | None,
                 compare: bool, metadata: Mapping[str, Any] | None, kw_only: Any) -> None:
        self.name = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.hash = hash
        self.compare = compare
        self.metadata = _EMPTY if metadata is None else metadata
        self.kw_only = kw_only

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r}, default_factory={self.default_factory!r})"


def field(*, default: Any = MISSING, default_factory: Any = MISSING, init: bool = True,
          repr: bool = True, hash: bool | None = None, compare: bool = True,
          metadata: Mapping[str, Any] | None = None, kw_only: bool | Any = MISSING) -> Any:
    """``dataclasses.field`` for a record."""
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, init, repr, hash, compare, metadata, kw_only)


def fields(cls_or_record: Any) -> tuple[Field, ...]:
    """The record's fields, in order (``dataclasses.fields`` without its module)."""
    try:
        found: tuple[Field, ...] = cls_or_record.__record_fields__
    except AttributeError:
        raise TypeError("must be called with a record type or instance") from None
    return found


def is_record(obj: object) -> bool:
    """Whether ``obj`` is a record class or instance (``dataclasses.is_dataclass``)."""
    return hasattr(obj, "__record_fields__")


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of the record ``obj`` with ``changes`` (``dataclasses.replace``)."""
    for item in fields(obj):
        if not item.init:
            if item.name in changes:
                raise ValueError(f"field {item.name} is declared with init=False, it cannot be specified with replace()")
            continue
        if item.name not in changes:
            changes[item.name] = getattr(obj, item.name)
    made: T = type(obj)(**changes)
    return made


# -- the methods every record shares ------------------------------------------------------


def _init(self: Any, *args: Any, **values: Any) -> None:
    cls = type(self)
    if args or values:
        _check_arguments(cls, args, values)
        values.update(zip(cls.__record_positional__, args, strict=False))
    missing: list[Field] = []
    for item in cls.__record_fields__:
        if item.name in values and item.init:
            value = values[item.name]
        elif item.default is not MISSING:
            value = item.default
        elif item.default_factory is not MISSING:
            value = item.default_factory()
        elif item.init:
            missing.append(item)
            continue
        else:
            continue  # init=False without a default: left unset, as by @dataclass
        object.__setattr__(self, item.name, value)
    if missing:
        raise TypeError(_missing_message(cls, missing))
    post_init = getattr(self, "__post_init__", None)
    if post_init is not None:
        post_init()


def _check_arguments(cls: Any, args: tuple[Any, ...], values: dict[str, Any]) -> None:
    """Python's own errors for arguments a compiled ``__init__`` would refuse, in its order."""
    positional: tuple[str, ...] = cls.__record_positional__
    bound = positional[:len(args)]
    for name in values:
        if name not in cls.__record_init__:
            raise TypeError(f"{cls.__qualname__}.__init__() got an unexpected keyword argument '{name}'")
        if name in bound:
            raise TypeError(f"{cls.__qualname__}.__init__() got multiple values for argument '{name}'")
    if len(args) > len(positional):
        count, defaults = len(positional) + 1, cls.__record_defaults__
        signature = f"from {count - defaults} to {count}" if defaults else str(count)
        given, keyword_only = len(args) + 1, sum(1 for name in values if name not in positional)
        extra = (f" positional argument{'s' if given != 1 else ''} (and {keyword_only} keyword-only "
                 f"argument{'s' if keyword_only != 1 else ''})") if keyword_only else ""
        raise TypeError(f"{cls.__qualname__}.__init__() takes {signature} positional argument"
                        f"{'s' if defaults or count != 1 else ''} but {given}{extra} were given")


def _missing_message(cls: type, missing: list[Field]) -> str:
    """Python's own words for missing arguments (as a compiled ``__init__`` raises them)."""
    # Python names the missing positional arguments first, if any, else the keyword-only ones
    kw = [f for f in missing if f.kw_only]
    group = [f for f in missing if not f.kw_only] or kw
    kind = "keyword-only argument" if group is kw else "positional argument"
    names = [f"'{f.name}'" for f in group]
    listed = names[0] if len(names) == 1 else (
        f"{names[0]} and {names[1]}" if len(names) == 2 else ", ".join(names[:-1]) + f", and {names[-1]}")
    return f"{cls.__qualname__}.__init__() missing {len(group)} required {kind}{'s' if len(group) > 1 else ''}: {listed}"


def _compared(self: Any) -> tuple[Any, ...]:
    return tuple([getattr(self, name) for name in type(self).__record_compare__])


_REPR_RUNNING: set[tuple[int, int]] = set()


def _repr(self: Any) -> str:
    key = (id(self), get_ident())
    if key in _REPR_RUNNING:
        return "..."  # a record inside itself, as dataclasses' recursive_repr says it
    _REPR_RUNNING.add(key)
    try:
        inner = ", ".join([f"{name}={getattr(self, name)!r}" for name in type(self).__record_repr__])
    finally:
        _REPR_RUNNING.discard(key)
    return f"{type(self).__qualname__}({inner})"


def _eq(self: Any, other: object) -> object:
    if other.__class__ is not self.__class__:
        return NotImplemented
    equal: bool = _compared(self) == _compared(other)
    return equal


def _hash(self: Any) -> int:
    return hash(tuple([getattr(self, name) for name in type(self).__record_hash__]))


def _frozen_error(message: str) -> Exception:
    from dataclasses import FrozenInstanceError  # lazy: only a wrong assignment needs the dataclasses module

    return FrozenInstanceError(message)


def _setattr(self: Any, name: str, value: object) -> None:
    raise _frozen_error(f"cannot assign to field {name!r}")


def _delattr(self: Any, name: str) -> None:
    raise _frozen_error(f"cannot delete field {name!r}")


class _DataclassFields:
    """``__dataclass_fields__``, made the first time it is read (``dataclasses.fields``,
    ``is_dataclass``, ``replace``, ``asdict``): by ``@dataclass`` itself, from the record's
    fields, on a stand-in class with the same annotations and defaults."""

    def __get__(self, instance: object, owner: type) -> dict[str, Any]:
        import dataclasses  # lazy: only code that asks a record for its dataclass fields needs the module

        namespace: dict[str, Any] = {"__module__": owner.__module__, "__qualname__": owner.__qualname__,
                                     "__annotations__": {f.name: f.type for f in fields(owner)}}
        for f in fields(owner):
            namespace[f.name] = dataclasses.field(
                default=f.default if f.default is not MISSING else dataclasses.MISSING,
                default_factory=f.default_factory if f.default_factory is not MISSING else dataclasses.MISSING,
                init=f.init, repr=f.repr, hash=f.hash, compare=f.compare, metadata=f.metadata or None,
                kw_only=f.kw_only)
        stand_in = type(owner.__name__, (), namespace)
        made: Any = dataclasses.dataclass(init=False, repr=False, eq=False)(stand_in)
        found: dict[str, Any] = made.__dataclass_fields__
        return found


_METHODS = {"__init__": _init, "__repr__": _repr, "__eq__": _eq, "__hash__": _hash, "__setattr__": _setattr,
            "__delattr__": _delattr}


@dataclass_transform(kw_only_default=True, frozen_default=True, eq_default=True, field_specifiers=(field,))
def record(cls: type[T]) -> type[T]:
    """The class as ``@dataclass(frozen=True, kw_only=True)``."""
    return _make(cls, frozen=True, kw_only=True)


@dataclass_transform(frozen_default=True, eq_default=True, field_specifiers=(field,))
def frozen_record(cls: type[T]) -> type[T]:
    """The class as ``@dataclass(frozen=True)``."""
    return _make(cls, frozen=True, kw_only=False)


@dataclass_transform(eq_default=True, field_specifiers=(field,))
def mutable_record(cls: type[T]) -> type[T]:
    """The class as ``@dataclass``: fields may be assigned, instances are not hashable."""
    return _make(cls, frozen=False, kw_only=False)


def _make(cls: type[T], *, frozen: bool, kw_only: bool) -> type[T]:
    own = vars(cls)
    for name in _METHODS:
        if name in own and not (name == "__hash__" and own[name] is None and "__eq__" not in own):
            raise TypeError(f"{cls.__name__} defines {name}: a record's methods are the same for every record")
    collected: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for item in vars(base).get("__record_fields__", ()):
            collected[item.name] = item
    dataclasses = sys.modules.get("dataclasses")  # a dataclasses.field() here means the module is loaded
    for name, annotation in own.get("__annotations__", {}).items():
        if isinstance(annotation, str) and annotation.startswith(("ClassVar", "typing.ClassVar", "InitVar")):
            raise TypeError(f"{cls.__name__}.{name}: ClassVar and InitVar are not supported by @record")
        value = own.get(name, MISSING)
        if dataclasses is not None and isinstance(value, dataclasses.Field):
            value = _from_dataclasses(value, dataclasses.MISSING)
        if isinstance(value, Field):
            item = value
            if item.kw_only is MISSING:
                item.kw_only = kw_only
        else:
            item = Field(value, MISSING, True, True, None, True, None, kw_only)
        item.name, item.type = name, annotation
        if item.default is not MISSING and type(item.default).__hash__ is None:
            raise ValueError(f"mutable default {type(item.default)} for field {name} is not allowed: "
                             "use default_factory")
        if item is value:  # as @dataclass: the default stays as the class attribute, a field() goes
            if item.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, item.default)
        collected[name] = item  # a redefined field keeps its place
    items = tuple(collected.values())
    # What the shared methods read, in one pass over the fields (as @dataclass's methods would see them)
    positional: list[str] = []
    init, shown, compared, hashed = [], [], [], []
    defaults, seen_default = 0, ""
    for f in items:
        if f.init:
            init.append(f.name)
            if not f.kw_only:
                positional.append(f.name)
                if f.default is not MISSING or f.default_factory is not MISSING:
                    defaults, seen_default = defaults + 1, f.name
                elif seen_default:
                    raise TypeError(f"non-default argument {f.name!r} follows default argument")
        if f.repr:
            shown.append(f.name)
        if f.compare:
            compared.append(f.name)
        if f.compare if f.hash is None else f.hash:
            hashed.append(f.name)
    methods: dict[str, Any] = {
        "__record_fields__": items, "__record_positional__": tuple(positional), "__record_init__": frozenset(init),
        "__record_defaults__": defaults, "__record_repr__": tuple(shown), "__record_compare__": tuple(compared),
        "__record_hash__": tuple(hashed), "__match_args__": tuple(positional),
        "__dataclass_fields__": _DATACLASS_FIELDS, "__init__": _init, "__repr__": _repr, "__eq__": _eq,
        "__hash__": _hash if frozen else None,
    }
    if frozen:
        methods.update({"__setattr__": _setattr, "__delattr__": _delattr})
    if cls.__doc__ is None:  # as @dataclass: the signature, as inspect.signature writes it (when read)
        methods["__doc__"] = _SIGNATURE_DOC
    for name, value in methods.items():
        setattr(cls, name, value)
    return cls


def _from_dataclasses(value: Any, missing: Any) -> Field:
    """A ``dataclasses.field(...)`` written in a record, as this module's :class:`Field`."""

    def ours(option: Any) -> Any:
        return MISSING if option is missing else option

    return Field(ours(value.default), ours(value.default_factory), value.init, value.repr, value.hash,
                 value.compare, dict(value.metadata) or None, ours(value.kw_only))


class _SignatureDoc:
    """A record's ``__doc__`` when it has no docstring: its signature, written when first read
    (``help()``, ``inspect.getdoc``), not for every record class at import."""

    def __get__(self, instance: object, owner: type) -> str:
        return owner.__name__ + _signature(fields(owner))


_DATACLASS_FIELDS = _DataclassFields()
_SIGNATURE_DOC = _SignatureDoc()


def _signature(items: tuple[Field, ...]) -> str:
    parts: list[str] = []
    starred = False
    for f in items:
        if not f.init:
            continue
        if f.kw_only and not starred:
            parts.append("*")
            starred = True
        text = f"{f.name}: {f.type!r}" if isinstance(f.type, str) else f"{f.name}: {getattr(f.type, '__name__', f.type)}"
        if f.default is not MISSING:
            text += f" = {f.default!r}"
        elif f.default_factory is not MISSING:
            text += " = <factory>"
        parts.append(text)
    return f"({', '.join(parts)})"
