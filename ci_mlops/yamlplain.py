"""Plain YAML without PyYAML: a strict subset, read exactly as PyYAML reads it, or not at all.

Why: importing PyYAML costs ~20 ms per process (its reader compiles a large regular
expression at import, its constructor pulls in datetime and base64), a fifth of what
``ci-mlops report`` takes. The files a report reads (``dvc.yaml``, ``dvc.lock``, params
files, ``.ci-mlops.yml``) are nearly always plain block YAML, which this module reads itself.

Why it is safe: :func:`load` accepts only block mappings and sequences indented with
spaces; one-line plain, single-quoted and (escape-free) double-quoted scalars; one-line
flow sequences and mappings of those, nested (``{min: 0.9, on: [id]}``, as the docs write
gates); comments and empty values. For anything else (tabs, anchors, aliases, tags, ``---``,
directives, block scalars, multi-line scalars and flows, ``?`` keys, a flow key without a
value, ``[a: 1]``, duplicate keys, odd indentation, control characters, dates, what PyYAML
and its C loader read differently, a document over :mod:`ci_mlops.safeload`'s bounds, ...)
it returns None and the caller asks PyYAML, which stays the authority: every error message
is still PyYAML's. Scalars are
resolved with the same tables PyYAML's loaders use (:data:`YAML11` is PyYAML's own,
:data:`YAML12` the YAML 1.2 core schema DVC's ruamel reads, which ``dvc.project`` teaches
PyYAML) and built as PyYAML's constructor builds them. Differential tests
(tests/unit/test_yamlplain.py) compare the result with PyYAML's, types included, on
generated documents and on real repositories' files.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ci_mlops.safeload import MAX_DEPTH, MAX_INT_DIGITS, MAX_YAML_BYTES

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from typing import Any

# (tag, pattern, first characters) as in PyYAML's yaml/resolver.py, in its order.
YAML11: tuple[tuple[str, str, str], ...] = (
    ("bool", r"""^(?:yes|Yes|YES|no|No|NO
                    |true|True|TRUE|false|False|FALSE
                    |on|On|ON|off|Off|OFF)$""", "yYnNtTfFoO"),
    ("float", r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
                    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", "-+0123456789."),
    ("int", r"""^(?:[-+]?0b[0-1_]+
                    |[-+]?0[0-7_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+
                    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$""", "-+0123456789"),
    ("merge", r"^(?:<<)$", "<"),
    ("null", r"""^(?: ~
                    |null|Null|NULL
                    | )$""", "~nN\0"),  # \0 stands for the empty scalar
    ("timestamp", r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
                    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
                     (?:[Tt]|[ \t]+)[0-9][0-9]?
                     :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
                     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", "0123456789"),
    ("value", r"^(?:=)$", "="),
    ("yaml", r"^(?:!|&|\*)$", "!&*"),
)

# YAML 1.2's core schema as DVC reads it (ruamel): ``1e-3`` is a float, ``yes``/``on`` strings,
# ``0o17`` and ``017`` integers (see int_12). ``dvc.project.yaml_loader`` gives PyYAML this table.
YAML12: tuple[tuple[str, str, str], ...] = (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("float", r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""", "-+0123456789."),
    ("int", r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""", "-+0123456789"),
    ("merge", r"^(?:<<)$", "<"),
    ("null", r"^(?: ~|null|Null|NULL| )$", "~nN\0"),
    ("timestamp", r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", "0123456789"),
)


def int_12(text: str) -> int:
    """A YAML 1.2 integer as DVC reads it: ``0o17`` and ``017`` are 15 and 17, ``0x1F`` 31."""
    text = text.replace("_", "")
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    for prefix, radix in (("0b", 2), ("0x", 16), ("0o", 8)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], radix)
    return sign * int(digits)


def int_11(text: str) -> int:
    """PyYAML's ``construct_yaml_int``: ``017`` is octal, ``1:30`` sexagesimal."""
    value = text.replace("_", "")
    sign = -1 if value[0] == "-" else 1
    if value[0] in "+-":
        value = value[1:]
    if value == "0":
        return 0
    if value.startswith("0b"):
        return sign * int(value[2:], 2)
    if value.startswith("0x"):
        return sign * int(value[2:], 16)
    if value[0] == "0":
        return sign * int(value, 8)
    if ":" in value:
        total, base = 0, 1
        for part in reversed(value.split(":")):
            total, base = total + int(part) * base, base * 60
        return sign * total
    return sign * int(value)


_INF = float("inf")
_NAN = -_INF / _INF  # PyYAML's nan_value (a NaN with its sign bit set)


def float_yaml(text: str) -> float:
    """PyYAML's ``construct_yaml_float`` (both schemas use it)."""
    value = text.replace("_", "").lower()
    sign = -1 if value[0] == "-" else 1
    if value[0] in "+-":
        value = value[1:]
    if value == ".inf":
        return sign * _INF
    if value == ".nan":
        return _NAN
    if ":" in value:
        total, base = 0.0, 1
        for part in reversed(value.split(":")):
            total, base = total + float(part) * base, base * 60
        return sign * total
    return sign * float(value)


def _bool(text: str) -> bool:
    return {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}[text.lower()]


def _null(text: str) -> None:
    return None


# The constructors of the tags a plain document may hold; any other tag is not plain.
_BUILD: dict[str, dict[str, Callable[[str], Any]]] = {
    "1.1": {"bool": _bool, "int": int_11, "float": float_yaml, "null": _null},
    "1.2": {"bool": _bool, "int": int_12, "float": float_yaml, "null": _null}}
_TABLES = {"1.1": YAML11, "1.2": YAML12}
_COMPILED: dict[tuple[str, str], list[tuple[str, re.Pattern[str]]]] = {}  # (schema, first character)

# A plain scalar may not start with these (``-`` only when a space or the line's end follows,
# which the callers have ruled out; ``?`` and ``:`` are refused although YAML allows ``?x``).
_INDICATORS = frozenset("?:,[]{}#&*!|>'\"%@`")
Lines = dict[tuple[str, ...], int]


class _NotPlain(Exception):
    """Outside the subset: the caller parses with PyYAML."""


def load(text: str, schema: str = "1.1", *, text_keys: bool = False, lines: Lines | None = None) -> Any:
    """The mapping or list a plain YAML document holds, or None when it is not plain (ask PyYAML).

    ``schema`` is "1.1" (PyYAML's safe loader) or "1.2" (DVC's reading). ``text_keys`` keeps
    mapping keys as written (``.ci-mlops.yml``'s loader: ``on`` stays "on"); then ``lines``, if
    given, receives the 1-based line of every key path and list item, as ``config`` records them
    from PyYAML's nodes. Empty documents and top-level scalars are not plain either.
    """
    if len(text) > MAX_YAML_BYTES or not _printable(text):
        return None
    try:
        return _Parser(text, schema, text_keys, lines).document()
    except _NotPlain:
        if lines is not None:
            lines.clear()
        return None


def _printable(text: str) -> bool:
    """No tab, CR, NEL, line or paragraph separator, BOM, control or non-character anywhere."""
    for ch in set(text):
        if " " <= ch <= "~" or ch == "\n":
            continue
        code = ord(ch)
        if code < 0xA0 or 0xD800 <= code <= 0xDFFF or code in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF):
            return False
    return True


class _Parser:
    """One document, line by line: each content line is (number, indentation, text after it)."""

    def __init__(self, text: str, schema: str, text_keys: bool, lines: Lines | None) -> None:
        self.schema, self.text_keys, self.lines = schema, text_keys, lines
        self.rows: list[tuple[int, int, str]] = []  # (line number, indentation, content) of content lines
        for number, raw in enumerate(text.split("\n"), 1):
            line = raw.rstrip(" ")
            content = line.lstrip(" ")
            if not content or content[0] == "#":
                continue
            indent = len(line) - len(content)
            if not indent and content.startswith(("---", "...", "%")):
                raise _NotPlain  # document markers and directives
            self.rows.append((number, indent, content))
        self.at = 0

    def document(self) -> Any:
        if not self.rows or self.rows[0][1]:
            raise _NotPlain
        value = self.block(0, 1, ())
        if self.at != len(self.rows):
            raise _NotPlain
        return value

    def block(self, indent: int, depth: int, path: tuple[str, ...]) -> Any:
        content = self.rows[self.at][2]
        if content == "-" or content.startswith("- "):
            return self.sequence(indent, depth, path)
        return self.mapping(indent, depth, path)

    def mapping(self, indent: int, depth: int, path: tuple[str, ...]) -> dict[Any, Any]:
        if depth > MAX_DEPTH:
            raise _NotPlain
        out: dict[Any, Any] = {}
        while self.at < len(self.rows):
            number, column, content = self.rows[self.at]
            if column < indent:
                break
            split = _split_key(content) if column == indent else None
            if split is None:
                raise _NotPlain
            written, quoted, rest = split
            if written in ("<<", "=") and not quoted:
                raise _NotPlain  # merge keys and the value key
            key = written if self.text_keys or quoted else self.resolve(written)
            if key in out:
                raise _NotPlain  # PyYAML keeps the last, .ci-mlops.yml refuses: either way, PyYAML's call
            key_path = (*path, str(key))
            if self.lines is not None:
                self.lines[key_path] = number
            self.at += 1
            out[key] = self.value(rest, number, indent, depth, key_path, mapped=True)
        return out

    def sequence(self, indent: int, depth: int, path: tuple[str, ...]) -> list[Any]:
        if depth > MAX_DEPTH:
            raise _NotPlain
        out: list[Any] = []
        while self.at < len(self.rows):
            number, column, content = self.rows[self.at]
            if column != indent or not (content == "-" or content.startswith("- ")):
                break  # the caller decides whether what follows is allowed
            rest = content[1:].lstrip(" ")
            item_path = (*path, str(len(out)))
            if rest.startswith("-") and (rest == "-" or rest[1] == " "):
                raise _NotPlain  # "- - a"
            if rest and rest[0] not in "#[{" and _split_key(rest) is not None:
                self.rows[self.at] = (number, len(content) - len(rest) + column, rest)  # "- a: 1": a mapping there
                if self.lines is not None:
                    self.lines[item_path] = number
                out.append(self.mapping(len(content) - len(rest) + column, depth + 1, item_path))
                continue
            self.at += 1
            out.append(self.value(rest, number, indent, depth, item_path, mapped=False))
        return out

    def value(self, rest: str, number: int, indent: int, depth: int, path: tuple[str, ...], *, mapped: bool) -> Any:
        """What follows ``key:`` (``mapped``) or ``-`` on its line, and below it."""
        rest = rest.lstrip(" ")
        following = self.rows[self.at] if self.at < len(self.rows) else None
        if not rest or rest[0] == "#":  # the value is the block below, or null
            if following and following[1] > indent:
                self.item_line(mapped, path, following[0])
                return self.block(following[1], depth + 1, path)
            if mapped and following and following[1] == indent and (following[2] == "-" or following[2].startswith("- ")):
                return self.sequence(indent, depth + 1, path)  # "key:" then "- item" at the key's column
            self.item_line(mapped, path, number)
            return None
        if following and following[1] > indent:
            raise _NotPlain  # a multi-line scalar, or a block after a value
        self.item_line(mapped, path, number)
        if rest[0] in "[{":
            return self.flow(rest, depth + 1, path, number)
        scalar, quoted, after = _scalar(rest)
        if after:
            raise _NotPlain
        return scalar if quoted else self.resolve(scalar)

    def item_line(self, mapped: bool, path: tuple[str, ...], number: int) -> None:
        """A list item's line is where its value starts (a key's is noted where the key is read)."""
        if not mapped and self.lines is not None:
            self.lines[path] = number

    def flow(self, rest: str, depth: int, path: tuple[str, ...], number: int) -> Any:
        """A one-line flow collection (``[a, 'b', [1, 2]]``, ``{min: 0.9, on: [id]}``), then nothing but a comment.

        Read by position, never by slicing off what is left: a 4 MiB line costs linear time."""
        value, at = self.collection(rest, 0, depth, path, number)
        if not _ends(rest[at:]):
            raise _NotPlain
        return value

    def collection(self, text: str, at: int, depth: int, path: tuple[str, ...], number: int) -> tuple[Any, int]:
        """The flow sequence or mapping opening at ``text[at]``, and the position after it.

        Entries are separated by commas (one after the last is allowed, as PyYAML allows it);
        a mapping's entries are ``key: value`` with a scalar key. What PyYAML reads differently
        from its C loader, or as something else than it looks (``[a: 1]`` is a list holding a
        mapping, ``{a}`` a key without a value), is left to PyYAML."""
        if depth > MAX_DEPTH:
            raise _NotPlain
        if text[at] == "[":
            return self.flow_sequence(text, at, depth, path, number)
        return self.flow_mapping(text, at, depth, path, number)

    def flow_sequence(self, text: str, at: int, depth: int, path: tuple[str, ...], number: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        at = _spaces(text, at + 1)
        while text[at:at + 1] != "]":
            item_path = (*path, str(len(items)))
            if self.lines is not None:
                self.lines[item_path] = number
            value, at = self.flow_node(text, at, depth, item_path, number, "]")
            items.append(value)
            at = _after_entry(text, at, "]")
        return items, at + 1

    def flow_mapping(self, text: str, at: int, depth: int, path: tuple[str, ...], number: int) -> tuple[dict[Any, Any], int]:
        out: dict[Any, Any] = {}
        at = _spaces(text, at + 1)
        while text[at:at + 1] != "}":
            key, at = self.flow_key(text, at)
            if key in out:
                raise _NotPlain  # as in a block mapping: PyYAML keeps the last, .ci-mlops.yml refuses
            key_path = (*path, str(key))
            if self.lines is not None:
                self.lines[key_path] = number
            value, at = self.flow_node(text, at, depth, key_path, number, "}")
            out[key] = value
            at = _after_entry(text, at, "}")
        return out, at + 1

    def flow_key(self, text: str, at: int) -> tuple[Any, int]:
        """A flow mapping's key at ``text[at]`` (a plain or quoted scalar), and the position after its ``:``."""
        if text[at:at + 1] in ("'", '"'):
            written, end = _quoted(text, at)
            colon = _spaces(text, end)
            if text[colon:colon + 1] != ":":
                raise _NotPlain  # a key without a value, or a quoted scalar in a sequence's place
            quoted = True
        else:
            written, colon = _flow_plain(text, at)
            if text[colon:colon + 1] != ":":
                raise _NotPlain  # "{a}", "{a, b: 1}": keys without values
            if written in ("<<", "="):
                raise _NotPlain  # merge keys and the value key
            quoted = False
        if colon - at > 512:
            raise _NotPlain  # YAML's simple keys end within 1024 characters
        return (written if self.text_keys or quoted else self.resolve(written)), colon + 1

    def flow_node(self, text: str, at: int, depth: int, path: tuple[str, ...], number: int,
                  close: str) -> tuple[Any, int]:
        """The value at ``text[at]`` inside a flow collection that ends with ``close``, and the position after it."""
        at = _spaces(text, at)
        first = text[at:at + 1]
        if first in ("[", "{"):
            return self.collection(text, at, depth + 1, path, number)
        if first in ("'", '"'):
            return _quoted(text, at)
        scalar, end = _flow_plain(text, at)
        if text[end] not in (",", close):
            raise _NotPlain  # "[a: 1]", "{a: b: c}", "[a}"
        return self.resolve(scalar), end

    def resolve(self, text: str) -> Any:
        """A plain scalar's value: the schema's first matching resolver, then PyYAML's constructor."""
        if text == "true" or text == "false":  # a boolean in both schemas, without compiling their bool pattern
            return text == "true"
        number = _decimal(text)
        if number is not None:
            return number
        first = text[:1] or "\0"
        resolvers = _COMPILED.get((self.schema, first))
        if resolvers is None:
            resolvers = _compile(self.schema, first)
        for tag, pattern in resolvers:
            if pattern.match(text):
                build = _BUILD[self.schema].get(tag)
                if build is None or (tag == "int" and len(text) > MAX_INT_DIGITS):
                    raise _NotPlain  # dates, merge keys, '=', huge integers
                try:
                    return build(text)
                except (ValueError, IndexError, KeyError):
                    raise _NotPlain from None
        return text


def _decimal(text: str) -> int | float | None:
    """A plain decimal number (``7``, ``0.25``) as both schemas resolve and build it, without compiling
    their number and date patterns (a config of gates compiles none: ~1 ms of report start-up); None
    for any other scalar, which the tables resolve."""
    whole, dot, fraction = text.partition(".")
    if not (whole.isascii() and whole.isdigit()):
        return None
    if dot:
        return float(text) if fraction.isascii() and fraction.isdigit() else None
    if (whole[0] == "0" and len(whole) > 1) or len(whole) > MAX_INT_DIGITS:
        return None  # octal in 1.1, decimal in 1.2: the tables tell; a huge integer is not plain
    return int(whole)


def _compile(schema: str, first: str) -> list[tuple[str, re.Pattern[str]]]:
    """The resolvers of a scalar starting with ``first``, in order, as PyYAML's ``add_implicit_resolver``
    files them by first character; compiled when a scalar first starts with it (a ``dvc.yaml`` of
    words and booleans never compiles the number and date patterns: ~2 ms of the report's start-up)."""
    resolvers = [(tag, re.compile(pattern, re.X)) for tag, pattern, chars in _TABLES[schema] if first in chars]
    _COMPILED[(schema, first)] = resolvers
    return resolvers


def _ends(rest: str) -> bool:
    """Nothing, or spaces and a comment, after a value."""
    return not rest or (rest[0] == " " and (not rest.lstrip(" ") or rest.lstrip(" ")[0] == "#"))


def _split_key(content: str) -> tuple[str, bool, str] | None:
    """``key: rest`` -> (key as written, quoted?, rest); None when the line holds no key."""
    if content[0] in "'\"":
        key, _, after = _scalar(content, key=True)
        if after[:1] != ":" or after[1:2] not in ("", " "):
            return None
        if len(content) - len(after) > 512:
            raise _NotPlain  # YAML's simple keys end within 1024 characters
        return key, True, after[1:]
    comment = content.find(" #")
    end = len(content) if comment < 0 else comment
    colon = content.find(": ", 0, end + 1)
    if colon < 0 and comment < 0 and content.endswith(":"):
        colon = len(content) - 1
    if colon < 0:
        return None
    key = content[:colon]
    if not key or key[-1] == " " or len(key) > 512 or not _plain_start(key):
        raise _NotPlain  # "key :", an empty or over-long key, "? key"
    return key, False, content[colon + 1:]


def _plain_start(text: str) -> bool:
    return text[0] not in _INDICATORS and not (text[0] == "-" and (text[1:2] in ("", " ") or text.startswith("---")))


def _scalar(text: str, *, key: bool = False) -> tuple[str, bool, str]:
    """The scalar at the start of a line's ``text``: (its text, quoted?, what follows it).

    What follows must be nothing or a comment, except after a quoted key (its ``:`` is the
    caller's); a plain scalar ends at `` #``."""
    if text[0] in "'\"":
        scalar, end = _quoted(text, 0)
        if key:
            return scalar, True, text[end:]
        if not _ends(text[end:]):
            raise _NotPlain
        return scalar, True, ""
    if not _plain_start(text):
        raise _NotPlain
    comment = text.find(" #")
    scalar = (text if comment < 0 else text[:comment]).rstrip(" ")
    if ": " in scalar or scalar.endswith(":"):
        raise _NotPlain  # "key: a: b" is an error in YAML
    return scalar, False, ""


def _quoted(text: str, at: int) -> tuple[str, int]:
    """The one-line quoted scalar starting at ``text[at]``, and where it ends: single quotes with
    ``''`` for a quote, double quotes without escapes."""
    if text[at] == "'":
        parts, start = [], at + 1
        while True:
            close = text.find("'", start)
            if close < 0:
                raise _NotPlain  # continues on the next line
            parts.append(text[start:close])
            if text[close + 1:close + 2] != "'":
                return "".join(parts), close + 1
            parts.append("'")
            start = close + 2
    close = text.find('"', at + 1)
    if close < 0 or text.find("\\", at + 1, close) >= 0:
        raise _NotPlain  # escapes, or continues on the next line
    return text[at + 1:close], close + 1


def _after_entry(text: str, at: int, close: str) -> int:
    """Past the comma after a flow collection's entry, or at its closing bracket."""
    at = _spaces(text, at)
    if text[at:at + 1] == ",":
        return _spaces(text, at + 1)
    if text[at:at + 1] != close:
        raise _NotPlain  # "[a b]", "[a: 1]", or the collection goes on on the next line
    return at


def _spaces(text: str, at: int) -> int:
    """The first position from ``at`` that is not a space."""
    while text[at:at + 1] == " ":
        at += 1
    return at


# Where a plain scalar inside a flow collection may end: PyYAML ends it at ",[]{}", at ":" before
# a space and at " #"; "?" ends it in PyYAML but not in its C loader, so "?" is declined. Compiled
# with the first flow collection (~0.1 ms a block-only report does not spend).
_FLOW_STOP = r"[,\[\]{}:?#]"
_FLOW_STOPS: list[re.Pattern[str]] = []


def _flow_plain(text: str, at: int) -> tuple[str, int]:
    """The plain scalar at ``text[at]`` inside a flow collection, and where it stops: at ``,``,
    a bracket, or the ``:`` of ``key: value``. Anything either loader reads otherwise (``a:,``
    ``a?b``, a comment that leaves the collection open) is not plain."""
    if not _FLOW_STOPS:
        _FLOW_STOPS.append(re.compile(_FLOW_STOP))
    search = _FLOW_STOPS[0].search
    end = at
    while True:
        stop = search(text, end)
        if stop is None:
            raise _NotPlain  # the collection goes on on the next line
        end = stop.start()
        ch, after = text[end], text[end + 1:end + 2]
        if ch == "#" and text[end - 1] != " ":
            end += 1  # "a#b": part of the scalar
        elif ch == ":" and after and after not in " ,[]{}?#'\"":
            end += 1  # "http://x:8080": part of the scalar
        elif ch in "?#" or (ch == ":" and after != " "):
            raise _NotPlain  # "a?b", a comment, "a:," (the loaders disagree)
        else:
            break
    scalar = text[at:end].rstrip(" ")
    if not scalar or not _plain_start(scalar):
        raise _NotPlain
    return scalar, end
