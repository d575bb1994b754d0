"""Only what the token's own account wrote is adopted: comments and monitor issues, for every kind of token.

GITHUB_TOKEN writes as github-actions[bot]; another GitHub App's installation token as its
own bot; a personal access token as its user. Another bot's comment carrying our marker,
another app's labelled issue, a person's plant: none is edited, retitled or closed. A push
comments only on the open PR whose head is the pushed commit.
"""

from __future__ import annotations

import pytest
from conftest import run_cli

from ci_mlops.errors import UserError
from ci_mlops.github.client import GitHubClient
from ci_mlops.github.comments import marker
from ci_mlops.github.identity import Identity, graphql_url, token_identity
from ci_mlops.github.issues import MARKER, upsert_issue
from tests.support.fake_github import BOT, FakeGitHub

SHA = "a" * 40
MARK = marker("ci-mlops")
TOKENS = {"t": "write", "app": "write", "pat": "write", "bobs": "write"}
APPS = {"app": "other-app[bot]"}
USERS = {"pat": "alice", "bobs": "bob"}


def comment(gh: FakeGitHub, tmp_path, token: str, text: str, pr: int = 7, **extra: str):
    report = tmp_path / "report.md"
    report.write_text(text)
    return run_cli("comment", str(report), *(["--pr", str(pr)] if pr else []), env=gh.env(token=token, **extra))


def bodies(gh: FakeGitHub, pr: int = 7) -> list[tuple[str, str]]:
    return [(c["user"]["login"], c["body"]) for c in gh.comments("o/r", pr)]


# (the token that runs ci-mlops, the accounts whose marker comments are already there)
CASES = [
    ("t", ["other-app[bot]", "mallory", "dependabot[bot]"]),      # GITHUB_TOKEN
    ("app", [BOT["login"], "mallory", "alice"]),                   # another app's installation token
    ("pat", [BOT["login"], "other-app[bot]", "bob"]),              # a person's token
]
OWN = {"t": BOT["login"], "app": "other-app[bot]", "pat": "alice"}


@pytest.mark.parametrize(("token", "others"), CASES, ids=["GITHUB_TOKEN", "app-token", "PAT"])
def test_only_the_tokens_own_marker_comment_is_adopted(tmp_path, token, others):
    with FakeGitHub(tokens=TOKENS, users=USERS, apps=APPS) as gh:
        gh.add_pr("o/r", 7, head_sha=SHA)
        for login in others:
            gh.add_comment("o/r", 7, f"{MARK}\nplanted by {login}", user=login)
        planted = bodies(gh)
        out = comment(gh, tmp_path, token, "one\n")
        assert out.returncode == 0 and out.stdout.startswith("created comment "), out.stderr
        out = comment(gh, tmp_path, token, "two\n")
        assert out.returncode == 0 and out.stdout.startswith("updated comment "), out.stderr
        assert bodies(gh) == [*planted, (OWN[token], f"{MARK}\ntwo\n")]


def test_identity_is_asked_once_and_only_when_a_marker_turns_up(tmp_path):
    with FakeGitHub(tokens=TOKENS, apps=APPS) as gh:
        gh.add_pr("o/r", 7, head_sha=SHA)
        gh.add_comments("o/r", 7, 5)
        assert comment(gh, tmp_path, "t", "one\n").returncode == 0
        assert "/graphql" not in [r.path for r in gh.requests]
        gh.add_comment("o/r", 7, f"{MARK}\nother", user="other-app[bot]")
        gh.clear_log()
        assert comment(gh, tmp_path, "t", "two\n").returncode == 0
        assert [r.path for r in gh.requests].count("/graphql") == 1


def test_github_enterprise_graphql_endpoint(tmp_path):
    with FakeGitHub(prefix="/api/v3", tokens=TOKENS, apps=APPS) as gh:
        gh.add_pr("o/r", 7, head_sha=SHA)
        gh.add_comment("o/r", 7, f"{MARK}\nplanted", user="other-app[bot]")
        assert comment(gh, tmp_path, "t", "one\n").returncode == 0
        assert comment(gh, tmp_path, "t", "two\n").returncode == 0
        assert [b for _, b in bodies(gh)] == [f"{MARK}\nplanted", f"{MARK}\ntwo\n"]
    assert graphql_url("https://ghe.example/api/v3") == "https://ghe.example/api/graphql"
    assert graphql_url("https://api.github.com/") == "https://api.github.com/graphql"


def test_without_graphql_a_personal_token_falls_back_to_get_user(tmp_path):
    with FakeGitHub(tokens=TOKENS, users=USERS, graphql=False) as gh:
        gh.add_pr("o/r", 7, head_sha=SHA)
        gh.add_comment("o/r", 7, f"{MARK}\nbob's", user="bob")
        assert comment(gh, tmp_path, "pat", "one\n").returncode == 0
        assert comment(gh, tmp_path, "pat", "two\n").returncode == 0
        assert bodies(gh) == [("bob", f"{MARK}\nbob's"), ("alice", f"{MARK}\ntwo\n")]
        assert "/user" in [r.path for r in gh.requests]


def test_an_unknown_identity_edits_nothing_and_says_so_in_one_line(tmp_path):
    # GITHUB_TOKEN without GraphQL: GET /user is 403 for it; ci-mlops does not guess.
    with FakeGitHub(tokens=TOKENS, graphql=False) as gh:
        gh.add_pr("o/r", 7, head_sha=SHA)
        gh.add_comment("o/r", 7, f"{MARK}\nsomeone's", user="other-app[bot]")
        out = comment(gh, tmp_path, "t", "one\n")
        assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
        assert "cannot tell which account the token belongs to" in out.stderr and "403" in out.stderr
        assert not any(r.is_write for r in gh.requests)


