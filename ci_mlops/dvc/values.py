"""Metrics and params files -> flat ``{dotted.key: value}`` dicts, the way DVC reads them.

Parsing follows DVC's loaders: ``.json`` with the json module, ``.toml`` as TOML,
every other suffix as YAML 1.2 (as DVC's ruamel does, so ``1e-3`` is a float and ``yes`` a string).
Metrics keep numbers, booleans and strings; lists, nulls and empty mappings are
dropped (DVC's ``_extract_metrics``). Params keep everything; lists become their
``str()`` (DVC's ``format_dict``). Nested mappings are flattened with dots.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ci_mlops.dvc.project import load_yaml
from ci_mlops.safeload import DocumentError, load_json, load_toml, yaml_error, yaml_syntax

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from typing import Any, TypeAlias, TypeGuard


class ParseError(ValueError):
    """A file's content cannot be read; the message names the problem (not the file)."""


def parse(data: bytes, path: str, *, as_written: bool = False) -> Any:
    """Decode and parse a file by its suffix; empty documents are ``{}`` as in DVC.

    DVC also turns every other falsy document (``null``, ``[]``, ``0``) into ``{}``;
    ``as_written`` keeps them (only a YAML file with no content at all is ``{}``), so a
    metrics file holding ``null`` is an error rather than every metric "removed".
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text (byte {exc.start})") from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    try:
        if suffix == "json":
            loaded = load_json(text)
            return loaded if as_written else loaded or {}
        if suffix == "toml":
            return load_toml(text) or {}
    except DocumentError as exc:
        raise ParseError(str(exc)) from None
    parsed = _parse_yaml(text)
    if as_written and parsed is None and _has_content(text):
        return None  # an explicit `null` / `~`, not an empty document
    return parsed if as_written and parsed is not None else parsed or {}


def _has_content(yaml_text: str) -> bool:
    for line in yaml_text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and line not in ("---", "..."):
            return True
    return False


def _parse_yaml(text: str) -> Any:
    try:
        return load_yaml(text)
    except DocumentError as exc:
        raise ParseError(str(exc)) from None
    except yaml_error() as exc:
        raise ParseError(yaml_syntax(exc)) from exc
    except (ValueError, TypeError) as exc:  # e.g. an unhashable mapping key
        raise ParseError(f"invalid YAML: {exc}") from exc


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def extract_metrics(value: Any) -> Any:
    """DVC's ``_extract_metrics``: keep numbers/strings/bools and non-empty mappings of them."""
    if isinstance(value, (int, float, str)):
        return value
    if not isinstance(value, dict):
        return None
    out = {}
    for key, item in value.items():
        kind = type(item)
        if kind is float or kind is int or kind is str or kind is bool:  # a leaf: kept as is, no call
            out[key] = item
            continue
        kept = extract_metrics(item)
        if kept not in (None, {}):
            out[key] = kept
    return out


