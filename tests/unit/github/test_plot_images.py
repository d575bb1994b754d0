"""`ci-mlops comment --plots-dir`: images checked, published to the PR's plot branch and shown; never a failed job."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.fake_github import FakeGitHub
from tests.unit.report.test_image_check import MALICIOUS, png

REPO = "o/r"
HEAD = "c" * 40
CHART = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><path d="M0 0L40 20" stroke="#00f"/></svg>'
REPORT = ("## ci-mlops report\n\n| metric | base | head |\n|---|---|---|\n| acc | 0.8 | 0.9 |\n\n"
          "<!-- ci-mlops:plots -->\n#### Plots\n<details open><summary><code>prc.json</code></summary>\n\n"
          "```mermaid\nxychart-beta\n  line [1, 2, 3]\n```\n\n</details>\n<!-- /ci-mlops:plots -->\n")


@pytest.fixture
def gh():
    with FakeGitHub() as fake:
        fake.add_pr(REPO, 7, head_sha=HEAD)
        yield fake


@pytest.fixture
def env(gh, tmp_path):
    return gh.env(repo=REPO, token="t", GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
                  GITHUB_OUTPUT=str(tmp_path / "out.txt"), GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="pull_request",
                  GITHUB_EVENT_PATH=str(event(tmp_path)))


def event(tmp_path: Path) -> Path:
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"number": 7, "pull_request": {"number": 7, "head": {"sha": HEAD}}}))
    return path


def plots_dir(tmp_path: Path, *, hostile: bool = False) -> Path:
    """A folder as `ci-mlops report --plots-dir` writes it; ``hostile`` adds what a fork could upload."""
    folder = tmp_path / "plots"
    (folder / "images").mkdir(parents=True)
    (folder / "prc.json.svg").write_text(CHART)
    (folder / "images" / "main_cm.png").write_bytes(png(4, 4))
    (folder / "images" / "workspace_cm.png").write_bytes(png(5, 5))
    listing = {"charts": [{"id": "prc.json", "svg": "prc.json.svg", "spec": "prc.json.vl.json", "revs": ["main"]}],
               "images": [{"id": "cm.png", "rev": "main", "path": "images/main_cm.png"},
                          {"id": "cm.png", "rev": "workspace", "path": "images/workspace_cm.png"}],
               "failures": ["loss.csv: could not be drawn: unknown field 'step'"]}
    if hostile:
        (folder / "images" / "evil.svg").write_text(MALICIOUS)
        (folder / "images" / "huge.png").write_bytes(png(1, 1) + b"\0" * (2 * 1024 * 1024))
        (folder / "images" / "passwd.png").symlink_to("/etc/passwd")
        listing["images"] += [{"id": "evil.svg", "rev": "workspace", "path": "images/evil.svg"},
                              {"id": "huge.png", "rev": "workspace", "path": "images/huge.png"},
                              {"id": "passwd", "rev": "workspace", "path": "images/passwd.png"},
                              {"id": "escape", "rev": "workspace", "path": "../../outside.png"}]
    (folder / "plots.json").write_text(json.dumps(listing))
    return folder


def comment(gh: FakeGitHub) -> str:
    [c] = gh.comments(REPO, 7)
    return c["body"]


def srcs(body: str) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', body)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url.replace("&amp;", "&")) as answer:
        return answer.read()


def test_images_replace_the_mermaid_charts_by_commit_sha_links(gh, env, tmp_path):
    (tmp_path / "report.md").write_text(REPORT)
    out = run_cli("comment", str(tmp_path / "report.md"), "--plots-dir", str(plots_dir(tmp_path)), env=env)
    assert out.returncode == 0, out.stderr
    body = comment(gh)
    assert "```mermaid" not in body and "| acc | 0.8 | 0.9 |" in body
    [ref] = gh.git(REPO).refs
    assert ref == "refs/heads/ci-mlops/plots/pr-7"
    commit = gh.git(REPO).refs[ref]
    urls = srcs(body)
    assert len(urls) == 3 and all(f"/{REPO}/blob/{commit}/cccccccccccc/" in u and u.endswith("?raw=true") for u in urls)
    assert fetch(urls[0]).startswith(b"<svg") and fetch(urls[1]) == png(4, 4) and fetch(urls[2]) == png(5, 5)
    assert "<th>main</th><th>workspace</th>" in body  # an image plot: base and head side by side
    assert "loss.csv" not in body  # what the report could not draw is in its own section, not repeated
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert urls[0] in summary  # the job summary shows them too
    assert "published 3 plot image(s) to ci-mlops/plots/pr-7" in out.stderr


def test_hostile_images_are_sanitised_or_left_out_with_one_line_each(gh, env, tmp_path):
    (tmp_path / "outside.png").write_bytes(png(2, 2))
    (tmp_path / "report.md").write_text(REPORT)
    out = run_cli("comment", str(tmp_path / "report.md"), "--plots-dir", str(plots_dir(tmp_path, hostile=True)), env=env)
    assert out.returncode == 0, out.stderr
    body = comment(gh)
    git = gh.git(REPO)
    files = git.files(git.refs["refs/heads/ci-mlops/plots/pr-7"])
    assert sorted(files) == ["cccccccccccc/01-prc.json.svg", "cccccccccccc/02-cm.png-main.png",
                             "cccccccccccc/03-cm.png-workspace.png", "cccccccccccc/04-evil.svg-workspace.svg"]
    evil = files["cccccccccccc/04-evil.svg-workspace.svg"].decode().lower()
    assert "script" not in evil and "evil.example" not in evil and "foreignobject" not in evil and "onload" not in evil
    assert "`evil.svg` at `workspace`: sanitised, removed" in body and "&lt;script>" in body
    assert "`huge.png` at `workspace`: not published:" in body and "-byte limit per image" in body
    assert "`passwd` at `workspace`: not published:" in body and "symlink" in body
    assert "`escape` at `workspace`: not published:" in body and "not inside the plots folder" in body


def test_publishing_off_keeps_the_mermaid_charts_and_links_the_artifact(gh, env, tmp_path):
    (tmp_path / "report.md").write_text(REPORT)
    out = run_cli("comment", str(tmp_path / "report.md"), "--plots-dir", str(plots_dir(tmp_path)),
                  "--no-plots-publish", env=env)
    assert out.returncode == 0, out.stderr
    body = comment(gh)
    assert "```mermaid" in body and srcs(body) == []
    assert "3 image(s) of the plots are in the run's artifact `ci-mlops-report`" in body
    assert f"[workflow run]({gh.server_url}/{REPO}/actions/runs/4242)" in body
    assert gh.git(REPO).writes == []
    assert "Plots as images" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


@pytest.mark.parametrize(("setup", "reason"), [
    (lambda gh: gh.git(REPO).protected.append("refs/heads/ci-mlops/*"), "a repository rule forbids the plot branch"),
    # GitHub's Git Data API answers 409 for an empty or unavailable repository
    (lambda gh: gh.fail(409, path="/git/blobs", message="Git Repository is empty."), "Git Repository is empty"),
])
def test_a_publish_that_fails_is_one_line_and_the_comment_still_posts(gh, env, tmp_path, setup, reason):
    setup(gh)
    (tmp_path / "report.md").write_text(REPORT)
    out = run_cli("comment", str(tmp_path / "report.md"), "--plots-dir", str(plots_dir(tmp_path)), env=env)
    assert out.returncode == 0, out.stderr
    body = comment(gh)
    assert "```mermaid" in body and reason in body, body
    assert "plot images not published" in out.stderr


def test_a_read_only_token_cannot_publish_and_says_which_permission(gh, env, tmp_path):
    (tmp_path / "report.md").write_text(REPORT)
    # GitHub's answer to a GITHUB_TOKEN without contents: write
    gh.fail(403, path="/git/blobs", message="Resource not accessible by integration")
    out = run_cli("comment", str(tmp_path / "report.md"), "--plots-dir", str(plots_dir(tmp_path)), env=env)
    assert out.returncode == 0, out.stderr
    assert "the comment job needs contents: write" in comment(gh)


def test_a_listing_that_is_not_ours_is_one_line(gh, env, tmp_path):
    folder = tmp_path / "plots"
    folder.mkdir()
    (folder / "plots.json").write_text('{"charts": "all of them"}')
    (tmp_path / "report.md").write_text(REPORT)
    out = run_cli("comment", str(tmp_path / "report.md"), "--plots-dir", str(folder), env=env)
    assert out.returncode == 0, out.stderr
    assert "plots.json is not a listing ci-mlops wrote" in comment(gh) and "```mermaid" in comment(gh)


def test_no_plots_json_means_no_plots_section(gh, env, tmp_path):
    (tmp_path / "plots").mkdir()
    (tmp_path / "report.md").write_text(REPORT)
    out = run_cli("comment", str(tmp_path / "report.md"), "--plots-dir", str(tmp_path / "plots"), env=env)
    assert out.returncode == 0, out.stderr
    assert "Plots as images" not in comment(gh) and "```mermaid" in comment(gh)


def test_dry_run_names_the_git_data_calls(gh, env, tmp_path):
    (tmp_path / "report.md").write_text(REPORT)
    out = run_cli("comment", str(tmp_path / "report.md"), "--plots-dir", str(plots_dir(tmp_path)), "--dry-run", env=env)
    assert out.returncode == 0, out.stderr
    assert "/git/blobs" in out.stderr and "refs/heads/ci-mlops/plots/pr-{pr}" in out.stderr
    assert gh.comments(REPO, 7) == [] and gh.git(REPO).writes == []


def test_a_bad_branch_prefix_is_a_user_error(gh, env, tmp_path):
    (tmp_path / "report.md").write_text(REPORT)
    out = run_cli("comment", str(tmp_path / "report.md"), "--plots-dir", str(plots_dir(tmp_path)),
                  "--plots-branch", "../main", env=env)
    assert out.returncode == 2 and "is not a branch name prefix" in out.stderr, out.stderr
    assert os.linesep not in out.stderr.strip()


def test_twenty_plots_and_a_huge_report_fit_in_one_comment(gh, env, tmp_path):
    """GitHub's 65,536-character limit: the images (short links) stay, the long tables are shrunk."""
    folder = tmp_path / "plots"
    folder.mkdir()
    charts = []
    for i in range(20):
        (folder / f"p{i}.svg").write_text(CHART)
        charts.append({"id": f"eval/plots/p{i}.json", "svg": f"p{i}.svg", "spec": f"p{i}.vl.json", "revs": ["main"]})
    (folder / "plots.json").write_text(json.dumps({"charts": charts, "images": [], "failures": []}))
    rows = "".join(f"| metric_{i} | {i / 7:.6f} | {i / 5:.6f} |\n" for i in range(3000))
    mermaid = "".join(f"<details open><summary>p{i}</summary>\n\n```mermaid\nxychart-beta\n  line [{', '.join(['1'] * 300)}]\n"
                      "```\n\n</details>\n" for i in range(20))
    report = (f"## ci-mlops report\n\n<details><summary>Metrics</summary>\n\n| metric | base | head |\n|---|---|---|\n"
              f"{rows}\n</details>\n\n<!-- ci-mlops:plots -->\n#### Plots\n{mermaid}<!-- /ci-mlops:plots -->\n")
    assert len(report) > 100_000
    (tmp_path / "report.md").write_text(report)
    out = run_cli("comment", str(tmp_path / "report.md"), "--plots-dir", str(folder), env=env)
    assert out.returncode == 0, out.stderr
    body = comment(gh)
    assert len(body.encode("utf-16-le")) // 2 <= 65536
    assert len(srcs(body)) == 20 and "```mermaid" not in body
    assert "shortened to fit GitHub's 65,536-character comment limit" in body
