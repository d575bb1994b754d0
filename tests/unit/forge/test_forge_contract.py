"""One suite, both forges: every guarantee of the forge interface holds for GitHub and for GitLab.

Each test runs against the loopback fake of its forge (real HTTP on 127.0.0.1), through
``ci_mlops.forge.open_forge``; waits are recorded, not slept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import ci_mlops.github.client as client_module
from ci_mlops.errors import ServiceError
from ci_mlops.forge import forge_from_env
from ci_mlops.forge.ci import context, detect
from ci_mlops.github.comments import marker
from tests.support.fake_github import FakeGitHub
from tests.support.fake_gitlab import FakeGitLab

MARK = marker("report")
SHA = "a" * 40


@dataclass
class Harness:
    """The same questions asked of either fake."""

    name: str
    fake: Any
    env: dict[str, str]

    def forge(self):
        return forge_from_env(self.env)

    def change(self, number: int = 5) -> int:
        if self.name == "github":
            return self.fake.add_pr("o/r", number)
        return self.fake.add_mr("group/proj", number)

    def add_note(self, number: int, body: str, user: str = "someone") -> None:
        if self.name == "github":
            self.fake.add_comment("o/r", number, body, user=user)
        else:
            self.fake.add_note("group/proj", number, body, user=user)

    def add_notes(self, number: int, n: int) -> None:
        if self.name == "github":
            self.fake.add_comments("o/r", number, n)
        else:
            self.fake.add_notes("group/proj", number, n)

    def bodies(self, number: int) -> list[str]:
        if self.name == "github":
            return [c["body"] for c in self.fake.comments("o/r", number)]
        return [n["body"] for n in self.fake.notes("group/proj", number)]

    def statuses(self) -> list[tuple[str, str]]:
        if self.name == "github":
            return [(s["context"], s["state"]) for s in self.fake.statuses("o/r", SHA)]
        return [(s["name"], s["status"]) for s in self.fake.gl_statuses("group/proj", SHA)]

    def issues(self) -> list[dict]:
        if self.name == "github":
            return [{"number": i["number"], "state": i["state"], "body": i["body"], "title": i["title"],
                     "comments": [c["body"] for c in self.fake.comments("o/r", i["number"])]}
                    for i in self.fake.issues("o/r")]
        return [{"number": i["iid"], "state": "open" if i["state"] == "opened" else i["state"],
                 "body": i["description"], "title": i["title"],
                 "comments": [n["body"] for n in self.fake.issue_notes("group/proj", i["iid"])]}
                for i in self.fake.gl_issues("group/proj")]

    def persons_issue(self, label: str) -> None:
        body = "<!-- ci-mlops:drift -->\nI copied the marker"
        if self.name == "github":
            self.fake.add_repo("o/r")
            number = self.fake.add_pr("o/r")  # numbers are shared; make a plain issue from the PR's sibling
            issue = self.fake._repo("o/r").issues[number]
            issue.pop("pull_request")
            self.fake._repo("o/r").pulls.pop(number)
            issue.update(body=body, labels=[{"name": label}], title="Mine")
            self.fake.set_issue_author("o/r", number, "alice")
        else:
            self.fake.add_issue("group/proj", "Mine", body, labels=[label], author="alice")


@pytest.fixture(params=["github", "gitlab"])
def forge_site(request) -> Iterator[Harness]:
    if request.param == "github":
        with FakeGitHub() as gh:
            yield Harness("github", gh, gh.env(GITHUB_ACTIONS="true"))
    else:
        with FakeGitLab() as gl:
            yield Harness("gitlab", gl, gl.env())


@pytest.fixture
def slept(monkeypatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(client_module, "default_sleep", waits.append)
    return waits


def test_detects_its_forge_from_the_ci_environment(forge_site):
    assert detect(forge_site.env) == forge_site.name
    assert forge_site.forge().name == forge_site.name
    assert type(context(forge_site.name, forge_site.env)).__name__.lower().startswith(forge_site.name)


def test_one_note_found_across_pages_and_updated_in_place(forge_site, slept):
    n = forge_site.change()
    forge_site.add_notes(n, 230)
    forge = forge_site.forge()
    first = forge.upsert_note(n, f"{MARK}\nv1", MARK)
    assert first.action == "created" and first.pages >= 3 and first.scanned >= 230
    second = forge.upsert_note(n, f"{MARK}\nv2", MARK)
    assert (second.action, second.id) == ("updated", first.id)
    third = forge.upsert_note(n, f"{MARK}\nv2", MARK)
    assert (third.action, third.id) == ("unchanged", first.id)
    ours = [b for b in forge_site.bodies(n) if b.startswith(MARK)]
    assert ours == [f"{MARK}\nv2"]
    assert first.url.startswith("http") and str(first.id) in first.url
    forge.close()


def test_someone_elses_note_with_our_marker_is_left_alone(forge_site):
    n = forge_site.change()
    forge_site.add_note(n, f"{MARK}\nfake verdict: all passed", user="mallory")
    result = forge_site.forge().upsert_note(n, f"{MARK}\nreal", MARK)
    assert result.action == "created"
    assert f"{MARK}\nfake verdict: all passed" in forge_site.bodies(n)
    assert f"{MARK}\nreal" in forge_site.bodies(n)


def test_a_lost_post_answer_never_makes_a_second_note(forge_site, slept):
    n = forge_site.change()
    forge_site.fake.lose_answer(method="POST", path=r"/(comments|notes)$")
    result = forge_site.forge().upsert_note(n, f"{MARK}\nonce", MARK)
    assert result.action == "adopted"
    assert forge_site.bodies(n).count(f"{MARK}\nonce") == 1
    assert any("lost" in note for note in result.notes)


def test_new_note_after_a_lost_answer_is_adopted_by_its_body(forge_site, slept):
    n = forge_site.change()
    forge_site.fake.lose_answer(method="POST", path=r"/(comments|notes)$")
    forge_site.forge().upsert_note(n, f"{MARK}\nfresh", MARK, new=True)
    assert forge_site.bodies(n).count(f"{MARK}\nfresh") == 1


def test_5xx_drops_and_429_retry_after_are_retried(forge_site, slept):
    n = forge_site.change()
    fake = forge_site.fake
    fake.fail(502, method="GET", times=2)
    fake.drop(method="GET")
    fake.rate_limit(429, retry_after=30, method="GET")
    result = forge_site.forge().upsert_note(n, f"{MARK}\nx", MARK)
    assert result.action == "created"
    assert 30 in slept and len(slept) == 4
    assert 0.5 <= slept[0] <= 1 and 1 <= slept[1] <= 2  # backoff with jitter, doubling


def test_rate_limit_without_retry_after_waits_for_the_reset(forge_site, slept):
    n = forge_site.change()
    forge_site.fake.rate_limit(429, reset_in=90, method="POST")
    forge_site.forge().upsert_note(n, f"{MARK}\nx", MARK)
    assert any(85 <= s <= 92 for s in slept)
    assert len([b for b in forge_site.bodies(n) if b.startswith(MARK)]) == 1


def test_a_service_that_keeps_failing_gives_up_within_its_budget(forge_site, slept):
    n = forge_site.change()
    forge_site.fake.fail(503, times=10_000)
    from ci_mlops.forge import open_forge

    forge = open_forge(forge_site.name, context(forge_site.name, forge_site.env), max_elapsed=120)
    with pytest.raises(ServiceError, match="kept failing"):
        forge.upsert_note(n, f"{MARK}\nx", MARK)
    assert sum(slept) <= 120


def test_commit_status_per_check_and_repeating_it_is_harmless(forge_site):
    forge = forge_site.forge()
    forge.set_status(SHA, "pending", "ci-mlops/gates", "Running")
    forge.set_status(SHA, "failure", "ci-mlops/gates", "1 of 3 failed: test.acc")
    again = forge.set_status(SHA, "failure", "ci-mlops/gates", "1 of 3 failed: test.acc")
    forge.set_status(SHA, "success", "ci-mlops/data", "All 2 data checks passed")
    failed = "failure" if forge_site.name == "github" else "failed"
    assert again.state == failed
    latest = dict(forge_site.statuses())  # oldest first: the last state per context wins
    assert latest == {"ci-mlops/gates": failed, "ci-mlops/data": "success"}


def test_issue_opened_updated_then_closed_and_a_persons_issue_untouched(forge_site, slept):
    label = "ci-mlops:drift"
    forge_site.persons_issue(label)
    forge = forge_site.forge()
    kw = {"label": label, "title": "Data drift detected", "closing_note": "back to normal; closing"}
    opened = forge.sync_issue(problem=True, body="drift in age", run_id="1", **kw)
    updated = forge.sync_issue(problem=True, body="drift in age and income", run_id="2", **kw)
    assert opened.action == "opened" and updated.action == "updated" and updated.number == opened.number
    forge_site.fake.lose_answer(method="POST")  # the closing note's answer is lost: still one note
    closed = forge.sync_issue(problem=False, body="all clear", run_id="3", **kw)
    assert closed.action == "closed" and closed.number == opened.number
    assert forge.sync_issue(problem=False, body="all clear", run_id="4", **kw).action == "none"
    by_number = {i["number"]: i for i in forge_site.issues()}
    ours = by_number[opened.number]
    assert ours["state"] == "closed" and "drift in age and income" in ours["body"]
    assert sum("back to normal" in c for c in ours["comments"]) == 1
    mine = next(i for i in by_number.values() if i["title"] == "Mine")
    assert mine["state"] == "open" and mine["body"].endswith("I copied the marker") and not mine["comments"]


def test_a_lost_issue_creation_is_adopted_not_repeated(forge_site, slept):
    forge_site.fake.lose_answer(method="POST")
    forge_site.forge().sync_issue(problem=True, body="drift", label="ci-mlops:drift", title="Data drift detected",
                                  closing_note="x")
    assert len([i for i in forge_site.issues() if i["title"] == "Data drift detected"]) == 1
