"""ci_mlops.escape: every context, rendered by GitHub's own Markdown engine (cmark-gfm).

Each property renders the escaped value the way GitHub does and checks that it shows
exactly the value (as one line), that it stays in its cell / span / element, and that
it carries no tag, link, image, emphasis or mention.
"""

from __future__ import annotations

import html
import random
import re
import subprocess
import sys

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ci_mlops import escape
from ci_mlops.escape import (
    MERMAID_CODES,
    WORD_JOINER,
    defuse_mentions,
    guard_commands,
    html_text,
    log_text,
    md_cell,
    md_code,
    md_text,
    mermaid_label,
    one_line,
    workflow_data,
    workflow_property,
)

# Hostile pieces mixed into generated text: markup, HTML, entities, links, mentions, line breaks.
PIECES = ["</details>", "<img src=x onerror=alert(1)>", "<a href='x'>", "[x](https://evil.example)",
          "![i](https://evil.example/p.png)", "`", "``", "*", "_", "~~", "$x$", "|", "\\", "\r", "\n", "\r\n",
          "@org/team", "@user", "é@user", "a@b.example", "&#64;user", "&#x40;u", "&commat;u", "&amp;", "&lt;b&gt;",
          "https://evil.example", "www.evil.example", "::error::x", "::add-mask::s", "%", ",", ":", "#quot;",
          "%%{init: {}}%%", "\u2028", "\x00", "\x1b[31m", "<!-- -->", "<script>", "&", "<", ">", " ", "\t"]
hostile = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=8).map("".join)

TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)")
MENTION_RE = re.compile(r"(?:^|[^A-Za-z0-9_`])@[A-Za-z0-9]")  # GitHub's mention start
NO_LINK_TAGS = {"a", "img"}


