"""`/ci-mlops sweep|apply` comments: strict parsing, who may run them, what gets dispatched."""

from __future__ import annotations

import json

import pytest

from ci_mlops.errors import UserError
from ci_mlops.github.context import GitHubContext
from ci_mlops.sweep.chatops import Command, footer, handle, metadata, parse
from tests.support.fake_github import FakeGitHub

REPO = "o/r"
HEAD = "c" * 40


@pytest.mark.parametrize("body, command", [
    ("/ci-mlops sweep", Command("sweep")),
    ("  /ci-mlops sweep  \r\n", Command("sweep")),
    ("/ci-mlops sweep train.lr=0.01,0.03", Command("sweep", overrides="train.lr=0.01,0.03")),
    ("/ci-mlops sweep train.lr=1e-2 params.yaml:train.model=tree", Command(
        "sweep", overrides="train.lr=0.01 params.yaml:train.model=tree")),
    ("/ci-mlops apply sweep-04", Command("apply", name="sweep-04")),
    ("LGTM", None), ("please /ci-mlops sweep", None), (None, None),
])
def test_commands_parse(body, command):
    assert parse(body) == command


@pytest.mark.parametrize("body", [
    "/ci-mlops deploy", "/ci-mlops sweep train.lr=$(id)", "/ci-mlops sweep train.lr=0.1;curl x",
    "/ci-mlops sweep\nrm -rf /", "/ci-mlops apply", "/ci-mlops apply ../x", "/ci-mlops apply sweep-01 sweep-02",
    "/ci-mlops apply `x`", "/ci-mlops sweep " + "a=1 " * 600, "/ci-mlopssweep", "/ci-mlops sweep train.lr=${{ x }}",
])
def test_anything_else_is_refused_in_one_line(body):
    with pytest.raises(UserError) as err:
        parse(body)
    assert "\n" not in err.value.message


def test_metadata_round_trips_and_is_validated():
    line = footer("123", HEAD, "train.lr=0.01,0.03", ["sweep-01", "sweep-02"])
    assert metadata("### Sweep\n\n" + line) == {"run": "123", "sha": HEAD, "set": "train.lr=0.01,0.03",
                                               "succeeded": ["sweep-01", "sweep-02"]}
    assert metadata(line.replace('"123"', '"12x"')) is None
    assert metadata(line.replace(HEAD, "c" * 39)) is None
    with pytest.raises(UserError):
        metadata(line.replace("train.lr=0.01,0.03", "train.lr=$(id)"))


# -- handle(): the issue_comment job against the loopback API -----------------------------------


@pytest.fixture
def gh():
    with FakeGitHub() as fake:
        fake.add_repo(REPO)
        fake.add_pr(REPO, 7, head_sha=HEAD, head_ref="feature")
        fake.chatops(REPO).workflows.add("ci-mlops-sweep.yml")
        fake.chatops(REPO).roles.update({"alice": "maintain", "carol": "triage"})
        yield fake


def _event(gh, tmp_path, body: str, login: str, association: str, *, issue_pr: bool = True) -> GitHubContext:
    comment = gh.add_comment(REPO, 7, body, user=login)
    event = {"action": "created", "comment": {**comment, "author_association": association},
             "issue": {"number": 7, **({"pull_request": {"url": "x"}} if issue_pr else {})},
             "repository": {"full_name": REPO, "default_branch": "main"}}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return GitHubContext.from_env(env=gh.env(REPO, GITHUB_EVENT_NAME="issue_comment", GITHUB_EVENT_PATH=str(path)))


def test_a_maintainer_starts_a_sweep_on_the_pr_head(gh, tmp_path):
    outcome = handle(_event(gh, tmp_path, "/ci-mlops sweep train.lr=0.01,0.03", "alice", "MEMBER"),
                     "ci-mlops-sweep.yml")
    assert outcome.status == "dispatched"
    assert gh.chatops(REPO).dispatches == [{"workflow": "ci-mlops-sweep.yml", "ref": "main", "inputs": {
        "pr": "7", "sha": HEAD, "set": "train.lr=0.01,0.03"}}]
    assert [r["content"] for r in gh.chatops(REPO).reactions] == ["rocket"]