def test_identity_matches_by_id_then_login():
    me = Identity("github-actions[bot]", 41898282)
    assert me.wrote({"user": dict(BOT)})
    assert not me.wrote({"user": {"login": "github-actions[bot]", "id": 7}})  # same login, other account
    assert me.wrote({"user": {"login": "GitHub-Actions[bot]"}})  # no id: the login decides
    assert not Identity("alice", None).wrote({"user": {"login": "alice-evil", "id": 3}})
    for junk in ({}, {"user": None}, {"user": "alice"}, {"user": {"id": True}}):
        assert not Identity("alice", None).wrote(junk)


def test_token_identity_for_each_kind_of_token():
    with FakeGitHub(tokens=TOKENS, users=USERS, apps=APPS) as gh:
        for token, login in (("t", "github-actions[bot]"), ("app", "other-app[bot]"), ("pat", "alice")):
            client = GitHubClient(gh.api_url, token)
            assert token_identity(client).login == login
        with pytest.raises(UserError, match="cannot tell"):
            gh.graphql = False
            token_identity(GitHubClient(gh.api_url, "app"))


# -- the monitor's issue ------------------------------------------------------------------------


@pytest.mark.parametrize("author", ["other-app[bot]", "mallory", "dependabot[bot]"])
def test_another_apps_labelled_issue_is_never_retitled_or_closed(author):
    with FakeGitHub(tokens=TOKENS, apps=APPS) as gh:
        gh.add_repo("o/r")
        client = GitHubClient(gh.api_url, "t")
        theirs = upsert_issue(client, "o/r", problem=True, body="their drift", title="Their title")
        gh.set_issue_author("o/r", theirs["number"], author)
        ours = upsert_issue(client, "o/r", problem=True, body="our drift", title="Data drift detected")
        assert ours["action"] == "opened" and ours["number"] != theirs["number"]
        assert upsert_issue(client, "o/r", problem=False, body="clean")["number"] == ours["number"]
        issues = {i["number"]: i for i in gh.issues("o/r")}
        assert issues[theirs["number"]]["title"] == "Their title" and issues[theirs["number"]]["state"] == "open"
        assert MARKER in issues[theirs["number"]]["body"]
        assert issues[ours["number"]]["state"] == "closed"


def test_an_app_token_keeps_its_own_issue_and_leaves_github_actions_alone():
    with FakeGitHub(tokens=TOKENS, apps=APPS) as gh:
        gh.add_repo("o/r")
        bots = upsert_issue(GitHubClient(gh.api_url, "t"), "o/r", problem=True, body="x")
        app = GitHubClient(gh.api_url, "app")
        mine = upsert_issue(app, "o/r", problem=True, body="y")
        assert mine["number"] != bots["number"]
        assert upsert_issue(app, "o/r", problem=True, body="z")["number"] == mine["number"]


# -- pushes ---------------------------------------------------------------------------------------


def test_a_push_comments_only_where_the_head_is_this_commit(tmp_path):
    with FakeGitHub(tokens=TOKENS) as gh:
        pushed = "c" * 40
        gh.add_pr("o/r", 3, head_sha="d" * 40)  # another open PR: the pushed commit is in it, not its head
        gh.add_pr("o/r", 9, head_sha=pushed)
        gh.add_comment("o/r", 3, "x")
        # The fake lists PRs by head only; answer like GitHub does for a commit in several PRs.
        real = gh._route

        def route(repo, method, rest, query, headers, data):
            if rest == f"/commits/{pushed}/pulls":
                return gh._page(repo, list(gh._repos[repo].pulls.values()), query, rest)
            return real(repo, method, rest, query, headers, data)

        gh._route = route
        out = comment(gh, tmp_path, "t", "main\n", pr=0, GITHUB_EVENT_NAME="push", GITHUB_SHA=pushed)
        assert out.returncode == 0, out.stderr
        assert [b for _, b in bodies(gh, 3)] == ["x"]
        assert [b for _, b in bodies(gh, 9)] == [f"{MARK}\nmain\n"]
        gh.set_pr_head("o/r", 9, "e" * 40)  # now no open PR has it as its head: nobody's comment changes
        out = comment(gh, tmp_path, "t", "again\n", pr=0, GITHUB_EVENT_NAME="push", GITHUB_SHA=pushed)
        assert out.returncode == 0 and "no open pull request" in out.stdout + out.stderr
        assert [b for _, b in bodies(gh, 9)] == [f"{MARK}\nmain\n"] and [b for _, b in bodies(gh, 3)] == ["x"]


def test_new_after_a_dropped_post_never_adopts_someone_elses_identical_comment(tmp_path):
    # --new, and the POST's connection drops before it lands: the comment with this exact body
    # that another account posted earlier is not "what our POST created"; ci-mlops posts again.
    with FakeGitHub(tokens=TOKENS, apps=APPS) as gh:
        gh.add_pr("o/r", 7, head_sha=SHA)
        report = tmp_path / "report.md"
        report.write_text("same\n")
        body = f"{marker('nightly')}\nsame\n"
        gh.add_comment("o/r", 7, body, user="other-app[bot]")
        gh.drop(method="POST", path=r"/comments$")
        out = run_cli("comment", str(report), "--pr", "7", "--marker", "nightly", "--new", env=gh.env(token="t"))
        assert out.returncode == 0, out.stderr
        assert [c["user"]["login"] for c in gh.comments("o/r", 7)] == ["other-app[bot]", BOT["login"]]
