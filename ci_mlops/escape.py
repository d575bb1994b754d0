"""Untrusted text into every context ci-mlops writes it: one function per context.

Column names, category values, metric/param/plot names, file names and fork reports
come from data, a pull request or a fork. Each function below turns such a value into
text that renders literally in its context and cannot end it early, start a new one,
notify anyone or become a workflow command:

==================  ============================================================
:func:`md_text`     inline Markdown (paragraphs, list items, headings)
:func:`md_cell`     one GitHub Markdown table cell (``md_text`` plus the pipe)
:func:`md_code`     an inline code span holding the value verbatim
:func:`html_text`   text or an attribute value inside raw HTML (``<summary>``)
:func:`mermaid_label`  a double-quoted Mermaid string
:func:`workflow_data`, :func:`workflow_property`  workflow-command parts (actions/toolkit)
:func:`log_text`    a value inside a plain-text log line
==================  ============================================================

GitHub turns ``@name`` and ``@org/team`` in rendered text into notifications, also
when the ``@`` came from an HTML entity (``&#64;``) or follows a letter it does not
count as a word character; :func:`defuse_mentions` puts a word joiner (U+2060) after
every ``@`` that could start one, which reads the same and notifies nobody.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from typing import Any

WORD_JOINER = "\u2060"
# Mermaid entity codes for the characters a quoted Mermaid string cannot hold as they are.
MERMAID_CODES = {"#": "#35;", '"': "#quot;", "%": "#37;", "<": "#lt;", ">": "#gt;", "`": "#96;"}

# Everything that ends a line somewhere (the runner, .NET's ReadLine, a browser) or is
# invisible control: C0, DEL, C1, and the Unicode line/paragraph separators.
_CONTROL = "[\x00-\x1f\x7f-\x9f\u2028\u2029]"  # compiled when a log line asks (~0.35 ms)
# The same characters as a str.translate table to spaces, for one_line (every Markdown text).
_CONTROL_TO_SPACE = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029], " ")
# The patterns below are compiled when a text first needs one (re keeps them), not at start-up:
# a report's names and numbers rarely do (~0.6 ms of the report's start-up when compiled at import).
_MENTION = r"@(?=[A-Za-z0-9_])"
# Entities that decode to "@" (decimal, hex, named), which GitHub decodes before it looks for mentions.
_AT_ENTITY = r"&(?:#0*64|#[xX]0*40|commat);?"
# GFM extended autolinks: scheme:// and www. become links without any Markdown syntax,
# wherever they start (also right after a letter or digit).
_AUTOLINK = r"(?i)(:)(//)|(www)(\.)"
# ASCII punctuation that starts inline markup in GitHub Markdown mid-line: emphasis, code,
# links and images (``(``, ``!`` and ``^`` mean nothing without ``[``), tables,
# strike-through, math. ``<`` and ``&`` become entities instead.
_MD_SPECIAL = set("\\`*[]|~$")
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
# Only these make ``<`` start HTML or an autolink (a tag name, ``</``, ``<!``, ``<?``) and ``&`` an
# entity; "0.85 < 0.9" and "R & D" stay as written.
_TAG_START = frozenset(c for c in _ALNUM if not c.isdigit()) | frozenset("/!?")
_ENTITY_START = _ALNUM | {"#"}
# A character the loop in md_text might change: the specials, "&" and "<", a "_" not between two
# letters or digits. Text without one (most metric names and numbers) is returned as it is.
_MAY_ESCAPE = r"[\\`*\[\]|~$&<]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])"
# Text made of these, starting with a letter and with no "_" beside a "." or "_" or at its end, is
# plain Markdown as it is (no markup, mention, autolink or block start: md_text returns it unchanged
# without its five patterns, which a report with a few hundred metric names runs a thousand times).
_LETTERS = frozenset(c for c in _ALNUM if not c.isdigit())
_PLAIN = _ALNUM | {".", "_"}
_DIGITS = frozenset("0123456789")
_NUMBER = _DIGITS | {".", "e", "E", "-", "+"}  # a number as Python or a table cell writes it
_BLOCK_START = r">|#{1,6}(?=\s|$)|[-+*](?=\s|$)|-{3,}|={3,}|\d{1,9}[.)](?=\s|$)"


def one_line(value: Any) -> str:
    """``value`` as text on one line: every line break and control character becomes a space."""
    text = str(value)
    # every character the table replaces is unprintable: printable text (nearly all) is returned as it is,
    # without translate's lookup per character (~2 us of each name in a report)
    return text if text.isprintable() else text.translate(_CONTROL_TO_SPACE)


def defuse_mentions(text: str) -> str:
    """``text`` with no ``@user`` / ``@org/team`` mention GitHub would notify (entities included)."""
    if "@" not in text and "&" not in text:
        return text  # no mention, nor an entity that could make one
    return re.sub(_MENTION, "@" + WORD_JOINER, re.sub(_AT_ENTITY, "@", text))


def _defuse_autolinks(text: str) -> str:
    if "://" not in text and "www" not in text.lower():
        return text
    return re.sub(_AUTOLINK, lambda m: (m[1] + WORD_JOINER + m[2]) if m[1] else (m[3] + WORD_JOINER + m[4]), text)


def md_text(value: Any) -> str:
    """``value`` as literal inline Markdown: no markup, HTML, link, image, math, mention or line break.

    Backslash escapes for Markdown punctuation, entities for a ``<`` that could open a tag and an
    ``&`` that could start an entity (so ``&#64;`` shows as typed), ``_`` escaped unless it sits between two letters or digits (where it cannot
    emphasise), autolinks and mentions broken with a word joiner.
    """
    text = one_line(value)
    if text[:1] in _LETTERS and _PLAIN.issuperset(text) and text[-1] != "_" and "__" not in text \
            and "._" not in text and "_." not in text and "www" not in text.lower():
        return text  # a dotted name ("group0.metric_1_acc"): nothing below would change it
    if (text[:1] in _DIGITS or (text[:1] == "-" and text[1:2] in _DIGITS)) and _NUMBER.issuperset(text) \
            and text[-1] in _DIGITS:
        return text  # a number ("0.5047", "-3", "1e-05"): no block start (no "." at its end), markup or entity
    return _escaped(text)


def _escaped(text: str) -> str:
    """md_text of one line of text that may need escaping."""
    text = defuse_mentions(_defuse_autolinks(text)).lstrip()
    prefix = ""
    block = re.match(_BLOCK_START, text)  # at a line start it would open a quote, heading, list or rule
    if block:  # escape its last character; the ones before it are plain (#, -, =, digits)
        prefix = text[: block.end() - 1] + "\\" + text[block.end() - 1]
        text_start = block.end()
    else:
        text_start = 0
    if re.compile(_MAY_ESCAPE).search(text, text_start) is None:  # most names and numbers: nothing to escape
        return prefix + text[text_start:]
    out = [prefix]
    for i, ch in enumerate(text):
        if i < text_start:
            continue
        after = text[i + 1: i + 2]
        if ch == "&" and after in _ENTITY_START:
            out.append("&amp;")
        elif ch == "<" and after in _TAG_START:
            out.append("&lt;")
        elif ch in _MD_SPECIAL:
            out.append("\\" + ch)
        elif ch == "_" and not (0 < i < len(text) - 1 and text[i - 1] in _ALNUM and text[i + 1] in _ALNUM):
            out.append("\\_")
        else:
            out.append(ch)
    return "".join(out)


def md_cell(value: Any) -> str:
    """``value`` as the literal content of one GitHub Markdown table cell (:func:`md_text` escapes the pipe)."""
    return md_text(value)


def md_code(value: Any, *, cell: bool = False) -> str:
    """An inline code span showing ``value`` verbatim (one line); ``cell`` when it sits in a table cell.

    The fence is one backtick longer than the longest run inside, so the value cannot close
    it; GitHub renders no HTML, link or mention inside a code span. In a table cell the
    pipe still splits the row unless escaped, and GFM removes that escape again.
    """
    text = one_line(value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0) if "`" in text else 0
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ") and text.strip(" ")):
        text = f" {text} "
    if cell:
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}" if text else "` `"


def html_text(value: Any) -> str:
    """``value`` as text or a quoted attribute value inside raw HTML (``<summary>``, ``<code>``).

    One line (a blank line would end GitHub's HTML block and start Markdown), every
    HTML-significant character an entity, mentions and autolinks defused.
    """
    text = defuse_mentions(_defuse_autolinks(one_line(value)))
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def mermaid_label(value: Any, limit: int | None = None) -> str:
    """``value`` as a double-quoted Mermaid string, quotes included, that shows it as written.

    Mermaid strings have no escape for ``"``; Mermaid scans the whole diagram for
    ``%%{...}%%`` directives and ``%%`` comments, reads ``<...>`` as HTML (``<b>`` vanishes)
    and decodes ``#name;`` / ``#35;`` entity codes. So the value goes on one line and each of
    ``# " % < >`` and the backtick (a code fence) becomes Mermaid's entity code, which it turns
    back into that very character (checked in a browser, Mermaid 10.9 and 12.3, by
    tests/unit/report/test_render_browser.py). ``limit`` cuts the value to that many characters first.
    """
    text = one_line(value)
    if limit is not None:
        text = text[:limit]
    return '"' + "".join(MERMAID_CODES.get(ch, ch) for ch in text) + '"'


def workflow_data(value: Any) -> str:
    """The message part of a workflow command (``::error::DATA``), escaped as actions/toolkit does."""
    return str(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(value: Any) -> str:
    """A property value of a workflow command (``file=…,title=…``), escaped as actions/toolkit does."""
    return workflow_data(value).replace(":", "%3A").replace(",", "%2C")


def guard_commands(text: str) -> str:
    """Text output with no line the runner would obey as a workflow command.

    A backstop for what :func:`log_text` missed: a line (split the way the runner splits,
    at CR, LF or CRLF) whose text starts with ``::`` after white space gets a zero-width
    space in front, which the runner does not trim.
    """
    if "::" not in text:
        return text
    parts = re.split(r"(\r\n|\r|\n)", text)
    for i in range(0, len(parts), 2):
        if parts[i].strip().startswith("::"):
            parts[i] = "\u200b" + parts[i]
    return "".join(parts)


def log_text(value: Any) -> str:
    """``value`` for a plain-text log line: control characters (CR, LF, ESC, …) shown as escapes.

    The runner reads a workflow command from any line that starts with ``::``, and it splits
    lines at a lone CR as well as at LF; an escaped value stays inside its line.
    """
    text = str(value)
    control = re.compile(_CONTROL)
    if not control.search(text):
        return text
    return control.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


# -- Markdown written by someone else (a fork's report) ------------------------------------------

# Tags ci-mlops' own reports use, kept (without attributes, but for ``open`` on details).
_KEPT_TAGS = {"details", "summary", "sub", "sup", "b", "i", "strong", "em", "code", "kbd", "br"}
# Compiled on first use (re keeps them): only a fork's report needs them, not every command's start-up.
_TAG_AT = r"<(/?)([A-Za-z][A-Za-z0-9]*)((?:\s+open)?)\s*(/?)>"
_FENCE = r"^ {0,3}(`{3,}|~{3,})(.*)$"


def untrusted_markdown(text: str) -> str:
    """Markdown someone else wrote (a fork's report), safe to post under the bot's name.

    It stays Markdown (tables, lists, code, Mermaid) but: no mention notifies anyone; no
    HTML but the few tags ci-mlops' reports use, without attributes; every ``</details>`` and
    ``</summary>`` closes one this text opened, and what it leaves open is closed at its
    end, as is an unclosed code fence, so nothing it contains reaches past it.
    """
    lines = defuse_mentions(text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    out: list[str] = []
    fence: str | None = None
    open_tags: list[str] = []
    for line in lines:
        match = re.compile(_FENCE).match(line)
        if fence is not None:
            if match and match[1][0] == fence[0] and len(match[1]) >= len(fence) and not match[2].strip():
                fence = None
            out.append(line)
            continue
        if match and not (match[1][0] == "`" and "`" in match[2]):
            fence = match[1]
            out.append(line)
            continue
        out.append(_keep_known_tags(line, open_tags))
    if fence is not None:
        out.append(fence)
    out.extend(f"</{tag}>" for tag in reversed(open_tags))
    return "\n".join(out)


def _keep_known_tags(line: str, open_tags: list[str]) -> str:
    """``line`` with every ``<`` escaped but those opening or closing a kept tag in order."""
    parts: list[str] = []
    pos = 0
    for i, ch in enumerate(line):
        if ch != "<" or i < pos:
            continue
        parts.append(line[pos:i])
        tag = re.compile(_TAG_AT).match(line, i)
        kept = _balanced(tag, open_tags) if tag else None
        if tag is None or kept is None:
            parts.append("&lt;")
            pos = i + 1
        else:
            parts.append(kept)
            pos = tag.end()
    parts.append(line[pos:])
    return "".join(parts)


def _balanced(tag: re.Match[str], open_tags: list[str]) -> str | None:
    closing, name, open_attr, self_closing = tag[1], tag[2].lower(), tag[3], tag[4]
    if name not in _KEPT_TAGS:
        return None
    if name == "br":
        return "<br>"
    if self_closing:
        return None
    if closing:
        if not open_tags or open_tags[-1] != name:
            return None  # closes something it did not open (ours, around it)
        open_tags.pop()
        return f"</{name}>"
    open_tags.append(name)
    return f"<{name}{' open' if open_attr and name == 'details' else ''}>"