@pytest.mark.parametrize("login, association", [
    ("mallory", "CONTRIBUTOR"), ("mallory", "NONE"),
    ("carol", "COLLABORATOR"),  # triage: the association alone is not enough, the permission API decides
    ("dependabot[bot]", "MEMBER"),
])
def test_others_are_refused_and_nothing_starts(gh, tmp_path, login, association):
    outcome = handle(_event(gh, tmp_path, "/ci-mlops sweep", login, association), "ci-mlops-sweep.yml")
    assert outcome.status == "refused"
    assert gh.chatops(REPO).dispatches == []
    assert [r["content"] for r in gh.chatops(REPO).reactions] == ["-1"]
    assert len(gh.comments(REPO, 7)) == 1  # no reply to a stranger


def test_fork_prs_are_refused_with_a_reply(gh, tmp_path):
    gh.add_pr(REPO, 7, head_sha=HEAD, fork=True)
    with pytest.raises(UserError, match="fork"):
        handle(_event(gh, tmp_path, "/ci-mlops sweep", "alice", "OWNER"), "ci-mlops-sweep.yml")
    assert gh.chatops(REPO).dispatches == []
    reply = gh.comments(REPO, 7)[-1]["body"]
    assert reply.startswith("@alice ci-mlops did not run this command:") and "fork" in reply


def test_a_malformed_command_from_a_maintainer_gets_a_reply(gh, tmp_path):
    with pytest.raises(UserError, match="letters, digits"):
        handle(_event(gh, tmp_path, "/ci-mlops sweep train.lr=$(id)", "alice", "OWNER"), "ci-mlops-sweep.yml")
    assert gh.chatops(REPO).dispatches == [] and "$(id)" in gh.comments(REPO, 7)[-1]["body"]


def test_comments_that_are_not_commands_or_not_on_prs_are_ignored(gh, tmp_path):
    assert handle(_event(gh, tmp_path, "looks good", "alice", "OWNER"), "ci-mlops-sweep.yml").status == "ignored"
    assert handle(_event(gh, tmp_path, "/ci-mlops sweep", "alice", "OWNER", issue_pr=False),
                  "ci-mlops-sweep.yml").status == "ignored"
    assert gh.chatops(REPO).dispatches == [] and gh.chatops(REPO).reactions == []


def test_apply_takes_the_run_and_overrides_from_the_leaderboard(gh, tmp_path):
    ctx = _event(gh, tmp_path, "/ci-mlops apply sweep-02", "alice", "OWNER")
    with pytest.raises(UserError, match="no sweep leaderboard"):
        handle(ctx, "ci-mlops-sweep.yml")
    # a leaderboard someone else wrote does not count: only the token's own comments
    gh.add_comment(REPO, 7, "<!-- ci-mlops:sweep -->\n" + footer("99", HEAD, "", ["sweep-02"]), user="mallory")
    with pytest.raises(UserError, match="no sweep leaderboard"):
        handle(_event(gh, tmp_path, "/ci-mlops apply sweep-02", "alice", "OWNER"), "ci-mlops-sweep.yml")
    gh.add_comment(REPO, 7, "<!-- ci-mlops:sweep -->\n### Sweep\n" + footer("41", HEAD, "train.lr=0.1,0.2",
                                                                            ["sweep-01", "sweep-02"]),
                   user="github-actions[bot]")
    with pytest.raises(UserError, match="sweep-03 is not an experiment that succeeded"):
        handle(_event(gh, tmp_path, "/ci-mlops apply sweep-03", "alice", "OWNER"), "ci-mlops-sweep.yml")
    outcome = handle(_event(gh, tmp_path, "/ci-mlops apply sweep-02", "alice", "OWNER"), "ci-mlops-sweep.yml")
    assert outcome.status == "dispatched"
    assert gh.chatops(REPO).dispatches[-1]["inputs"] == {"pr": "7", "sha": HEAD, "set": "train.lr=0.1,0.2",
                                                         "apply": "sweep-02", "results-run": "41"}
    gh.set_pr_head(REPO, 7, "d" * 40)  # a push after the sweep: its dvc.lock is stale
    with pytest.raises(UserError, match="comment `/ci-mlops sweep` again"):
        handle(_event(gh, tmp_path, "/ci-mlops apply sweep-02", "alice", "OWNER"), "ci-mlops-sweep.yml")
    assert len(gh.chatops(REPO).dispatches) == 1