def flatten(value: dict[Any, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; empty mappings vanish, as with DVC's flatten_dict."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, dict):
            out.update(flatten(item, name))
        else:
            out[name] = item
    return out


def format_lists(value: Any) -> Any:
    """DVC's ``format_dict``: lists anywhere in a mapping become their ``str()``."""
    if isinstance(value, dict):
        return {k: format_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return str(value)
    return value


def metrics_values(data: Any) -> dict[str, Any]:
    """Parsed metrics file -> flat values. A top-level list, scalar or null is a :class:`ParseError`.

    ``flatten(format_lists(extract_metrics(data)))`` in one walk (--history runs it on every
    file of every commit): extracting drops lists, so formatting them has nothing left to do."""
    if not isinstance(data, dict):
        raise ParseError(f"expected a mapping of metric names to values, got {describe(data)}")
    out: dict[str, Any] = {}
    _flat_metrics(data, "", out)
    return out


def _flat_metrics(value: dict[Any, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, item in value.items():
        kind = type(item)
        if kind is float or kind is int or kind is str or kind is bool or isinstance(item, (int, float, str)):
            out[f"{prefix}{key}"] = item
        elif isinstance(item, dict):
            _flat_metrics(item, f"{prefix}{key}.", out)


# The shape of a metrics document as metrics_values reads it: each mapping's keys and what each entry
# is (True: a value kept, False: a value dropped, a shape: a mapping; None when every entry is a value
# kept), with the dotted names it gives. --history reads a file at 50 commits, nested the same way at
# nearly every one: with the shape of one, another's names are known and only its values are read.
_KEPT = frozenset({float, int, str, bool})
if TYPE_CHECKING:
    Node: TypeAlias = "tuple[tuple[str, ...], tuple[Node | bool, ...] | None]"
    Shape: TypeAlias = "tuple[Node, list[str]]"


def metrics_shape(data: dict[Any, Any], flat: dict[str, Any]) -> Shape | None:
    """The shape of a parsed metrics document that :func:`metrics_values` read as ``flat``; None when
    a shape cannot tell another document's names (a key that is not a string, a value of a subclass,
    two entries flattened to one name)."""
    node = _node(data)
    if node is None or _kept(node) != len(flat):
        return None
    return node, list(flat)


def metrics_row(data: Any, shape: Shape) -> list[Any] | None:
    """``list(metrics_values(data).values())`` when ``data`` is nested as the document ``shape`` was
    made from (the same keys in the same order, and at each a value kept, a value dropped or a mapping
    as there): its names are the shape's. None when it is nested otherwise."""
    values: list[Any] = []
    if type(data) is not dict or not _row(data, shape[0], values) or not _KEPT.issuperset(map(type, values)):
        return None  # nested otherwise, or a value of a kind dropped (or of a subclass) where one was kept
    return values


def _node(mapping: dict[Any, Any]) -> Node | None:
    keys = tuple(mapping)
    if not all(type(key) is str for key in keys):
        return None  # YAML's key 1 equals True and 1.0, whose names differ
    kinds: list[Node | bool] = []
    for item in mapping.values():
        if type(item) in _KEPT:
            kinds.append(True)
        elif type(item) is dict:
            inner = _node(item)
            if inner is None:
                return None
            kinds.append(inner)
        elif isinstance(item, (int, float, str, dict)):
            return None  # a subclass, which metrics_values reads as its base class
        else:
            kinds.append(False)
    return keys, None if all(kind is True for kind in kinds) else tuple(kinds)


def _kept(node: Node) -> int:
    keys, kinds = node
    if kinds is None:
        return len(keys)
    return sum(1 if kind is True else 0 if kind is False else _kept(kind) for kind in kinds)


def _row(mapping: dict[Any, Any], node: Node, values: list[Any]) -> bool:
    """Append ``mapping``'s values at the places ``node`` keeps one, in metrics_values' order, if it is
    nested as ``node`` says; whether they are of the kinds kept, the caller checks once for the row."""
    keys, kinds = node
    if tuple(mapping) != keys:  # the node's keys are strings: equal keys are the same names
        return False
    if kinds is None:
        values.extend(mapping.values())
        return True
    for item, kind in zip(mapping.values(), kinds, strict=True):
        if kind is True:
            values.append(item)
        elif kind is False:
            if isinstance(item, (int, float, str, dict)):
                return False
        elif type(item) is not dict or not _row(item, kind, values):
            return False
    return True


def select_keys(data: dict[Any, Any], keys: list[str]) -> dict[Any, Any]:
    """The subset of a params mapping named by dotted ``keys`` (DVC's dpath search + merge)."""
    out: dict[Any, Any] = {}
    for key in keys:
        parts = key.split(".")
        node: Any = data
        for part in parts:
            if not isinstance(node, dict):
                node = _MISSING
                break
            node = _lookup(node, part)
            if node is _MISSING:
                break
        if node is _MISSING:
            continue
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = node
    return out


_MISSING = object()


def _lookup(node: dict[Any, Any], part: str) -> Any:
    if part in node:
        return node[part]
    for key, value in node.items():  # YAML int/bool keys are addressed by their text
        if str(key) == part:
            return value
    return _MISSING


def params_values(data: Any, keys: list[str]) -> dict[str, Any]:
    """Parsed params file -> flat values for ``keys`` ([] = the whole file)."""
    if not isinstance(data, dict):
        raise ParseError(f"expected a mapping of params, got {describe(data)}")
    if keys:
        data = select_keys(data, keys)
    return flatten(format_lists(data))


def is_number(value: Any) -> TypeGuard[int | float]:
    """A real number (DVC diffs booleans too, but they are not measurements)."""
    kind = type(value)  # exact types first: --history asks this of every value of every commit
    if kind is float or kind is int:
        return True
    return isinstance(value, (int, float)) and kind is not bool


def finite_numbers(values: Iterable[Any]) -> list[int | float]:
    """The finite real numbers among ``values``, in order (``is_finite_number`` of each, without a
    call per value: --history asks this of every value of every commit)."""
    isfinite = math.isfinite
    return [v for v in values if ((kind := type(v)) is float and isfinite(v)) or kind is int
            or (kind is not float and is_finite_number(v))]


_GAP = type(None)
_FLOATS_AND_GAPS = frozenset({float, _GAP})


def finite_floats(values: Iterable[Any]) -> tuple[list[int | float], list[float]]:
    """The finite numbers among ``values`` that a float can hold, as they are and as floats: an
    integer beyond a float's range (±1.8e308) is left out, as no float scale has room for it.

    A series of floats, with or without gaps (None), is the usual history: its numbers are its floats,
    found by C loops (--history asks this of every series) rather than a test per value in Python."""
    values = values if isinstance(values, list) else list(values)
    kinds = set(map(type, values))
    if kinds <= _FLOATS_AND_GAPS:
        floats = [v for v in values if v is not None] if _GAP in kinds else list(values)
        if not math.isfinite(sum(floats)):  # a NaN or an infinity among them (or a sum beyond a float's range)
            floats = list(filter(math.isfinite, floats))
        return floats, floats.copy()
    numbers = finite_numbers(values)
    try:
        return numbers, list(map(float, numbers))
    except OverflowError:
        numbers = [v for v in numbers if _fits_float(v)]
        return numbers, [float(v) for v in numbers]


def finite_float(value: Any) -> float | None:
    """``value`` as a float when it is a finite number a float can hold (``finite_floats`` of one value)."""
    if not is_finite_number(value):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def _fits_float(number: int | float) -> bool:
    try:
        float(number)
    except OverflowError:
        return False
    return True


def is_finite_number(value: Any) -> TypeGuard[int | float]:
    kind = type(value)
    if kind is float:
        return math.isfinite(value)
    if kind is int:
        return True
    return isinstance(value, (int, float)) and kind is not bool and math.isfinite(value)
