"""`ci-mlops comment` inside GitLab CI/CD, in-process against the loopback GitLab."""

from __future__ import annotations

from typing import ClassVar

import pytest

import ci_mlops.github.client as client_module
from ci_mlops.gitlab.client import GitLabClient
from tests.support.fake_gitlab import NOTE_LIMIT, FakeGitLab
from tests.support.inprocess import run_main

GITHUB_VARS = ("GITHUB_ACTIONS", "GITHUB_EVENT_PATH", "GITHUB_REPOSITORY", "GITHUB_TOKEN", "GITHUB_OUTPUT",
               "GITHUB_STEP_SUMMARY", "CI_MLOPS_FORGE")


@pytest.fixture
def slept(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(client_module, "default_sleep", waits.append)
    return waits


def run(args: list[str], env: dict[str, str], monkeypatch, capsys) -> tuple[int, str, str]:
    return run_main(args, env, monkeypatch, capsys, drop=GITHUB_VARS)


def test_comment_posts_then_updates_one_note_on_self_managed_gitlab(tmp_path, monkeypatch, capsys, slept):
    report = tmp_path / "report.md"
    dotenv = tmp_path / "ci-mlops.env"
    with FakeGitLab(root="/gitlab") as gl:  # https://HOST/gitlab: a relative URL root
        gl.add_mr("group/sub/proj", 12)
        gl.add_notes("group/sub/proj", 12, 150)
        env = gl.env(project="group/sub/proj", CI_MERGE_REQUEST_IID="12", CI_PROJECT_DIR=str(tmp_path),
                     CI_MLOPS_DOTENV=str(dotenv))
        for version in ("first", "second"):
            report.write_text(f"# Report\n{version}\n")
            code, out, err = run(["comment", str(report), "-v"], env, monkeypatch, capsys)
            assert code == 0, err
        ours = [n for n in gl.notes("group/sub/proj", 12) if n["body"].startswith("<!-- ci-mlops:report -->")]
        assert len(ours) == 1 and ours[0]["body"].endswith("second\n")
        assert "updated note http" in out and "/gitlab/group/sub/proj/-/merge_requests/12#note_" in out
        assert all(r.path.startswith("/projects/") or r.path == "/user" for r in gl.requests)
        assert all(r.headers.get("private-token") == "glpat-write" and "job-token" not in r.headers
                   for r in gl.requests)
        assert "glpat-write" not in out + err  # -v prints every call, never the token
        lines = dotenv.read_text().splitlines()
        assert f"CI_MLOPS_COMMENT_ID={ours[0]['id']}" in lines and any(
            line.startswith("CI_MLOPS_COMMENT_URL=http") for line in lines)
        assert (tmp_path / ".ci-mlops/artifact/report.md").read_text() == "# Report\nsecond\n"
        assert "section_start:" in out  # the report in a collapsible section of the job log


def test_pages_are_followed_by_x_next_page_when_gitlab_sends_no_link(tmp_path, monkeypatch, capsys):
    with FakeGitLab(link=False) as gl:
        gl.add_mr("group/proj", 3)
        gl.add_notes("group/proj", 3, 250)
        client = GitLabClient(gl.api_url, "glpat-write")
        notes = list(client.paginate(client.project_path("group/proj", "merge_requests", 3, "notes"), {"sort": "asc"}))
        assert len(notes) == 250 and len({n["id"] for n in notes}) == 250
        assert [r.query.get("page") for r in gl.requests] == [None, "2", "3"]
        assert all("link" not in (r.headers or {}) for r in gl.requests)


def test_a_next_link_to_another_host_is_not_given_the_token():
    from ci_mlops.github.client import BadAnswer

    class Answer:
        url = "http://127.0.0.1:9/api/v4/projects/1/merge_requests/1/notes?per_page=100"
        links: ClassVar[dict[str, dict[str, str]]] = {"next": {"url": "http://evil.example/api/v4/projects/1/merge_requests/1/notes?page=2"}}
        headers: ClassVar[dict[str, str]] = {}
        request = type("R", (), {"method": "GET"})()

    client = GitLabClient("http://127.0.0.1:9/api/v4", "glpat-write")
    with pytest.raises(BadAnswer, match="another host"):
        client.next_link(Answer())
    Answer.headers = {"x-next-page": "2"}  # GitLab's own header still leads to the next page, on the API's host
    assert client.next_link(Answer()).startswith("http://127.0.0.1:9/api/v4/projects/1/merge_requests/1/notes?")


def test_a_report_over_the_note_limit_is_shrunk_and_posts(tmp_path, monkeypatch, capsys):
    report = tmp_path / "report.md"
    rows = "\n".join(f"| row {i} | {'x' * 90} |" for i in range(12_000))
    report.write_text(f"# Big\n\n| a | b |\n|---|---|\n{rows}\n\nend\n")
    assert len(report.read_text()) > NOTE_LIMIT
    with FakeGitLab() as gl:
        gl.add_mr("group/proj", 4)
        env = gl.env(CI_MERGE_REQUEST_IID="4", CI_PROJECT_DIR=str(tmp_path))
        code, _out, err = run(["comment", str(report)], env, monkeypatch, capsys)
        assert code == 0, err
        [note] = gl.notes("group/proj", 4)
        assert len(note["body"]) <= NOTE_LIMIT
        assert "1,000,000-character note limit" in note["body"] and "/-/jobs/9001" in note["body"]
        assert (tmp_path / ".ci-mlops/artifact/report.md").read_text() == report.read_text()  # the whole report kept


def test_a_forks_merge_request_without_token_degrades_to_log_and_artifact(tmp_path, monkeypatch, capsys):
    report = tmp_path / "r.md"
    report.write_text("# from a fork\n")
    with FakeGitLab() as gl:
        parent = gl.add_project("group/proj")
        fork = gl.add_project("contrib/proj")
        gl.add_mr("group/proj", 8, source_project="contrib/proj")
        env = gl.env(project="contrib/proj", token="", CI_MERGE_REQUEST_IID="8", CI_PROJECT_DIR=str(tmp_path),
                     CI_MERGE_REQUEST_PROJECT_ID=str(parent.id), CI_MERGE_REQUEST_SOURCE_PROJECT_ID=str(fork.id))
        code, _out, err = run(["comment", str(report)], env, monkeypatch, capsys)
        assert code == 0
        assert "comes from a fork" in err and "not posted" in err
        assert gl.requests == [] and gl.notes("group/proj", 8) == []
        assert (tmp_path / ".ci-mlops/artifact/report.md").read_text() == "# from a fork\n"


def test_missing_token_in_the_projects_own_mr_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    report = tmp_path / "r.md"
    report.write_text("# x\n")
    with FakeGitLab() as gl:
        gl.add_mr("group/proj", 2)
        code, _out, err = run(["comment", str(report)], gl.env(token="", CI_MERGE_REQUEST_IID="2"), monkeypatch, capsys)
        assert code == 2
        assert "CI_MLOPS_TOKEN" in err and "CI_JOB_TOKEN cannot write notes" in err and "Traceback" not in err


def test_a_read_only_token_is_a_notice_not_a_failure(tmp_path, monkeypatch, capsys):
    report = tmp_path / "r.md"
    report.write_text("# x\n")
    with FakeGitLab() as gl:
        gl.add_mr("group/proj", 2)
        env = gl.env(token="glpat-read", CI_MERGE_REQUEST_IID="2", CI_PROJECT_DIR=str(tmp_path))
        code, _out, err = run(["comment", str(report)], env, monkeypatch, capsys)
        assert code == 0 and "may not write notes" in err
        assert gl.notes("group/proj", 2) == []


def test_not_a_merge_request_pipeline_is_exit_2(tmp_path, monkeypatch, capsys):
    report = tmp_path / "r.md"
    report.write_text("# x\n")
    with FakeGitLab() as gl:
        env = gl.env(CI_PIPELINE_SOURCE="push")
        monkeypatch.delenv("CI_MERGE_REQUEST_IID", raising=False)
        code, _out, err = run(["comment", str(report)], env, monkeypatch, capsys)
        assert code == 2 and "CI_MERGE_REQUEST_IID" in err


def test_the_job_token_alone_is_refused_by_the_notes_api():
    """What GitLab documents (docs/gitlab.md): the job token does not reach the Notes API."""
    import requests

    with FakeGitLab() as gl:
        gl.add_mr("group/proj", 1)
        answer = requests.post(f"{gl.api_url}/projects/group%2Fproj/merge_requests/1/notes",
                               headers={"JOB-TOKEN": "job-token"}, json={"body": "x"}, timeout=10)
        assert answer.status_code == 401 and gl.notes("group/proj", 1) == []
