"""The monitor's issue upsert against the loopback GitHub stand-in: one issue, updated, then closed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ci_mlops.cli import main
from ci_mlops.github.client import GitHubClient
from ci_mlops.github.issues import MARKER, find_open_issue, upsert_issue
from tests.support.fake_github import FakeGitHub

REPO = "o/r"


@pytest.fixture
def gh():
    with FakeGitHub() as fake:
        fake.add_repo(REPO)
        yield fake


def _client(gh: FakeGitHub, slept: list[float] | None = None) -> GitHubClient:
    return GitHubClient(gh.api_url, "t", sleep=(slept if slept is not None else []).append, jitter=lambda: 0.0)


def test_open_update_close_cycle(gh: FakeGitHub) -> None:
    client = _client(gh)
    first = upsert_issue(client, REPO, problem=True, body="drift run 1", label="ci-mlops:drift")
    assert first["action"] == "opened" and first["url"].endswith(f"/{REPO}/issues/{first['number']}")
    second = upsert_issue(client, REPO, problem=True, body="drift run 2", label="ci-mlops:drift")
    assert second == {**first, "action": "updated"}
    issues = gh.issues(REPO)
    assert len(issues) == 1 and "drift run 2" in issues[0]["body"] and MARKER in issues[0]["body"]
    assert [lab["name"] for lab in issues[0]["labels"]] == ["ci-mlops:drift"]

    closed = upsert_issue(client, REPO, problem=False, body="all clear", closing_note="Drift is gone.", run_id="9")
    assert closed["action"] == "closed" and closed["number"] == first["number"]
    assert gh.issues(REPO)[0]["state"] == "closed"
    comments = gh.comments(REPO, first["number"])
    assert len(comments) == 1 and "Drift is gone." in comments[0]["body"]
    assert upsert_issue(client, REPO, problem=False, body="still clear") == {"action": "none", "number": None,
                                                                               "url": None}
    third = upsert_issue(client, REPO, problem=True, body="drift again")
    assert third["action"] == "opened" and third["number"] != first["number"]


def test_lost_answer_on_create_does_not_duplicate(gh: FakeGitHub) -> None:
    gh.lose_answer(method="POST", path=r"/issues$")
    result = upsert_issue(_client(gh), REPO, problem=True, body="drift")
    assert result["action"] == "opened"
    assert len(gh.issues(REPO)) == 1


def test_lost_closing_comment_is_not_posted_twice(gh: FakeGitHub) -> None:
    client = _client(gh)
    opened = upsert_issue(client, REPO, problem=True, body="drift")
    gh.lose_answer(method="POST", path=r"/comments$")
    assert upsert_issue(client, REPO, problem=False, body="clean", run_id="77")["action"] == "closed"
    assert len(gh.comments(REPO, opened["number"])) == 1


def test_ignores_pull_requests_other_labels_and_issues_it_did_not_write(gh: FakeGitHub) -> None:
    gh.add_pr(REPO, 1)
    client = _client(gh)
    client.request("POST", f"repos/{REPO}/issues", json={"title": "unrelated", "labels": ["bug"]})
    hand = client.request("POST", f"repos/{REPO}/issues",
                          json={"title": "hand-made", "labels": ["ci-mlops:drift"]}).json()
    ours = upsert_issue(client, REPO, problem=True, body="x", label="ci-mlops:drift")
    # a labelled issue without our marker is someone's own: never rewritten or closed
    assert ours["action"] == "opened" and ours["number"] != hand["number"]
    found = find_open_issue(client, REPO, "ci-mlops:drift")
    assert found is not None and found["number"] == ours["number"] and MARKER in found["body"]
    assert upsert_issue(client, REPO, problem=False, body="ok", label="ci-mlops:drift")["action"] == "closed"
    [hand_now] = [i for i in gh.issues(REPO) if i["number"] == hand["number"]]
    assert hand_now["state"] == "open" and hand_now["title"] == "hand-made"


def test_a_person_cannot_plant_the_monitor_issue(gh: FakeGitHub) -> None:
    number = gh.add_pr(REPO, 1)  # any issue-like object will do for numbering
    client = _client(gh)
    planted = client.request("POST", f"repos/{REPO}/issues",
                             json={"title": "planted", "body": f"{MARKER}\nnothing to see",
                                   "labels": ["ci-mlops:drift"]}).json()
    gh.set_issue_author(REPO, planted["number"], "mallory")
    assert find_open_issue(client, REPO, "ci-mlops:drift") is None
    assert upsert_issue(client, REPO, problem=True, body="x")["number"] not in (planted["number"], number)


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("monitor")
    rng = np.random.default_rng(3)
    n = 2000
    pd.DataFrame({"a": rng.normal(0, 1, n), "b": rng.normal(0, 1, n)}).to_csv(folder / "ref.csv", index=False)
    pd.DataFrame({"a": rng.normal(0, 1, n), "b": rng.normal(0, 1, n)}).to_csv(folder / "clean.csv", index=False)
    pd.DataFrame({"a": rng.normal(2, 1, n), "b": rng.normal(2, 1, n)}).to_csv(folder / "drifted.csv", index=False)
    (folder / ".ci-mlops.yml").write_text("drift:\n  reference: ref.csv\n  issue: {label: 'monitor:drift', title: Drift!}\n")
    (folder / ".git").mkdir()
    return folder


def _run(frames: Path, current: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> tuple[int, str, dict[str, str]]:
    monkeypatch.chdir(frames)
    outputs = frames / f"outputs-{current}"
    outputs.write_text("")
    for key, value in {**env, "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs),
                       "GITHUB_STEP_SUMMARY": str(frames / "summary.md")}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as exit_info:
        main(["drift", "--current", current, "--issue"])
    captured = capsys.readouterr()
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return exit_info.value.code, captured.out + captured.err, values


def test_cli_issue_upsert_end_to_end(gh: FakeGitHub, frames: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    env = gh.env(repo=REPO, token="t")
    code, out, outputs = _run(frames, "drifted.csv", env, monkeypatch, capsys)
    assert code == 1, out
    issue = gh.issues(REPO)[0]
    assert issue["title"] == "Drift!" and [lab["name"] for lab in issue["labels"]] == ["monitor:drift"]
    assert "## Data drift: detected" in issue["body"] and "/actions/runs/4242" in issue["body"]
    assert outputs["drift"] == "true" and outputs["share-drifted"] == "1.0000"
    assert outputs["issue-url"] == issue["html_url"] and "::add-mask::t" in out

    code, out, outputs = _run(frames, "drifted.csv", env, monkeypatch, capsys)
    assert code == 1 and len(gh.issues(REPO)) == 1 and outputs["issue-url"] == issue["html_url"]

    code, out, outputs = _run(frames, "clean.csv", env, monkeypatch, capsys)
    assert code == 0, out
    assert [i["state"] for i in gh.issues(REPO)] == ["closed"]
    assert "no dataset drift" in gh.comments(REPO, issue["number"])[0]["body"]
    assert outputs["drift"] == "false"


def test_cli_issue_with_read_only_token_is_one_line(gh: FakeGitHub, frames: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(frames, "drifted.csv", gh.env(repo=REPO, token="ro"), monkeypatch, capsys)
    assert code == 2
    error_lines = [line for line in out.splitlines() if line.startswith("ci-mlops: error:")]
    assert len(error_lines) == 1 and "403" in error_lines[0] and "Traceback" not in out


def test_a_body_over_githubs_limit_is_shortened_not_refused(gh: FakeGitHub) -> None:
    gh.add_pr(REPO, 1)
    client = _client(gh)
    table = "| column | test | statistic |\n|---|---|---|\n" + "".join(f"| c{i} | ks | 0.5 |\n" for i in range(5000))
    opened = upsert_issue(client, REPO, problem=True, body=f"## Data drift: detected\n\n{table}",
                          run_url="https://github.com/o/r/actions/runs/9")
    assert opened["action"] == "opened"
    body = gh.issues(REPO)[0]["body"]
    assert len(table) > 65536 >= len(body) and body.startswith(MARKER) and "/actions/runs/9" in body


def test_json_output_stays_clean_with_issue(gh: FakeGitHub, frames: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    # The runner needs ::add-mask:: on stdout: it comes first, so the JSON after it is intact.
    monkeypatch.chdir(frames)
    for key, value in {**gh.env(repo=REPO, token="t"), "GITHUB_ACTIONS": "true"}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit):
        main(["drift", "--current", "drifted.csv", "--issue", "--format", "json"])
    first, rest = capsys.readouterr().out.split("\n", 1)
    assert first == "::add-mask::t"
    assert json.loads(rest)["dataset_drift"] is True
