"""Plot images in the PR comment, end to end: the generated workflows run job by job against the
loopback GitHub (tests/support/runner_sim.py, tests/support/fake_github.py with its Git Data API and file serving).

Same-repository PR: the training job draws the plots into the report artifact, the comment job
(no checkout, ``contents: write``) commits them to ``ci-mlops/plots/pr-7`` and the comment shows
them by commit-SHA links instead of Mermaid. Fork PR: the fork's run (read-only token) only
uploads the artifact; a malicious fork adds a hostile SVG and an oversize PNG to it; the
comment workflow checks every image, publishes the sanitised SVG and not the PNG, and says so.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import yaml

from ci_mlops.report.image_check import check_image
from tests.e2e.test_workflows import (  # noqa: F401 - template, origin and gh are fixtures
    FORK,
    REPO,
    WORKFLOWS,
    ci_comments,
    gh,
    open_pr,
    origin,
    outcomes,
    run_pr_job,
    runner,
    template,
)
from tests.support.runner_sim import JobResult, load_workflow
from tests.unit.report.test_image_check import MALICIOUS, png

PLOT_BRANCH = "refs/heads/ci-mlops/plots/pr-{}"


def srcs(body: str) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', body)


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def published(gh, pr: int) -> dict[str, bytes]:
    git = gh.git(REPO)
    return git.files(git.refs[PLOT_BRANCH.format(pr)])


def test_same_repo_pr_shows_the_plots_as_images_from_the_pr_plot_branch(origin, tmp_path, gh):
    head, merge = open_pr(origin, 7, "feature", gate_min=0.5, **{"train.lr": 0.3})
    gh.add_pr(REPO, 7, head_sha=head, head_ref="feature")
    workflow = yaml.safe_load((origin / WORKFLOWS / "ci-mlops-pr.yml").read_text())
    assert workflow["jobs"]["comment"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert workflow["jobs"]["train"]["permissions"] == {"contents": "read"}

    job, commenter = run_pr_job(origin, tmp_path, gh, "run", 7, head, merge, "feature")
    assert job.conclusion == "success" and commenter.conclusion == "success", job.log() + commenter.log()
    plots = tmp_path / "run" / "artifacts" / "ci-mlops-report" / "plots"
    listing = json.loads((plots / "plots.json").read_text())
    assert [c["id"] for c in listing["charts"]] == ["eval/prc.csv", "eval/confusion.csv"], listing

    [comment] = ci_comments(gh, 7)
    body = comment["body"]
    assert "```mermaid" not in body and "test.accuracy" in body  # the images replace the charts, tables stay
    files = published(gh, 7)
    commit = gh.git(REPO).refs[PLOT_BRANCH.format(7)]
    urls = srcs(body)
    assert len(urls) == 2 and len(files) == 2
    for url, chart in zip(urls, listing["charts"]):
        assert f"/{REPO}/blob/{commit}/{head[:12]}/" in url, url
        status, data = fetch(url.replace("&amp;", "&"))
        assert status == 200 and data == check_image((plots / chart["svg"]).read_bytes()).data
    # the only ref written is the PR's plot branch: never main
    assert {ref for _m, ref in gh.git(REPO).writes} == {PLOT_BRANCH.format(7)}
    assert urls[0] in commenter.summary  # the comment job's summary shows the images too


def test_fork_pr_images_are_checked_then_published_by_the_comment_workflow(origin, tmp_path, gh):
    head, merge = open_pr(origin, 9, "fork-feature", gate_min=0.5, **{"train.lr": 0.3})
    gh.add_pr(REPO, 9, head_sha=head, head_ref="fork-feature", fork=True)
    job, commenter = run_pr_job(origin, tmp_path, gh, "fork-run", 9, head, merge, "fork-feature", token="ro",
                                fork=True)
    assert job.conclusion == "success" and commenter.conclusion == "skipped", job.log()
    assert gh.git(REPO).writes == []  # the fork's run publishes nothing

    # The fork controls its run: it adds a hostile SVG and an oversize PNG to the artifact.
    store = tmp_path / "fork-run" / "artifacts"
    plots = store / "ci-mlops-report" / "plots"
    (plots / "images").mkdir(exist_ok=True)
    (plots / "images" / "evil.svg").write_text(MALICIOUS)
    (plots / "images" / "huge.png").write_bytes(png(1, 1) + b"\0" * (3 * 1024 * 1024))
    listing = json.loads((plots / "plots.json").read_text())
    listing["images"] += [{"id": "evil.svg", "rev": "fork", "path": "images/evil.svg"},
                          {"id": "huge.png", "rev": "fork", "path": "images/huge.png"}]
    (plots / "plots.json").write_text(json.dumps(listing))

    workflow = load_workflow(origin / WORKFLOWS / "ci-mlops-comment.yml")
    assert workflow["jobs"]["comment"]["permissions"] == {"actions": "read", "contents": "write",
                                                          "pull-requests": "write"}
    gh.add_run(REPO, 555, conclusion="success", head_sha=head, head_repo=FORK)
    event = {"action": "completed", "workflow_run": {
        "id": 555, "event": "pull_request", "head_sha": head, "head_branch": "fork-feature",
        "conclusion": "success", "name": "ci-mlops PR", "head_repository": {"full_name": FORK}}}
    run = runner(tmp_path, "comment", gh, token="t", event_name="workflow_run", event=event, sha="c" * 40,
                 ref="refs/heads/main", workflow="ci-mlops comment", artifacts=store)
    run.run_artifacts = {"555": store}  # the fork run's artifacts, downloaded by its run id
    result: JobResult = run.run_job(workflow, "comment")
    assert result.conclusion == "success", result.log()
    assert outcomes(result)["Post the PR comment"] == "success"

    [comment] = ci_comments(gh, 9)
    body = comment["body"]
    assert "Unverified report from a fork" in body
    assert "Plots (images from the fork's run, checked and published by ci-mlops)" in body
    # the fork's own Mermaid charts stay inside its quoted report; the images come after it
    assert body.index("> **The fork's report**") < body.index("#### Plots (images from the fork")
    files = published(gh, 9)
    names = sorted(Path(p).name for p in files)
    assert names == ["01-eval_prc.csv.svg", "02-eval_confusion.csv.svg", "03-evil.svg-fork.svg"], names
    evil = next(data for path, data in files.items() if path.endswith("evil.svg-fork.svg")).decode().lower()
    for bad in ("<script", "onload", "evil.example", "foreignobject", "javascript:"):
        assert bad not in evil, bad
    assert "`evil.svg` at `fork`: sanitised, removed" in body
    assert "`huge.png` at `fork`: not published: 3,145,795 bytes, over the 2,097,152-byte limit" in body
    urls = srcs(body)
    assert len(urls) == 3 and all(fetch(u.replace("&amp;", "&"))[0] == 200 for u in urls)
    assert {ref for _m, ref in gh.git(REPO).writes} == {PLOT_BRANCH.format(9)}
