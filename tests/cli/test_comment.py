"""`ci-mlops comment` end to end against the loopback fake GitHub API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import run_cli

from ci_mlops.github.comments import marker
from tests.support.fake_github import FakeGitHub

SHA = "a" * 40
MARK = marker("ci-mlops")


@pytest.fixture
def gh():
    with FakeGitHub() as fake:
        fake.add_pr("o/r", 7, head_sha=SHA)
        yield fake


@pytest.fixture
def env(gh, tmp_path):
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    return gh.env(repo="o/r", token="t", GITHUB_STEP_SUMMARY=str(summary), GITHUB_OUTPUT=str(output))


def write(tmp_path: Path, text: str, name: str = "report.md") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def outputs(env: dict) -> dict[str, str]:
    text = Path(env["GITHUB_OUTPUT"]).read_text() if Path(env["GITHUB_OUTPUT"]).exists() else ""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def ours(gh: FakeGitHub, pr: int = 7) -> list[dict]:
    return [c for c in gh.comments("o/r", pr) if "<!-- ci-mlops:" in c["body"]]


def test_sticky_comment_on_a_pr_with_hundreds_of_comments(gh, env, tmp_path):
    gh.add_comments("o/r", 7, 250)
    out = run_cli("comment", write(tmp_path, "# Report v1\n"), "--pr", "7", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("created comment ")
    assert gh.calls() == ["GET /repos/o/r/issues/7/comments"] * 3 + ["POST /repos/o/r/issues/7/comments"]

    gh.add_comments("o/r", 7, 150, body="later {i}")  # our comment is now number 251 of 401
    gh.clear_log()
    out = run_cli("comment", write(tmp_path, "# Report v2\n"), "--pr", "7", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("updated comment ")
    # 251 comments read until the marker -> 3 pages of 100, who the token is (once), then one write
    assert gh.calls() == ["GET /repos/o/r/issues/7/comments"] * 3 + [
        "POST /graphql", f"PATCH /repos/o/r/issues/comments/{ours(gh)[0]['id']}"]
    assert "5 API call(s)" in out.stderr
    [comment] = ours(gh)
    assert comment["body"] == f"{MARK}\n# Report v2\n"
    assert len(gh.comments("o/r", 7)) == 401
    outs = outputs(env)
    assert outs["comment-id"] == str(comment["id"]) and outs["comment-url"] == comment["html_url"]
    assert "# Report v2" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_unchanged_report_makes_no_write(gh, env, tmp_path):
    report = write(tmp_path, "# same\n")
    assert run_cli("comment", report, "--pr", "7", env=env).returncode == 0
    gh.clear_log()
    out = run_cli("comment", report, "--pr", "7", env=env)
    assert out.returncode == 0 and out.stdout.startswith("unchanged comment")
    assert not any(r.is_write for r in gh.requests)


def test_pr_from_event_payload_and_two_workflows_keep_two_comments(gh, env, tmp_path):
    event = write(tmp_path, json.dumps({"pull_request": {"number": 7, "head": {"sha": SHA}}}), "event.json")
    env = {**env, "GITHUB_EVENT_PATH": event, "GITHUB_EVENT_NAME": "pull_request"}
    assert run_cli("comment", write(tmp_path, "train\n"), env={**env, "GITHUB_WORKFLOW": "Train PR"}).returncode == 0
    assert run_cli("comment", write(tmp_path, "eval\n"), env={**env, "GITHUB_WORKFLOW": "Eval"}).returncode == 0
    assert run_cli("comment", write(tmp_path, "train 2\n"), env={**env, "GITHUB_WORKFLOW": "Train PR"}).returncode == 0
    assert sorted(c["body"] for c in ours(gh)) == ["<!-- ci-mlops:eval -->\neval\n",
                                                   "<!-- ci-mlops:train-pr -->\ntrain 2\n"]


def test_marker_option_and_new_flag(gh, env, tmp_path):
    report = write(tmp_path, "r\n")
    assert run_cli("comment", report, "--pr", "7", "--marker", "nightly", env=env).returncode == 0
    assert run_cli("comment", report, "--pr", "7", "--marker", "nightly", "--new", env=env).returncode == 0
    assert [c["body"] for c in ours(gh)] == ["<!-- ci-mlops:nightly -->\nr\n"] * 2
    out = run_cli("comment", report, "--pr", "7", "--marker", "bad marker -->", env=env)
    assert out.returncode == 2 and "marker" in out.stderr


def test_stdin_report(gh, env):
    out = run_cli("comment", "-", "--pr", "7", env=env, input="# from stdin\n")
    assert out.returncode == 0, out.stderr
    assert ours(gh)[0]["body"].endswith("# from stdin\n")


def test_push_event_finds_the_pr_of_the_commit(gh, env, tmp_path):
    env = {**env, "GITHUB_EVENT_NAME": "push", "GITHUB_SHA": SHA}
    out = run_cli("comment", write(tmp_path, "pushed\n"), env=env)
    assert out.returncode == 0, out.stderr
    assert gh.calls()[0] == f"GET /repos/o/r/commits/{SHA}/pulls"
    assert len(ours(gh)) == 1


def test_push_without_open_pr_is_a_notice_not_a_failure(gh, env, tmp_path):
    env = {**env, "GITHUB_EVENT_NAME": "push", "GITHUB_SHA": "c" * 40, "GITHUB_ACTIONS": "true"}
    out = run_cli("comment", write(tmp_path, "main\n"), env=env)
    assert out.returncode == 0, out.stderr
    assert "::notice::" in out.stdout
    assert gh.calls() == [f"GET /repos/o/r/commits/{'c' * 40}/pulls"]


def test_lost_post_answer_never_makes_a_duplicate(gh, env, tmp_path):
    gh.add_comments("o/r", 7, 120)
    gh.lose_answer(method="POST")
    out = run_cli("comment", write(tmp_path, "once\n"), "--pr", "7", env=env)
    assert out.returncode == 0, out.stderr
    assert len(ours(gh)) == 1 and ours(gh)[0]["body"] == f"{MARK}\nonce\n"
    assert sum(r.is_write for r in gh.requests) == 1
    assert "adopted" in out.stdout


def test_dropped_post_before_it_lands_is_sent_again(gh, env, tmp_path):
    gh.drop(method="POST")
    out = run_cli("comment", write(tmp_path, "again\n"), "--pr", "7", env=env)
    assert out.returncode == 0, out.stderr
    assert len(ours(gh)) == 1
    assert sum(r.method == "POST" for r in gh.requests) == 2


def test_ghes_path_prefix(tmp_path):
    with FakeGitHub(prefix="/api/v3") as gh:
        gh.add_pr("o/r", 3)
        gh.add_comments("o/r", 3, 101)
        out = run_cli("comment", write(tmp_path, "ghes\n"), "--pr", "3", env=gh.env())
        assert out.returncode == 0, out.stderr
        assert len(ours(gh, 3)) == 1
        assert all(r.status in (200, 201) for r in gh.requests)


def test_cml_comment_is_adopted_with_replace_cml(gh, env, tmp_path):
    gh.add_comment("o/r", 7, "old CML report\n\n![](https://cml.dev/watermark.png#abc123 \"CML watermark train\")",
                   user="github-actions[bot]")
    gh.add_comment("o/r", 7, "a human")
    out = run_cli("comment", write(tmp_path, "new\n"), "--pr", "7", "--replace-cml", env=env)
    assert out.returncode == 0, out.stderr
    bodies = [c["body"] for c in gh.comments("o/r", 7)]
    assert bodies == [f"{MARK}\nnew\n", "a human"]
    assert "replaced the CML comment" in out.stderr


def test_too_long_report_is_shrunk_and_posts(gh, env, tmp_path):
    table = "| key | value |\n|---|---|\n" + "".join(f"| metric_{i} | {i} |\n" for i in range(6000))
    report = "# Big\n\n" + table + "\n<details><summary>Plots</summary>\n\n" + "x" * 30000 + "\n</details>\n"
    out = run_cli("comment", write(tmp_path, report), "--pr", "7", env=env)
    assert out.returncode == 0, out.stderr
    body = ours(gh)[0]["body"]
    assert len(body) <= 65536 and body.startswith(MARK)
    assert "/o/r/actions/runs/4242" in body and "shortened" in body
    assert len(Path(env["GITHUB_STEP_SUMMARY"]).read_text()) > 65536  # the summary has all of it


def test_read_only_token_writes_artifact_and_does_not_fail(gh, env, tmp_path):
    event = write(tmp_path, json.dumps({"pull_request": {"number": 7, "head": {"sha": SHA}}}), "event.json")
    env = {**env, "GITHUB_TOKEN": "ro", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": event,
           "GITHUB_EVENT_NAME": "pull_request"}
    art = tmp_path / "artifact"
    out = run_cli("comment", write(tmp_path, "fork report\n"), "--artifact-dir", str(art), env=env)
    assert out.returncode == 0, out.stderr
    assert "::notice::" in out.stdout and "read-only" in out.stdout
    assert json.loads((art / "pr.json").read_text()) == {"pr": 7, "head_sha": SHA, "marker": "ci-mlops"}
    assert (art / "report.md").read_text() == "fork report\n"
    assert gh.comments("o/r", 7) == []
    assert "fork report" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def make_artifact(tmp_path: Path, pr=7, sha=SHA, report="artifact report\n", marker_id="ci-mlops") -> Path:
    art = tmp_path / "artifact"
    art.mkdir(exist_ok=True)
    (art / "report.md").write_text(report)
    meta = {"pr": pr, "head_sha": sha, **({"marker": marker_id} if marker_id else {})}
    (art / "pr.json").write_text(json.dumps(meta))
    return art


def test_from_artifact_posts_after_checking_the_pr_head(gh, env, tmp_path):
    art = make_artifact(tmp_path)
    env = {**env, "CI_MLOPS_EXPECTED_HEAD_SHA": SHA, "GITHUB_WORKFLOW": "ci-mlops comment"}
    out = run_cli("comment", "--from-artifact", str(art), env=env)
    assert out.returncode == 0, out.stderr
    assert gh.calls()[0] == "GET /repos/o/r/pulls/7"
    [body] = [c["body"] for c in ours(gh)]
    assert body.startswith(f"{MARK}\n> [!WARNING]\n")  # the PR run's marker, then "unverified, from the fork"
    assert body.endswith("\n> artifact report\n")


def test_from_artifact_skips_a_superseded_report(gh, env, tmp_path):
    # The PR moved on while this run waited: its report is stale, never posted; the newer
    # run comments. Not a failure: a red comment workflow would be noise on an ordinary push.
    gh.set_pr_head("o/r", 7, "d" * 40)
    art = make_artifact(tmp_path)
    out = run_cli("comment", "--from-artifact", str(art), env={**env, "CI_MLOPS_EXPECTED_HEAD_SHA": SHA})
    assert out.returncode == 0, out.stderr
    assert "has moved on to dddddddddddd" in out.stdout + out.stderr
    assert gh.calls() == ["GET /repos/o/r/pulls/7"] and gh.comments("o/r", 7) == []


@pytest.mark.parametrize("meta, expected, message", [
    ({"pr": "7", "head_sha": SHA}, SHA, '"pr" must be a positive integer'),
    ({"pr": True, "head_sha": SHA}, SHA, '"pr" must be a positive integer'),
    ({"pr": -1, "head_sha": SHA}, SHA, '"pr" must be a positive integer'),
    ({"pr": 7, "head_sha": "main; rm -rf /"}, SHA, '"head_sha" must be'),
    ({"pr": 7, "head_sha": SHA, "marker": "x -->"}, SHA, '"marker"'),
    ({"pr": 7, "head_sha": SHA}, "", "CI_MLOPS_EXPECTED_HEAD_SHA"),
])
def test_from_artifact_validates_untrusted_input(gh, env, tmp_path, meta, expected, message):
    art = make_artifact(tmp_path)
    (art / "pr.json").write_text(json.dumps(meta))
    out = run_cli("comment", "--from-artifact", str(art), env={**env, "CI_MLOPS_EXPECTED_HEAD_SHA": expected})
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert gh.requests == []


def test_from_artifact_for_another_commit_is_refused_without_requests(gh, env, tmp_path):
    art = make_artifact(tmp_path, sha="e" * 40)
    out = run_cli("comment", "--from-artifact", str(art), env={**env, "CI_MLOPS_EXPECTED_HEAD_SHA": SHA})
    assert out.returncode == 1 and "refusing" in out.stderr
    assert gh.requests == []


@pytest.mark.parametrize("case", ["missing", "empty", "directory", "no-pr", "malformed-event", "no-token",
                                  "no-args", "not-utf8"])
def test_bad_input_is_one_line_exit_2_and_no_request(gh, env, tmp_path, case):
    args = ["comment", write(tmp_path, "ok\n"), "--pr", "7"]
    if case == "missing":
        args[1] = str(tmp_path / "nope.md")
    elif case == "empty":
        args[1] = write(tmp_path, "  \n\n", "empty.md")
    elif case == "directory":
        args[1] = str(tmp_path)
    elif case == "no-pr":
        args = args[:2]
    elif case == "malformed-event":
        env = {**env, "GITHUB_EVENT_PATH": write(tmp_path, "{oops", "event.json"), "GITHUB_EVENT_NAME": "pull_request"}
        args = args[:2]
    elif case == "no-token":
        env = {**env, "GITHUB_TOKEN": ""}
    elif case == "no-args":
        args = ["comment", "--pr", "7"]
    elif case == "not-utf8":
        (tmp_path / "bin.md").write_bytes(b"\xff\xfe\x00bad")
        args[1] = str(tmp_path / "bin.md")
    out = run_cli(*args, env=env)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert gh.requests == []


def test_bad_token_is_exit_2_and_token_never_printed(gh, env, tmp_path):
    secret = "ghp_notAvalidTOKEN1234567890"
    out = run_cli("comment", write(tmp_path, "r\n"), "--pr", "7", "--verbose",
                  env={**env, "GITHUB_TOKEN": secret, "GITHUB_ACTIONS": "true"})
    assert out.returncode == 2 and "401" in out.stderr and "Bad credentials" in out.stderr
    lines = (out.stdout + out.stderr).splitlines()
    assert [line for line in lines if secret in line] == [f"::add-mask::{secret}"]
    assert len(gh.requests) == 1


def test_token_not_in_output_on_success_with_verbose(gh, env, tmp_path):
    gh.tokens["ghs_GoodTokenValue123456"] = "write"
    out = run_cli("comment", write(tmp_path, "r\n"), "--pr", "7", "--verbose",
                  env={**env, "GITHUB_TOKEN": "ghs_GoodTokenValue123456"})
    assert out.returncode == 0, out.stderr
    assert "ghs_GoodTokenValue123456" not in out.stdout + out.stderr
    assert "-> GET /repos/o/r/issues/7/comments" in out.stderr


def test_pr_not_found_is_exit_2(gh, env, tmp_path):
    out = run_cli("comment", write(tmp_path, "r\n"), "--pr", "99", env=env)
    assert out.returncode == 2 and "pull request #99 not found" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_dry_run_sends_nothing_and_prints_body_and_plan(gh, env, tmp_path):
    out = run_cli("comment", write(tmp_path, "# dry\n"), "--pr", "7", "--dry-run", env={**env, "GITHUB_TOKEN": ""})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(MARK) and "# dry" in out.stdout
    assert "GET  /repos/o/r/issues/7/comments" in out.stderr and "PATCH" in out.stderr
    assert gh.requests == []


def test_config_marker_and_replace_cml(gh, env, git_repo, tmp_path):
    (git_repo / ".ci-mlops.yml").write_text("version: 1\ncomment:\n  marker: from-config\n")
    out = run_cli("comment", write(tmp_path, "c\n"), "--pr", "7", cwd=git_repo, env=env)
    assert out.returncode == 0, out.stderr
    assert re.match(r"<!-- ci-mlops:from-config -->", ours(gh)[0]["body"])


def test_a_person_cannot_plant_the_marker(gh, env, tmp_path):
    # Someone posts a comment starting with our marker, hoping ci-mlops adopts it and they
    # can later edit "the ci-mlops report". A GITHUB_TOKEN posts as the bot: it never
    # adopts a person's comment, and asks who it is (GraphQL viewer) at most once.
    gh.add_comment("o/r", 7, f"{MARK}\nplanted", user="mallory")
    gh.add_comment("o/r", 7, f"{MARK}\nplanted again", user="mallory")
    out = run_cli("comment", write(tmp_path, "real\n"), "--pr", "7", env=env)
    assert out.returncode == 0, out.stderr
    bodies = [c["body"] for c in gh.comments("o/r", 7)]
    assert bodies == [f"{MARK}\nplanted", f"{MARK}\nplanted again", f"{MARK}\nreal\n"]
    assert [r.path for r in gh.requests].count("/graphql") == 1
    # the next run updates the bot's comment, not mallory's
    assert run_cli("comment", write(tmp_path, "again\n"), "--pr", "7", env=env).returncode == 0
    assert [c["body"] for c in gh.comments("o/r", 7)][2] == f"{MARK}\nagain\n"


def test_personal_access_token_keeps_its_own_comment(tmp_path):
    with FakeGitHub(tokens={"pat": "write"}, users={"pat": "alice"}) as gh:
        gh.add_pr("o/r", 7)
        env = gh.env(repo="o/r", token="pat")
        gh.add_comment("o/r", 7, f"{MARK}\nplanted", user="mallory")
        assert run_cli("comment", write(tmp_path, "one\n"), "--pr", "7", env=env).returncode == 0
        assert run_cli("comment", write(tmp_path, "two\n"), "--pr", "7", env=env).returncode == 0
        comments = gh.comments("o/r", 7)
        assert [(c["user"]["login"], c["body"]) for c in comments] == [
            ("mallory", f"{MARK}\nplanted"), ("alice", f"{MARK}\ntwo\n")]


@pytest.mark.parametrize("name", ["report.md", "pr.json"])
def test_from_artifact_refuses_symlinks(gh, env, tmp_path, name):
    # A fork controls the artifact: a link to a runner file must never be read and posted.
    secret = tmp_path / "secret.txt"
    secret.write_text("GITHUB_TOKEN=do-not-post\n")
    art = make_artifact(tmp_path)
    (art / name).unlink()
    (art / name).symlink_to(secret)
    out = run_cli("comment", "--from-artifact", str(art), env={**env, "CI_MLOPS_EXPECTED_HEAD_SHA": SHA})
    assert out.returncode == 2 and "not a regular file" in out.stderr, out.stderr
    assert gh.requests == [] and "do-not-post" not in out.stdout + out.stderr


def test_from_artifact_refuses_an_oversized_report(gh, env, tmp_path):
    from ci_mlops.github.artifact import MAX_REPORT_BYTES

    art = make_artifact(tmp_path, report="x" * (MAX_REPORT_BYTES + 1))
    out = run_cli("comment", "--from-artifact", str(art), env={**env, "CI_MLOPS_EXPECTED_HEAD_SHA": SHA})
    assert out.returncode == 2 and "larger than" in out.stderr and gh.requests == []


def test_from_artifact_mentions_do_not_notify(gh, env, tmp_path):
    # A fork writes the report, the bot posts it: its @mentions must not ping anyone.
    art = make_artifact(tmp_path, report="ping @alice and @acme/admins; mail x@example.com\n")
    out = run_cli("comment", "--from-artifact", str(art), env={**env, "CI_MLOPS_EXPECTED_HEAD_SHA": SHA})
    assert out.returncode == 0, out.stderr
    body = ours(gh)[0]["body"]
    assert "@alice" not in body and "@acme/admins" not in body
    # GitHub also counts "x@name" as a mention when the letter before "@" is not ASCII: every "@" is defused.
    assert "@\u2060alice" in body and "x@\u2060example.com" in body
