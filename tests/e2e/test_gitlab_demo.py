"""`ci-mlops demo --ci gitlab`: the whole loop in GitLab mode against the demo's loopback GitLab."""

from __future__ import annotations

import pytest

from tests.support.demo_process import run_demo


@pytest.mark.slow
def test_demo_runs_the_whole_loop_in_gitlab_mode(tmp_path):
    proc = run_demo("--ci", "gitlab", "--rows", "600", str(tmp_path / "demo"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = proc.stdout
    assert "(1 note on the merge request after two runs)" in out
    assert "statuses:        " in out and "on the commit" in out
    assert "JUnit report:" in out
    assert "release:         http://127.0.0.1:" in out and "(lineage.json, model-card.md, model.pkl)" in out
    assert "checks passed; the release matches its lineage and dvc.lock" in out
    assert "/-/issues/1 opened, then closed" in out
    assert (tmp_path / "demo" / ".gitlab" / "ci-mlops.yml").is_file()
    assert not (tmp_path / "demo" / ".github").exists()