def gfm(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def shown(fragment: str) -> str:
    """The text a reader sees in an HTML fragment without tags: entities decoded, word joiners gone."""
    return html.unescape(fragment).replace(WORD_JOINER, "")


def expected(value: str) -> str:
    """What the reader should see: the value on one line, "@" entities shown as "@" (never a mention)."""
    return re.sub(r"&(?:#0*64|#[xX]0*40|commat);?", "@", one_line(value)).replace(WORD_JOINER, "").strip()


def cell_of(markdown_row_value: str) -> str:
    out = gfm(f"| h |\n|---|\n| {markdown_row_value} |\n")
    cells = re.findall(r"<td>(.*?)</td>", out, re.S)
    assert len(cells) == 1, out
    return cells[0]


@settings(max_examples=300, deadline=None)
@given(hostile)
@example("</details><img src=x>")
@example("`code` *bold* _under_ [link](x) ![img](y) ~~del~~ $math$")
@example("a\\|b")
@example("*")
@example("- item")
@example("@org/team é@user &#64;user &#x40;user &commat;user x@y.example")
@example("https://evil.example www.evil.example")
def test_md_cell_renders_the_value_alone_in_one_cell(value):
    cell = cell_of(md_cell(value))
    assert TAG_RE.search(cell) is None, cell  # no tag at all: no link, image, emphasis, code, HTML
    assert shown(cell).strip() == expected(value)
    assert MENTION_RE.search(html.unescape(cell)) is None


@settings(max_examples=200, deadline=None)
@given(hostile)
@example("_private_ and snake_case_name")
@example("*")
@example("> quote")
@example("### heading")
@example("1. item")
@example("---")
@example("    indented code")
def test_md_text_in_a_paragraph_and_a_list_item(value):
    for wrap in ("{}", "- ✅ {}", "#### {}", "_Could not read: {}_"):
        out = gfm(wrap.format(md_text(value)) + "\n")
        tags = {m[2] for m in TAG_RE.finditer(out)} - {"p", "ul", "li", "h4", "em"}
        assert not tags, out
        assert out.count("<p>") + out.count("<li>") + out.count("<h4>") <= 1, out
        assert MENTION_RE.search(html.unescape(out)) is None


def test_md_text_keeps_ordinary_text_readable():
    assert md_text("0.85 < 0.9 (over max_drop 0.01)") == "0.85 < 0.9 (over max_drop 0.01)"
    assert md_text("train.class_weight") == "train.class_weight"
    assert md_text("R & D") == "R & D"
    assert md_text("_x") == "\\_x"


@settings(max_examples=300, deadline=None)
@given(hostile)
@example("a|b")
@example("``x``")
@example(" padded ")
@example("` ")
@example(" \xa0 ")  # GFM strips one space each side unless the span is all U+0020 spaces (NBSP is not one)
def test_md_code_shows_the_value_verbatim(value):
    for cell in (True, False):
        code = md_code(value, cell=cell)
        inner = cell_of(code) if cell else gfm(code + "\n")
        spans = re.findall(r"<code>(.*?)</code>", inner, re.S)
        assert len(spans) == 1, inner
        assert re.sub(r"<[^>]*>", "", inner.replace(f"<code>{spans[0]}</code>", "")).strip() == ""
        want = one_line(value) or " "
        assert html.unescape(spans[0]) == want


@settings(max_examples=300, deadline=None)
@given(hostile)
@example("</code></summary></details><img src=x>")
@example("x\n\n# heading")
def test_html_text_stays_inside_its_element(value):
    out = gfm(f"<details open><summary><code>{html_text(value)}</code></summary>\n\nbody\n\n</details>\n")
    assert out.count("</details>") == 1 and out.count("<summary>") == 1 and out.count("<code>") == 1, out
    inner = re.search(r"<code>(.*?)</code>", out, re.S)[1]
    assert TAG_RE.search(inner) is None
    assert shown(inner) == re.sub(r"&(?:#0*64|#[xX]0*40|commat);?", "@", one_line(value)).replace(WORD_JOINER, "")
    assert MENTION_RE.search(html.unescape(inner)) is None


@settings(max_examples=300, deadline=None)
@given(hostile)
@example('a"b\n  line [1]\n%%{init: {"theme": "dark"}}%%')
def test_mermaid_label_is_one_quoted_string(value):
    label = mermaid_label(value)
    assert re.fullmatch(r'"(?:[^"\r\n%`#<>\x00-\x1f]|#(?:35|quot|37|lt|gt|96);)*"', label), label
    decoded = {code: ch for ch, code in MERMAID_CODES.items()}
    shown = re.sub(r"#(?:35|quot|37|lt|gt|96);", lambda m: decoded[m[0]], label[1:-1])
    assert shown == one_line(value)  # Mermaid decodes the codes back: the value as written
    cut = mermaid_label(value, limit=5)[1:-1]
    assert len(re.sub(r"#(?:35|quot|37|lt|gt|96);", "x", cut)) <= 5


def _runner_lines(text: str) -> list[str]:
    # The runner reads stdout line by line; .NET's ReadLine ends a line at CR, LF or CRLF.
    return re.split(r"\r\n|\r|\n", text)


def _unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


@settings(max_examples=300, deadline=None)
@given(hostile, hostile)
def test_workflow_command_parts_keep_one_command(prop, data):
    line = f"::error title={workflow_property(prop)}::{workflow_data(data)}"
    assert _runner_lines(line) == [line]
    props, _, message = line[len("::error "):].partition("::")
    assert "," not in props and ":" not in props
    assert _unescape_data(props[len("title="):]) == prop and _unescape_data(message) == data


@settings(max_examples=300, deadline=None)
@given(hostile)
@example("ok\r::add-mask::secret")
@example("x\n::error::fake")
def test_log_text_and_guard_leave_no_command_line(value):
    assert len(_runner_lines(f"PASS {log_text(value)}")) == 1
    for text in (guard_commands(f"  {log_text(value)}  PASS"), guard_commands(f"{value}\n{value}\r::set-output name=x::y")):
        assert all(not part.strip().startswith("::") for part in _runner_lines(text)), text
    assert "\r" not in log_text(value) and "\n" not in log_text(value)


@pytest.mark.parametrize("text", ["@org/team", "@user", "é@user", "a@user", "ü@team", "&#64;user", "&#064;user",
                                  "&#x40;user", "&#X0040;user", "&commat;user", "(@user)", "`@user`", "@_user"])
def test_defuse_mentions_catches_every_variant(text):
    out = gfm(defuse_mentions(text) + "\n")
    assert MENTION_RE.search(html.unescape(out)) is None, out
    assert "@" in html.unescape(out)


def test_md_text_returns_text_with_nothing_to_escape_as_the_full_escaping_would(monkeypatch):
    """The shortcut for text without a character to escape gives what the character loop gives."""
    alphabet = "aZ09_ -.#>+*=&<@:/w\\`[]|~$()!?;%é\t\n)"
    rng = random.Random(20)
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(20000)]
    texts += ["metric_61_acc", "group3.metric_61_acc", "_x", "x_", "a__b", "1. x", "- x", "--- x", "## a_b", "www.x",
              "0.85 < 0.9", "R & D", "a_b_", "é_a", "a_é"]
    fast = [md_text(t) for t in texts]
    monkeypatch.setattr(escape, "_MAY_ESCAPE", "")  # always "may escape": the loop runs
    assert fast == [md_text(t) for t in texts]
    assert sum(f == t for f, t in zip(fast, texts, strict=True)) > 1000  # the shortcut was taken often


