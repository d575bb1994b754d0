"""A head value far outside the base branch's recent history is flagged in the report."""

from __future__ import annotations

import json

from conftest import git, run_cli


def test_history_flags_an_outlying_head_value(git_repo):
    (git_repo / ".ci-mlops.yml").write_text("report:\n  metrics_files: [metrics.json]\n")
    for accuracy in (0.80, 0.81, 0.805, 0.79, 0.80, 0.812, 0.798):
        (git_repo / "metrics.json").write_text(json.dumps({"accuracy": accuracy, "loss": 0.3}))
        git(git_repo, "add", ".")
        git(git_repo, "commit", "-qm", f"accuracy {accuracy}")
    (git_repo / "metrics.json").write_text(json.dumps({"accuracy": 0.55, "loss": 0.3}))

    out = run_cli("report", "--base", "main", "--history", "10", "--format", "json", cwd=git_repo)
    assert out.returncode == 0, out.stderr
    anomalies = json.loads(out.stdout)["anomalies"]
    assert [a["metric"] for a in anomalies] == ["metrics.json:accuracy"]
    assert anomalies[0]["direction"] == "below" and anomalies[0]["value"] == 0.55

    markdown = run_cli("report", "--base", "main", "--history", "10", cwd=git_repo).stdout
    assert "Anomalies against the base branch's history" in markdown and "metrics.json:accuracy" in markdown

    # an ordinary value is no anomaly
    (git_repo / "metrics.json").write_text(json.dumps({"accuracy": 0.803, "loss": 0.3}))
    out = run_cli("report", "--base", "main", "--history", "10", "--format", "json", cwd=git_repo)
    assert json.loads(out.stdout)["anomalies"] == []
