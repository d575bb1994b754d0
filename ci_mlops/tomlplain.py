"""Plain TOML without tomllib: a strict subset, read exactly as tomllib reads it, or not at all.

Why: importing ``tomllib`` costs ~5 ms per process (it imports ``typing`` and ``datetime``
and compiles its regular expressions), a tenth of what ``ci-mlops report`` takes on a
repository with a TOML metrics file. Metrics and params files written by training scripts
are nearly always a few tables of numbers, booleans and short strings.

Why it is safe: :func:`load` accepts only blank lines, full-line ``#`` comments,
``[table]`` headers of bare dotted keys, and ``key = value`` lines with a bare key and a
decimal integer (no leading zeros, no underscores), a decimal float (``1.5``, ``-2e-3``,
no underscores), ``true``/``false`` or an escape-free basic string, each optionally
followed by a ``# comment``. For anything else (arrays, inline tables, literal or
multi-line strings, escapes, dates, inf/nan, hex/octal/binary, underscores, dotted keys,
quoted keys, a table or key defined twice, a table header naming an existing table, tabs,
``\\r``, control characters, an integer over Python's digit limit) it returns None and the
caller asks tomllib, which stays the authority: every error message is still tomllib's.
Numbers are built as tomllib builds them (``int(text)``, ``float(text)`` of the same
characters, underscores being refused). Differential tests (tests/unit/test_tomlplain.py)
compare the result with ``tomllib.loads``, types and key order included.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from typing import Any

# Python's default int/str digit limit (= safeload.MAX_INT_DIGITS; a test keeps them equal): a longer
# integer is left to tomllib, whose ValueError safeload turns into its one-line message.
MAX_INT_DIGITS = 4300

_KEY = r"[A-Za-z0-9_-]+"
_TAIL = r" *(?:#.*)?"
# Control characters other than the newline (tomllib refuses them except tab in comments and
# strings; tabs and \r are refused here to keep whitespace to spaces and lines to "\n").
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_HEADER = re.compile(rf" *\[({_KEY}(?:\.{_KEY})*)\]{_TAIL}")
_PAIR = re.compile(
    rf" *({_KEY}) *= *(?:"
    r"(true|false)"
    r'|"([^"\\]*)"'
    r"|([+-]?(?:0|[1-9][0-9]*)((?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?))"
    rf"){_TAIL}")


def load(text: str) -> dict[str, Any] | None:
    """``tomllib.loads(text)`` for a document inside the plain subset, else None."""
    if _CONTROL.search(text):
        return None
    root: dict[str, Any] = {}
    table = root
    for line in text.split("\n"):
        stripped = line.strip(" ")
        if not stripped or stripped[0] == "#":
            continue
        if stripped[0] == "[":
            header = _HEADER.fullmatch(line)
            if header is None:
                return None
            found = _table(root, header.group(1).split("."))
            if found is None:
                return None
            table = found
            continue
        pair = _PAIR.fullmatch(line)
        if pair is None:
            return None
        key, boolean, string, number, fraction = pair.groups()
        if key in table:
            return None
        if boolean is not None:
            table[key] = boolean == "true"
        elif string is not None:
            table[key] = string
        elif fraction:
            table[key] = float(number)
        elif len(number) - (number[0] in "+-") > MAX_INT_DIGITS:
            return None
        else:
            table[key] = int(number)
    return root


def _table(root: dict[str, Any], path: list[str]) -> dict[str, Any] | None:
    """The new table a header names, its missing parents created; None when the header names an
    existing key or table (valid TOML in some cases, left to tomllib) or passes through a value."""
    table = root
    for key in path[:-1]:
        below = table.setdefault(key, {})
        if type(below) is not dict:
            return None
        table = below
    if path[-1] in table:
        return None
    new: dict[str, Any] = {}
    table[path[-1]] = new
    return new
