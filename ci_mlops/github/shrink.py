"""Make a Markdown report fit GitHub's comment limit (65,536 characters) gracefully.

Steps, each only while the text is still too long:

1. collapse ``<details>`` blocks, biggest first, to their ``<summary>`` line;
2. replace Markdown tables, longest first, with a one-line note;
3. cut at a line boundary (closing an open code fence).

Whatever was removed, the result ends with a note linking to the workflow run
where the full report is (the job summary). Length is measured in UTF-16 code
units, which is never less than what GitHub counts, so the result always posts.
"""

from __future__ import annotations

import re

COMMENT_LIMIT = 65536

_DETAILS_RE = re.compile(r"<details\b[^>]*>(?P<inner>.*?)</details>", re.S | re.I)
_SUMMARY_RE = re.compile(r"<summary\b[^>]*>.*?</summary>", re.S | re.I)


def size(text: str) -> int:
    """Length as GitHub may count it, erring high (astral characters count twice)."""
    return len(text.encode("utf-16-le")) // 2


def note(run_url: str | None) -> str:
    where = f"the [workflow run]({run_url})" if run_url else "the workflow run"
    return (f"\n\n> [!NOTE]\n> This report was shortened to fit GitHub's {COMMENT_LIMIT:,}-character comment "
            f"limit; the full report is in the job summary of {where}.\n")


def shrink(text: str, limit: int = COMMENT_LIMIT, *, run_url: str | None = None, tail: str | None = None) -> str:
    """``text`` unchanged when it fits in ``limit``, else a shortened version that does.

    ``tail`` replaces the closing note (another forge names its own limit and where the full report is).
    """
    if size(text) <= limit:
        return text
    tail = note(run_url) if tail is None else tail
    if size(tail) >= limit:  # absurdly small limit: just cut
        return _cut(text, limit)
    room = limit - size(tail)
    for step in (_collapse_details, _drop_tables):
        text = step(text, room)
        if size(text) <= room:
            return text.rstrip() + tail
    return _cut(text, room).rstrip() + tail


def _collapse_details(text: str, room: int) -> str:
    blocks = sorted(_DETAILS_RE.finditer(text), key=lambda m: len(m[0]), reverse=True)
    replacements: dict[tuple[int, int], str] = {}
    excess = size(text) - room
    for m in blocks:
        if excess <= 0:
            break
        summary = _SUMMARY_RE.search(m["inner"])
        title = summary[0] if summary else "<summary>Details</summary>"
        short = f"<details>{title}\n\n_Omitted here to fit the comment; see the full report._\n</details>"
        if len(short) < len(m[0]):
            replacements[m.span()] = short
            excess -= size(m[0]) - size(short)
    return _apply(text, replacements)


def _tables(text: str) -> list[tuple[int, int]]:
    """Spans of Markdown tables (runs of at least two lines starting with ``|``)."""
    spans = []
    for m in re.finditer(r"(?m)(?:^[ \t]*\|.*(?:\n|$)){2,}", text):
        spans.append(m.span())
    return spans


def _drop_tables(text: str, room: int) -> str:
    spans = sorted(_tables(text), key=lambda s: s[1] - s[0], reverse=True)
    replacements: dict[tuple[int, int], str] = {}
    excess = size(text) - room
    for start, end in spans:
        if excess <= 0:
            break
        rows = text[start:end].count("\n") - 1
        short = f"_A table of {max(rows - 1, 0)} rows was omitted here to fit the comment._\n"
        if len(short) < end - start:
            replacements[(start, end)] = short
            excess -= size(text[start:end]) - size(short)
    return _apply(text, replacements)


def _apply(text: str, replacements: dict[tuple[int, int], str]) -> str:
    out, pos = [], 0
    for (start, end), new in sorted(replacements.items()):
        out += [text[pos:start], new]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _cut(text: str, room: int) -> str:
    """The longest prefix that fits in ``room``, ending at a line break when possible, fences closed."""
    closer = "\n```\n"
    budget = max(0, room - size(closer))
    # code-unit budget -> character index (astral characters take two units)
    units, index = 0, 0
    for index, ch in enumerate(text):  # noqa: B007
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > budget:
            break
    else:
        index = len(text)
    head = text[:index]
    newline = head.rfind("\n")
    if newline > len(head) // 2:
        head = head[:newline]
    if head.count("```") % 2 == 1:
        head += closer
    return head