def test_one_line_turns_exactly_the_control_characters_into_spaces():
    """one_line translates by a table; it must replace what the control-character pattern finds."""
    pattern = re.compile(escape._CONTROL)
    every = "".join(map(chr, range(0x3000)))
    assert one_line(every) == pattern.sub(" ", every)
    assert one_line("a\r\nb\x1b[31m\u2028c\x85") == "a  b [31m c "
    printable = [chr(c) for c in range(0x110000) if chr(c).isprintable()]  # returned as they are, untranslated
    assert not pattern.search("".join(printable)) and one_line("".join(printable)) == "".join(printable)
    assert log_text("a\rb") == "a\\rb"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="aAwW09._-:/@&#<> `*|\\\neE+)", max_size=12))
def test_md_text_returns_a_plain_name_as_it_is_and_escapes_the_rest_as_before(text):
    # the plain-name and number shortcuts give what the full escaping gives, on text that nearly qualifies too
    assert md_text(text) == escape._escaped(escape.one_line(text))


@pytest.mark.parametrize(("name", "plain"), [
    ("group0.metric_1_acc", True), ("roc_auc.test", True), ("www.hits", False), ("a__b", False),
    ("a._b", False), ("b_", False), ("_b", False), ("a.b-c", False), ("é", False),
    ("0.5", True), ("-3", True), ("1e-05", True), ("30", True), ("1.", False), ("1)", False), ("--1", False),
    ("-", False), ("1 2", False), ("1_000", False), ("١", False),
])
def test_which_names_take_the_plain_shortcut(name, plain, monkeypatch):
    calls = []
    monkeypatch.setattr(escape, "_escaped", lambda text: calls.append(text) or text)
    md_text(name)
    assert (calls == []) is plain


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="aAwW09._-:/@&#;x<>` \u0130\u212a", max_size=14))
def test_the_shortcuts_past_a_pattern_give_what_the_pattern_gives(text):
    """defuse_mentions, the autolink defusing and md_code skip their patterns for text that cannot
    match them (nearly every name and number in a report): the answer must be the pattern's."""
    assert defuse_mentions(text) == re.sub(escape._MENTION, "@" + WORD_JOINER, re.sub(escape._AT_ENTITY, "@", text))
    linked = re.sub(escape._AUTOLINK, lambda m: (m[1] + WORD_JOINER + m[2]) if m[1] else (m[3] + WORD_JOINER + m[4]),
                    text)
    assert escape._defuse_autolinks(text) == linked
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    assert md_code(text).startswith("`" * (longest + 1)) and not md_code(text).startswith("`" * (longest + 2))


def test_escape_compiles_no_pattern_at_import_nor_for_plain_names():
    """Start-up: a report's names and numbers need none of escape's patterns (each compiled on first use)."""
    code = ("import re, sys\nre.purge()\nfrom ci_mlops import escape\n"
            "escape.html_text('200 metrics'); escape.md_text('group0.metric_1_acc'); escape.md_code('metrics.json')\n"
            "escape.defuse_mentions('a b'); escape.md_cell('roc_auc.test')\n"
            "print(sorted(p for (_, p, _) in re._cache if p in vars(escape).values()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
