"""`ci-mlops status` in GitLab CI/CD: statuses per check on the pipeline, and the JUnit report for the MR widget."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from ci_mlops.forge.junit import junit_xml
from tests.support.fake_gitlab import FakeGitLab
from tests.support.inprocess import run_main

CONFIG = """version: 1
metrics:
  test.accuracy:
    min: 0.9
    max_drop: 0.01
data:
  data/train.csv:
    columns:
      age:
        nullable: false
"""
CHECK = {
    "passed": False,
    "gates": [
        {"metric": "test.accuracy", "file": "metrics.json", "key": "test.accuracy", "rule": "min", "bound": 0.9,
         "value": 0.85, "base": 0.91, "passed": False, "skipped": False, "message": "0.85 < min 0.9"},
        {"metric": "test.accuracy", "file": "metrics.json", "key": "test.accuracy", "rule": "max_drop",
         "bound": 0.01, "value": 0.85, "base": None, "passed": True, "skipped": True,
         "message": "no base value: skipped"},
    ],
    "data": [{"file": "data/train.csv", "column": "age", "check": "nullable", "passed": False,
              "message": "3 missing values <script>\x07", "failing_rows": 3}],
    "slices": [],
}


def run(args, env, monkeypatch, capsys):
    return run_main(args, env, monkeypatch, capsys,
                    drop=("GITHUB_ACTIONS", "GITHUB_REPOSITORY", "GITHUB_TOKEN", "GITHUB_OUTPUT", "CI_MLOPS_FORGE"))


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / ".ci-mlops.yml").write_text(CONFIG)
    (tmp_path / "check.json").write_text(json.dumps(CHECK))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_statuses_per_check_attached_to_the_pipeline_and_safe_to_repeat(project, monkeypatch, capsys):
    with FakeGitLab() as gl:
        env = gl.env(CI_MLOPS_DOTENV=str(project / "out.env"))
        for _ in range(2):  # a retried job posts the same states again: GitLab's 400 is read back, not an error
            code, _out, err = run(["status", "check.json", "--junit", "gates.xml"], env, monkeypatch, capsys)
            assert code == 0, err
        statuses = gl.gl_statuses("group/proj", "a" * 40)
        names = {(s["name"], s["status"]) for s in statuses}
        assert names == {("ci-mlops/gates", "failed"), ("ci-mlops/gates/test.accuracy min", "failed"),
                         ("ci-mlops/gates/data/train.csv[age] nullable", "failed")}
        assert len(statuses) == 3  # nothing posted twice
        assert all(s["pipeline_id"] == 777 and s["ref"] == "feature" for s in statuses)
        assert all(s["target_url"].endswith("/-/jobs/9001") for s in statuses)
        assert "CI_MLOPS_STATE=failed" in (project / "out.env").read_text()


def test_state_transitions_post_a_new_status(project, monkeypatch, capsys):
    with FakeGitLab() as gl:
        env = gl.env()
        assert run(["status", "--state", "pending"], env, monkeypatch, capsys)[0] == 0
        assert run(["status", "check.json", "--no-per-check"], env, monkeypatch, capsys)[0] == 0
        assert [s["status"] for s in gl.gl_statuses("group/proj")] == ["running", "failed"]


def test_junit_report_names_the_config_line_of_each_failed_gate(project, monkeypatch, capsys):
    with FakeGitLab() as gl:
        code, _out, _err = run(["status", "check.json", "--junit", "reports/gates.xml", "--dry-run"], gl.env(),
                             monkeypatch, capsys)
        assert code == 0 and gl.requests == []
    root = ET.parse(project / "reports/gates.xml").getroot()
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "2", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    acc = cases["test.accuracy min"].find("failure")
    assert ".ci-mlops.yml:4" in acc.get("message")  # the line of `min: 0.9`
    age = cases["data/train.csv[age] nullable"].find("failure")
    assert ".ci-mlops.yml:10" in age.get("message") and "<script>" in age.get("message")  # `nullable: false`
    assert "\x07" not in (project / "reports/gates.xml").read_text()
    assert cases["test.accuracy max_drop"].find("skipped") is not None
    assert all(c.get("file") == ".ci-mlops.yml" for c in cases.values())


def test_junit_of_a_passing_check_has_no_failures():
    passing = {"passed": True, "gates": [dict(CHECK["gates"][0], passed=True, message="0.95 >= min 0.9")]}
    suite = ET.fromstring(junit_xml(passing, ".ci-mlops.yml", lambda *k: None)).find("testsuite")
    assert suite.get("failures") == "0" and suite.find("testcase").find("failure") is None


def test_a_forks_pipeline_without_token_only_writes_the_report(project, monkeypatch, capsys):
    with FakeGitLab() as gl:
        env = gl.env(token="", CI_MERGE_REQUEST_SOURCE_PROJECT_ID="999", CI_MERGE_REQUEST_PROJECT_ID="101")
        code, _out, err = run(["status", "check.json", "--junit", "gates.xml"], env, monkeypatch, capsys)
        assert code == 0 and "no commit status posted" in err
        assert gl.requests == [] and (project / "gates.xml").exists()
