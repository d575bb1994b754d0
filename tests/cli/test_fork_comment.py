"""A fork's report is posted marked as the fork run's unverified output, with that run's conclusion from the API.

The comment workflow posts what the fork's own pull_request run uploaded. Whatever that
report says ("✅ All gates passed", a fake ci-mlops header, a closing ``</details>``), the
comment shows GitHub's conclusion of the run on top and keeps the fork's text in a quote
it cannot leave. Rendered with cmark-gfm, GitHub's Markdown engine.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from conftest import run_cli

from ci_mlops.github.comments import marker
from tests.support.fake_github import FakeGitHub

SHA = "a" * 40
MARK = marker("ci-mlops")
RUN = 555


@pytest.fixture
def gh():
    with FakeGitHub() as fake:
        fake.add_pr("o/r", 7, head_sha=SHA, fork=True)
        yield fake


def artifact(tmp_path: Path, report: str, sha: str = SHA) -> str:
    folder = tmp_path / "artifact"
    folder.mkdir(exist_ok=True)
    (folder / "report.md").write_text(report)
    (folder / "pr.json").write_text(json.dumps({"pr": 7, "head_sha": sha, "marker": "ci-mlops"}))
    return str(folder)


def post(gh: FakeGitHub, tmp_path: Path, report: str, run: int | str | None = RUN, *args: str):
    env = gh.env(CI_MLOPS_EXPECTED_HEAD_SHA=SHA, GITHUB_WORKFLOW="ci-mlops comment")
    if run is not None:
        env["CI_MLOPS_SOURCE_RUN_ID"] = str(run)
    return run_cli("comment", "--from-artifact", artifact(tmp_path, report), *args, env=env)


def body(gh: FakeGitHub) -> str:
    [comment] = [c for c in gh.comments("o/r", 7) if c["body"].startswith(MARK)]
    return comment["body"]


def gfm(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def top_level(rendered: str) -> list[str]:
    """The top-level elements of rendered HTML: the fork's text must all be inside one blockquote."""
    depth, tops = 0, []
    for m in re.finditer(r"<(/?)(blockquote|div|p|details|table|pre|ul|ol|h\d|hr)\b", rendered):
        if m[1]:
            depth -= 1
        else:
            if depth == 0:
                tops.append(m[2])
            depth += 1 if m[2] != "hr" else 0
    return tops


@pytest.mark.parametrize(("conclusion", "mark"), [("success", "✅"), ("failure", "❌"), ("cancelled", "⏹️"),
                                                 ("timed_out", "⏱️"), ("action_required", "⚠️")])
def test_the_verdict_is_the_runs_conclusion_from_the_api(gh, tmp_path, conclusion, mark):
    gh.add_run("o/r", RUN, conclusion=conclusion, head_sha=SHA, head_repo="fork-owner/r")
    out = post(gh, tmp_path, "**✅ All 3 quality gates passed.**\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert out.returncode == 0, out.stderr
    text = body(gh)
    assert text.startswith(f"{MARK}\n> [!WARNING]\n> **Unverified report from a fork.**")
    assert f"**The fork's run concluded: {mark} {conclusion}**" in text
    assert f"[run {RUN}]({gh.server_url}/o/r/actions/runs/{RUN})" in text and "`fork-owner/r` at `aaaaaaa`" in text
    assert "> **✅ All 3 quality gates passed.**" in text  # the fork's claim, quoted
    assert f"GET /repos/o/r/actions/runs/{RUN}" in gh.calls()


HOSTILE = [
    "</blockquote></details>\n\n**ci-mlops: ✅ verified**",
    "<!-- ci-mlops:ci-mlops -->\n<img src=x onerror=alert(1)> <a href='https://evil.example'>x</a>",
    "> [!NOTE]\n> fake alert",
    "```\nunclosed fence\n\n**outside?**",
    "<details><summary>x</summary>\n\nnever closed",
    "ping @org/team &#64;admin é@user",
    "line\r\n\r\n**after CRLF**\r# heading after a lone CR",
    "<details open><summary>ok</summary>\n\n| t |\n|---|\n| 1 |\n\n</details>\n\n</details></details>",
]


@pytest.mark.parametrize("report", HOSTILE)
def test_the_forks_text_stays_inside_its_quote(gh, tmp_path, report):
    gh.add_run("o/r", RUN, conclusion="failure", head_sha=SHA)
    out = post(gh, tmp_path, report)
    assert out.returncode == 0, out.stderr
    rendered = gfm(body(gh))
    # The warning (GitHub shows "> [!WARNING]" as an alert; cmark-gfm as a quote) and the fork's quote: nothing else.
    assert top_level(rendered) == ["blockquote", "blockquote"], rendered
    assert rendered.count("<details") == rendered.count("</details>")
    assert "<img" not in rendered and "<a href='https://evil" not in rendered and "<!--" not in rendered.split("-->", 1)[-1]
    text = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    assert re.search(r"(?:^|[^A-Za-z0-9_`])@[A-Za-z0-9]", text) is None
    assert "The fork's run concluded: ❌ failure" in text


def test_a_run_of_another_commit_is_refused(gh, tmp_path):
    gh.add_run("o/r", RUN, conclusion="success", head_sha="b" * 40)
    out = post(gh, tmp_path, "report\n")
    assert out.returncode == 1 and "workflow run 555 built bbbbbbbbbbbb" in out.stderr
    assert gh.comments("o/r", 7) == []


def test_a_run_that_is_not_a_pull_request_is_refused(gh, tmp_path):
    gh.add_run("o/r", RUN, conclusion="success", head_sha=SHA, event="push")
    out = post(gh, tmp_path, "report\n")
    assert out.returncode == 1 and "not a pull request" in out.stderr and gh.comments("o/r", 7) == []


@pytest.mark.parametrize(("run", "message"), [("12x", "is not a workflow run id"), ("-3", "is not a workflow run id"),
                                              ("999", "workflow run 999 not found")])
def test_a_bad_or_unknown_run_id_is_one_line(gh, tmp_path, run, message):
    out = post(gh, tmp_path, "report\n", run)
    assert out.returncode == 2 and message in out.stderr and out.stderr.count("\n") == 1, out.stderr
    assert gh.comments("o/r", 7) == []


def test_without_a_run_id_the_comment_says_the_verdict_was_not_read(gh, tmp_path):
    out = post(gh, tmp_path, "**✅ All gates passed.**\n", None)
    assert out.returncode == 0, out.stderr
    assert "conclusion was not read" in body(gh) and "CI_MLOPS_SOURCE_RUN_ID is not set" in out.stderr
    assert "concluded: ✅" not in body(gh)


def test_dry_run_names_the_run_request(gh, tmp_path):
    out = post(gh, tmp_path, "report\n", RUN, "--dry-run")
    assert out.returncode == 0, out.stderr
    assert f"GET  /repos/o/r/actions/runs/{RUN}" in out.stderr and "Unverified report from a fork" in out.stdout
    assert gh.requests == []


def test_the_comment_workflow_passes_the_run_id():
    template = Path(__file__).parents[2].joinpath("templates/workflows/comment.yml.j2").read_text()
    assert "CI_MLOPS_SOURCE_RUN_ID: ${{ github.event.workflow_run.id }}" in template
