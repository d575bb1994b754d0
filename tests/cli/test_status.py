"""`ci-mlops status` against the loopback fake: commit statuses and check runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from ci_mlops.github.status import check_run_payloads, clip, verdict
from tests.support.fake_github import FakeGitHub

SHA = "b" * 40


def gate(metric: str, passed: bool, message: str = "") -> dict:
    return {"metric": metric, "file": "metrics.json", "key": metric, "rule": "min", "bound": 0.9,
            "value": 0.8, "base": None, "passed": passed, "skipped": False, "message": message or metric}


@pytest.fixture
def gh():
    with FakeGitHub() as fake:
        fake.add_pr("o/r", 2, head_sha=SHA)
        yield fake


def check_file(tmp_path: Path, passed: bool, gates: list[dict]) -> str:
    path = tmp_path / "check.json"
    path.write_text(json.dumps({"passed": passed, "gates": gates, "data": [], "slices": []}))
    return str(path)


def test_verdict_and_description_limit():
    assert verdict({"passed": True, "gates": [gate("a", True)]}) == ("success", "All 1 quality gates and checks passed")
    many = [gate(f"metric.number_{i}", False) for i in range(30)]
    state, text = verdict({"passed": False, "gates": many})
    assert state == "failure" and len(text) == 140 and text.startswith("30 of 30 failed: metric.number_0")
    assert clip("x" * 200).endswith("…")


def test_commit_status_from_check_json(gh, tmp_path):
    env = gh.env(GITHUB_SHA=SHA)
    path = check_file(tmp_path, False, [gate("test.accuracy", False), gate("test.loss", True)])
    out = run_cli("status", path, "--target-url", "https://example.com/c/1", env=env)
    assert out.returncode == 0, out.stderr
    [status] = gh.statuses("o/r", SHA)
    assert status["state"] == "failure" and status["context"] == "ci-mlops/gates"
    assert status["description"] == "1 of 2 failed: test.accuracy"
    assert status["target_url"] == "https://example.com/c/1"


def test_state_flag_links_the_run_by_default(gh):
    out = run_cli("status", "--state", "pending", "--sha", SHA, env=gh.env())
    assert out.returncode == 0, out.stderr
    [status] = gh.statuses("o/r", SHA)
    assert status["state"] == "pending" and status["target_url"].endswith("/o/r/actions/runs/4242")


def test_check_run_with_annotations_in_batches_of_50(gh, tmp_path):
    gates = [gate(f"m{i}", False) for i in range(120)]
    out = run_cli("status", check_file(tmp_path, False, gates), "--check-run", "--sha", SHA, env=gh.env())
    assert out.returncode == 0, out.stderr
    [run] = gh.check_runs("o/r")
    assert run["conclusion"] == "failure" and run["head_sha"] == SHA
    assert run["output"]["annotations_count"] == 120
    assert [r.method for r in gh.requests] == ["POST", "PATCH", "PATCH"]


def test_check_run_lost_answer_is_not_duplicated(gh, tmp_path):
    gh.lose_answer(method="POST", path="check-runs")
    out = run_cli("status", check_file(tmp_path, True, [gate("a", True)]), "--check-run", "--sha", SHA, env=gh.env())
    assert out.returncode == 0, out.stderr
    assert len(gh.check_runs("o/r")) == 1


def test_check_run_payload_summary_is_capped():
    [first] = check_run_payloads("ci-mlops/gates", SHA, "success", "ok", "s" * 100_000, [], None, "id")
    assert len(first["output"]["summary"]) <= 65535 and first["conclusion"] == "success"


@pytest.mark.parametrize("args, message", [
    (["status"], "nothing to publish"),
    (["status", "missing.json"], "no such file"),
    (["status", "bad.json"], "not JSON"),
    (["status", "list.json"], "boolean"),
    (["status", "--state", "success", "--sha", "abc"], "no commit to mark"),
    (["status", "--state", "success"], "no commit to mark"),
])
def test_bad_input_is_exit_2_without_requests(gh, tmp_path, args, message):
    (tmp_path / "bad.json").write_text("{nope")
    (tmp_path / "list.json").write_text("[1, 2]")
    out = run_cli(*args, cwd=tmp_path, env=gh.env(GITHUB_SHA=""))
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert gh.requests == []


def test_read_only_token_is_a_clear_error(gh):
    out = run_cli("status", "--state", "success", "--sha", SHA, env=gh.env(token="ro"))
    assert out.returncode == 2 and "Resource not accessible by integration" in out.stderr


def test_dry_run_prints_the_request(gh, tmp_path):
    out = run_cli("status", check_file(tmp_path, True, []), "--sha", SHA, "--dry-run", env=gh.env(token=""))
    assert out.returncode == 0, out.stderr
    assert f"POST /repos/o/r/statuses/{SHA}" in out.stdout and gh.requests == []


def test_a_5xx_on_the_status_post_is_retried(gh):
    # Re-posting a status is harmless (the latest per context wins), so a 502 is retried.
    gh.fail(502, times=1, method="POST")
    out = run_cli("status", "--state", "success", "--sha", SHA, env=gh.env())
    assert out.returncode == 0, out.stderr
    assert [s["state"] for s in gh.statuses("o/r", SHA)] == ["success"]
