"""ci_mlops.markdown.blocks: tables and folds as GitHub renders them (cmark-gfm, GitHub's engine)."""

from __future__ import annotations

import re

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from ci_mlops.escape import md_cell
from ci_mlops.markdown import blocks
from ci_mlops.markdown.blocks import details, row, rule, table, value_cell


def gfm(text: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)


def test_a_table_renders_with_its_alignment_and_escaped_cells():
    lines = table(["name", "value"], ["---", "--:"], [[md_cell("a|b"), "1"], ["c", "22"]])
    assert lines == ["| name | value |", "|---|--:|", "| a\\|b | 1 |", "| c | 22 |"]
    html = gfm("\n".join(lines))
    assert "<td>a|b</td>" in html and '<td align="right">22</td>' in html and html.count("<tr>") == 3


def test_delimiters_are_written_as_given():
    assert rule([":--", "---:", ":-:"]) == "|:--|---:|:-:|"
    assert row([]) == "|  |"


@pytest.mark.parametrize("header, align, rows, said", [
    (["a", "b"], ["---"], [], "2 columns but 1 alignments"),
    (["a"], ["---"], [["1", "2"]], "a row of 2 cells"),
    (["a"], ["-|-"], [], "not a Markdown table delimiter"),
    ([], [], [], "no columns"),
])
def test_a_malformed_table_is_refused(header, align, rows, said):
    with pytest.raises(ValueError, match=said):
        table(header, align, rows)


def test_details_folds_markdown_and_can_start_open():
    folded = details("<b>3 params</b>", "| a |\n|---|\n| 1 |")
    assert folded == "<details><summary><b>3 params</b></summary>\n\n| a |\n|---|\n| 1 |\n\n</details>"
    html = gfm(folded)
    assert "<table>" in html and "<details>" in html
    assert details("s", "body", open=True).startswith("<details open><summary>s</summary>")


@pytest.mark.parametrize("cell", ["-", "---", ":-", "-:", ":-:", ":---:", "", ":", "::", ":::", "::-", "-::", ":-:-",
                                  "- ", " -", "-\n", "=", "-|-", ":--:-", "\u2212"])
def test_a_delimiter_cell_is_what_the_pattern_says(cell):
    assert blocks._rule_cell(cell) == bool(re.fullmatch(r":?-+:?", cell))


@pytest.mark.parametrize("value, cell", [
    (None, "–"), (True, "true"), (False, "false"), (0.5, "0.5"), (1 / 3, "0.333333"), (1e-05, "1e-05"), (-0.0, "-0"),
    (float("nan"), "NaN"), (float("inf"), "∞"), (float("-inf"), "-∞"), (3, "3"), (12345678, "12345678"),
    ("a|b", "a\\|b"), ("x" * 50, "x" * 39 + "…"),
])
def test_a_value_cell(value, cell):
    assert value_cell(value) == cell
