"""`ci-mlops comment` in-process under 5xx, dropped connections and rate limits (waits recorded, not slept)."""

from __future__ import annotations

import pytest

import ci_mlops.github.client as client_module
from tests.support.fake_github import FakeGitHub
from tests.support.inprocess import run_main


@pytest.fixture
def slept(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(client_module, "default_sleep", waits.append)
    return waits


def run(args: list[str], env: dict[str, str], monkeypatch, capsys) -> tuple[int, str, str]:
    return run_main(args, env, monkeypatch, capsys, drop=("GITHUB_ACTIONS", "GITHUB_EVENT_PATH"))


def test_comment_survives_5xx_drops_and_rate_limits(tmp_path, monkeypatch, capsys, slept):
    report = tmp_path / "r.md"
    report.write_text("# faults\n")
    with FakeGitHub() as gh:
        gh.add_pr("o/r", 5)
        gh.add_comments("o/r", 5, 230)
        gh.fail(502, method="GET", times=2)
        gh.drop(method="GET", path=r"/comments$")
        gh.rate_limit(403, retry_after=30, method="GET")
        gh.rate_limit(429, reset_in=90, method="POST")
        gh.lose_answer(method="POST")
        code, out, err = run(["comment", str(report), "--pr", "5"], gh.env(), monkeypatch, capsys)
        assert code == 0, err
        [ours] = [c for c in gh.comments("o/r", 5) if c["body"].startswith("<!-- ci-mlops:")]
        assert ours["body"].endswith("# faults\n")
        assert len(gh.comments("o/r", 5)) == 231
        # backoff 0.5-1 s, then 1-2 s, then 2-4 s; the secondary limit's retry-after; the reset wait
        assert 0.5 <= slept[0] <= 1 and 1 <= slept[1] <= 2 and 2 <= slept[2] <= 4
        assert 30 in slept and any(85 <= s <= 92 for s in slept)
        writes = [r for r in gh.requests if r.is_write and r.status in (200, 201)]
        assert len(writes) == 1  # one comment created, the lost answer adopted, not re-posted


def test_gives_up_with_exit_3_after_bounded_time(tmp_path, monkeypatch, capsys, slept):
    report = tmp_path / "r.md"
    report.write_text("x\n")
    with FakeGitHub() as gh:
        gh.add_pr("o/r", 5)
        gh.fail(503, times=10_000)
        code, out, err = run(["comment", str(report), "--pr", "5"], gh.env(), monkeypatch, capsys)
        assert code == 3
        assert err.count("\n") == 1 and "kept failing" in err and "503" in err
        assert sum(slept) <= 300
