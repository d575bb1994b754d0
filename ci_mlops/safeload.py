"""Parse JSON, YAML and TOML that someone else wrote, within fixed bounds.

Every document ci-mlops reads (``.ci-mlops.yml``, ``dvc.yaml``/``dvc.lock``, metrics and
params files, fork reports' metadata, event payloads, lineage records, API answers) goes
through here, so one set of limits holds everywhere (docs/limits.md):

* size: :data:`MAX_YAML_BYTES` for YAML and TOML, :data:`MAX_JSON_BYTES` for JSON;
* nesting: :data:`MAX_DEPTH` levels of lists and mappings;
* YAML aliases: at most :data:`MAX_NODES` values once aliases are expanded ("billion
  laughs"), no alias that contains itself, and only the standard data tags (no ``!!python/``);
* integers: at most :data:`MAX_INT_DIGITS` digits (Python's own int/str limit).

A document over a limit raises :class:`DocumentError` (a ``ValueError``) whose message
names the limit but not the file: callers add the file and revision.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from typing import Any

# A parsed JSON (or YAML within JSON's types) value. Code that reads one narrows it with
# isinstance where it is read, so a document of another shape is an error, never a crash.
JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]

MAX_YAML_BYTES = 4 * 1024 * 1024
MAX_JSON_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 100
MAX_NODES = 1_000_000
MAX_INT_DIGITS = 4300

# The tags of YAML's data types; everything else (``!!python/object``, custom tags) is refused.
_YAML_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in (
    "str", "int", "float", "bool", "null", "timestamp", "binary", "seq", "map", "omap", "pairs",
    "set", "merge", "value"))


_INT_TAG = "tag:yaml.org,2002:int"


class DocumentError(ValueError):
    """A document is malformed or exceeds a bound; the message is one line without the file name."""


# -- reading files ----------------------------------------------------------------------


def read_limited(path: str | os.PathLike[str], limit: int = MAX_JSON_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    FIFOs, devices, sockets and directories are refused without reading (``/dev/zero``
    as a config would never end); so is a file larger than ``limit``. A missing file
    raises ``FileNotFoundError`` as ``open`` would.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(f"not a regular file (a {file_kind(info.st_mode)})")
        if info.st_size > limit:
            raise DocumentError(f"{info.st_size} bytes, more than the {_size(limit)} limit")
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > limit:  # the file grew while being read
                raise DocumentError(f"more than the {_size(limit)} limit")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def file_kind(mode: int) -> str:
    """"directory", "FIFO", "character device", ... for a ``st_mode``."""
    for test, name in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"), (stat.S_ISLNK, "symbolic link")):
        if test(mode):
            return name
    return "special file"


# -- parsing ----------------------------------------------------------------------------


def load_json(text: str | bytes, *, limit: int = MAX_JSON_BYTES) -> JsonValue:
    """``json.loads`` within the bounds; NaN and Infinity are accepted as Python's json does."""
    _check_size(text, limit)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"invalid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    except (RecursionError, ValueError) as exc:
        raise _invalid("JSON", exc) from None
    if _brackets(text) > MAX_DEPTH:  # fewer cannot nest deeper: skip the walk (--history parses 50 documents)
        check_depth(data, "JSON")
    parsed: JsonValue = data
    return parsed


def load_toml(text: str, *, limit: int = MAX_YAML_BYTES) -> Any:
    """``tomllib.loads`` within the bounds (a plain document is read by :mod:`ci_mlops.tomlplain`
    without importing tomllib, to the same result)."""
    _check_size(text, limit)
    from ci_mlops.tomlplain import load as load_plain_toml  # lazy: compiles patterns only a TOML file needs

    data = load_plain_toml(text)
    if data is not None:
        check_depth(data, "TOML")
        return data
    import tomllib  # lazy: ~5 ms (typing, datetime, regex compiling) that only a non-plain TOML file needs

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DocumentError(f"invalid TOML: {exc}") from None
    except (RecursionError, ValueError) as exc:
        raise _invalid("TOML", exc) from None
    check_depth(data, "TOML")
    return data


def load_yaml(text: str | bytes, loader: type | None = None, *, limit: int = MAX_YAML_BYTES) -> Any:
    """One YAML document with ``loader`` (a SafeLoader subclass; default PyYAML's C SafeLoader),
    checked before it is built.

    Raises ``yaml.YAMLError`` for bad syntax (callers already turn it into their message,
    with the line) and :class:`DocumentError` for a bound.
    """
    if loader is None:
        import yaml  # lazy: PyYAML is slow to import

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise DocumentError("not UTF-8 text") from None
    return construct_yaml(compose_yaml(text, loader, limit=limit), loader)


def construct_yaml(node: Any, loader: type) -> Any:
    """Python data from a node graph :func:`compose_yaml` returned (None for an empty document)."""
    if node is None:
        return None
    instance = loader("")
    try:
        return instance.construct_document(node)
    except (RecursionError, ValueError, TypeError) as exc:  # e.g. an unhashable key, a bad date
        raise DocumentError(f"invalid YAML: {_int_problem(exc) if isinstance(exc, ValueError) else exc}") from None
    finally:
        instance.dispose()


def compose_yaml(text: str, loader: type, *, limit: int = MAX_YAML_BYTES) -> Any:
    """The checked node graph of one YAML document (None when it is empty); see :func:`load_yaml`."""
    _check_size(text, limit)
    instance = loader(text)
    try:
        node = instance.get_single_node()
    except RecursionError as exc:
        raise _invalid("YAML", exc) from None
    finally:
        instance.dispose()
    if node is not None:
        check_nodes(node)
    return node


