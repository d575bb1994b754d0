"""Hostile names and values from data and pull requests, through every renderer, into GitHub's Markdown.

Every report part is rendered with cmark-gfm (GitHub's engine) and must keep its own
structure: as many ``<details>`` closed as opened, no image, link, script or mention,
each table row with its own number of cells, and the workflow log free of commands.
"""

from __future__ import annotations

import html
import re

import cmarkgfm
import pandas as pd
import pytest
import yaml
from cmarkgfm.cmark import Options
from conftest import git, run_cli

from ci_mlops.checks import data_markdown
from ci_mlops.checks.data import check_frame
from ci_mlops.checks.render import report_markdown, slices_markdown
from ci_mlops.checks.slices import slice_metrics
from ci_mlops.drift.engine import detect_drift
from ci_mlops.drift.render import render_markdown as drift_markdown

HOSTILE = [
    "</details><img src=x onerror=alert(1)>",
    "[click](https://evil.example) ![p](https://evil.example/p.png)",
    "`code` ``two`` *em* _u_ ~~s~~ $m$",
    "a|b\\|c",
    "@org/team &#64;user é@user &commat;x",
    "x\r::add-mask::secret",
    "y\n::error::fake\n\n# heading",
    "</code></summary></details><script>x</script>",
    'q"uote %%{init: {"theme": "dark"}}%% #quot;',
    "https://evil.example www.evil.example",
]
MENTION_RE = re.compile(r"(?:^|[^A-Za-z0-9_`])@[A-Za-z0-9]")


def gfm(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def assert_contained(markdown: str) -> str:
    out = gfm(markdown)
    assert out.count("<details") == out.count("</details>"), out
    assert out.count("<summary>") == out.count("</summary>"), out
    for bad in ("<img", "<a ", "<script", "<h1", "<em>u", "<del>"):
        assert bad not in out, (bad, out)
    text = html.unescape(re.sub(r"<code>.*?</code>|<pre.*?</pre>", "", out, flags=re.S))
    assert MENTION_RE.search(text) is None, text
    for table in re.findall(r"<table>.*?</table>", out, re.S):
        widths = {len(re.findall(r"<t[dh][ >]", row)) for row in re.findall(r"<tr>.*?</tr>", table, re.S)}
        assert len(widths) == 1, table
    for block in re.findall(r"```mermaid\n(.*?)```", markdown, re.S):
        assert "%%{init" not in block.split("\n", 2)[-1], block  # only our own first-line directive
        for line in block.splitlines():
            assert line.count('"') % 2 == 0, line
    return out


def report_with(name: str) -> dict:
    metric = {"file": f"m/{name}.json", "key": f"test.{name}", "base": 0.5, "head": 0.6, "change": 0.1,
              "change_pct": 20.0, "status": "improved"}
    other = {**metric, "file": "metrics.json", "key": "plain"}
    return {
        "base": {"ref": "main", "sha": "a" * 40}, "head": {"ref": "workspace", "sha": "b" * 40},
        "metrics": [metric, other],
        "params": [{"file": "params.yaml", "key": name, "base": name, "head": f"{name}!", "change": None},
                   {"file": f"p/{name}.yaml", "key": "lr", "base": 1, "head": 2, "change": 1}],
        "gates": [{"metric": f"test.{name}", "file": f"m/{name}.json", "rule": "min", "bound": 0.9, "value": 0.6,
                   "base": 0.5, "passed": False, "message": f"{name} < 0.9"}],
        "sections": [{"title": name, "markdown": "body", "passed": False}],
        "plots": [
            {"id": name, "title": name, "template": "linear", "x": name, "y": name, "changed": True,
             "base": {"series": {name: {"x": [1, 2], "y": [0.1, 0.2]}}},
             "head": {"series": {name: {"x": [1, 2], "y": [0.2, 0.3]}}}},
            {"id": f"cm-{name}", "template": "confusion", "x": name, "y": name, "changed": True,
             "base": {"x_values": [name, "b"], "y_values": [name, "b"], "counts": [[name, name, 1], ["b", "b", 2]]},
             "head": {"x_values": [name, "b"], "y_values": [name, "b"], "counts": [[name, "b", 1], ["b", "b", 2]]}},
            {"id": f"err-{name}", "template": "linear", "changed": True, "error": name},
            {"id": f"same-{name}", "template": "linear", "changed": False, "base": {}, "head": {}},
        ],
    }


@pytest.mark.parametrize("name", HOSTILE)
def test_report_markdown_escapes_every_name_and_value(name):
    markdown = report_markdown(report_with(name))
    out = assert_contained(markdown)
    assert out.count("<details") == 3  # one per changed plot, none opened or closed by a name


@pytest.mark.parametrize("name", HOSTILE)
def test_drift_report_escapes_column_names_and_categories(name):
    ref = pd.DataFrame({name: ["a"] * 50 + [name] * 50, "n": range(100)})
    cur = pd.DataFrame({name: [name] * 95 + ["a"] * 5, "n": range(100)})
    result = detect_drift(ref, cur)
    assert result["columns"][0]["drifted"]
    assert_contained(drift_markdown(result))


@pytest.mark.parametrize("name", HOSTILE)
def test_data_check_and_slice_tables_escape_values(name):
    frame = pd.DataFrame({"c": ["ok", name, name], "actual": [1, 0, 1], "predicted": [1, 1, 1], name: ["g", name, name]})
    results = check_frame(frame, {"columns": {"c": {"allowed": ["ok"]}, name: {"nullable": False}}}, name=f"d/{name}.csv")
    assert_contained(data_markdown(results))
    slices = slice_metrics(frame, {"by": [name], "metrics": {"accuracy": {"max_gap": 0.01}}}, name="p.csv")
    assert_contained(slices_markdown(slices, file=name))


def test_check_in_actions_prints_no_workflow_command_from_data(git_repo):
    """A CR or LF in a data value never starts a line the runner would obey."""
    frame = pd.DataFrame({"label": ["ok", "bad\r::add-mask::secret", "x\n::error::fake", "::warning::y"]})
    frame.to_csv(git_repo / "data.csv", index=False)
    (git_repo / ".ci-mlops.yml").write_text(yaml.safe_dump(
        {"data": {"data.csv": {"columns": {"label": {"allowed": ["ok"]}}}}}))
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "data")
    out = run_cli("check", cwd=git_repo, env={"GITHUB_ACTIONS": "true"})
    assert out.returncode == 1, out.stderr
    commands = [line for line in re.split(r"\r\n|\r|\n", out.stdout + out.stderr) if line.strip().startswith("::")]
    assert commands and all(line.startswith("::error file=.ci-mlops.yml,") for line in commands), commands
    assert "add-mask" in out.stdout  # the value is still shown, escaped


@pytest.mark.parametrize("name", HOSTILE)
def test_check_run_summary_of_a_foreign_check_document_is_escaped(name):
    from ci_mlops.github.status import summary, verdict

    check = {"passed": False, "data": [{"file": name, "check": name, "passed": False, "message": name}]}
    _, description = verdict(check)
    assert_contained(summary(check, description))


@pytest.mark.parametrize("name", HOSTILE)
def test_anomaly_table_escapes_metric_names(name):
    from ci_mlops.report.anomaly import render_anomalies

    table = render_anomalies([{"metric": f"m.json:{name}", "value": 1.0, "median": 0.5, "z": 9.0, "points": 5}])
    assert_contained(table)