def yaml_error() -> type[Exception]:
    """``yaml.YAMLError``, imported when asked: ``except yaml_error():`` is evaluated only when an
    exception reaches that clause, so a plain file read without PyYAML (``yamlplain``) never imports it."""
    import yaml  # lazy: PyYAML is slow to import

    return yaml.YAMLError


def yaml_syntax(exc: Exception) -> str:
    """A ``yaml.YAMLError`` as one line: ``invalid YAML (line 3): could not find expected ':'``."""
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1})" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"invalid YAML{where}: {problem}"


def check_nodes(root: Any) -> None:
    """Refuse a YAML node graph that is too deep, expands too far, contains itself or has code tags.

    A first walk (pre-order, no recursion) checks tags, integers and depth and notices
    whether any node is reached twice, which only aliases do. Only then does a second walk
    compute each node's expanded size and look for cycles: a "billion laughs" document is a
    small graph with an enormous expanded size. Documents without aliases (nearly all) pay
    for the first walk only.
    """
    import yaml  # lazy: PyYAML is slow to import

    scalar = yaml.ScalarNode
    seen: set[int] = set()
    shared = False
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        key = id(node)
        if key in seen:
            shared = True
            continue
        seen.add(key)
        tag = node.tag
        if tag not in _YAML_TAGS or (tag == _INT_TAG and type(node) is scalar):
            _check_tag(node, yaml)
        if type(node) is scalar:
            continue
        if depth > MAX_DEPTH:
            raise DocumentError(f"invalid YAML: nested deeper than {MAX_DEPTH} levels")
        value = node.value
        if value and type(value[0]) is tuple:  # a mapping: (key node, value node) pairs
            for k, v in value:
                stack.append((k, depth + 1))
                stack.append((v, depth + 1))
        else:
            stack.extend((child, depth + 1) for child in value)
    if shared:
        _check_expansion(root)


def _check_expansion(root: Any) -> None:
    """Heights, expanded sizes and cycles of a node graph with aliases (post-order, no recursion)."""
    height: dict[int, int] = {}
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            children = _children(node)
            height[key] = 1 + max((height[id(c)] for c in children), default=0)
            size[key] = 1 + sum(size[id(c)] for c in children)
            on_path.discard(key)
            if height[key] > MAX_DEPTH:
                raise DocumentError(f"invalid YAML: nested deeper than {MAX_DEPTH} levels")
            if size[key] > MAX_NODES:
                raise DocumentError(f"invalid YAML: more than {MAX_NODES:,} values once aliases are expanded "
                                    "(an alias bomb?)")
            continue
        if key in height:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise DocumentError(f"invalid YAML (line {child.start_mark.line + 1}): an alias refers to a "
                                    "collection that contains it (a recursive alias)")
            if id(child) not in height:
                stack.append((child, False))


def _children(node: Any) -> list[Any]:
    value = node.value
    if not isinstance(value, list):
        return []
    if value and isinstance(value[0], tuple):  # a mapping: (key node, value node) pairs
        return [part for pair in value for part in pair]
    return value


def _check_tag(node: Any, yaml: Any) -> None:
    tag = node.tag or ""
    line = node.start_mark.line + 1
    if tag not in _YAML_TAGS:
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        raise DocumentError(f"invalid YAML (line {line}): the tag {shown!r} is not allowed "
                            "(only plain data: strings, numbers, booleans, null, dates, lists, mappings)")
    if tag == _INT_TAG and isinstance(node, yaml.ScalarNode) and len(node.value) > MAX_INT_DIGITS:
        digits = sum(ch.isalnum() for ch in node.value)
        if digits > MAX_INT_DIGITS:
            raise DocumentError(f"invalid YAML (line {line}): an integer with {digits} digits "
                                f"(more than {MAX_INT_DIGITS})")


_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})


def check_depth(data: Any, what: str = "document") -> None:
    """Refuse parsed data nested deeper than :data:`MAX_DEPTH` (checked without recursion)."""
    # one level at a time, only containers kept: a 10,000-value metrics history is mostly scalars,
    # which the exact-type test passes over faster than isinstance would
    level: list[Any] = [data] if isinstance(data, (dict, list)) else []
    depth = 1
    scalars = _SCALAR_TYPES
    while level:
        if depth > MAX_DEPTH:
            raise DocumentError(f"invalid {what}: nested deeper than {MAX_DEPTH} levels")
        below: list[Any] = []
        for node in level:
            children: Iterable[Any] = node.values() if isinstance(node, dict) else node
            below += [child for child in children if type(child) not in scalars and isinstance(child, (dict, list))]
        level = below
        depth += 1


def _brackets(text: str | bytes) -> int:
    """How many ``{`` and ``[`` a JSON text holds: a bound on its nesting (each list or mapping opens
    with one; those inside strings only raise the bound). Bytes in UTF-16 or UTF-32, which ``json``
    reads too, hold the byte of each such character as well."""
    if isinstance(text, bytes):
        return text.count(b"{") + text.count(b"[")
    return text.count("{") + text.count("[")


def _check_size(text: str | bytes, limit: int) -> None:
    if len(text) > limit:
        raise DocumentError(f"{len(text)} bytes, more than the {_size(limit)} limit")


def _invalid(kind: str, exc: RecursionError | ValueError) -> DocumentError:
    """A parser's RecursionError (nested too deep) or ValueError (say, an integer over Python's
    digit limit) as one line."""
    if isinstance(exc, RecursionError):
        return DocumentError(f"invalid {kind}: nested deeper than {MAX_DEPTH} levels")
    return DocumentError(f"invalid {kind}: {_int_problem(exc)}")


def _int_problem(exc: BaseException) -> str:
    text = str(exc)
    if "integer string conversion" in text:
        return f"an integer with more than {MAX_INT_DIGITS} digits"
    return text.splitlines()[0] if text else type(exc).__name__


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"
