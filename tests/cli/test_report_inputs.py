"""`ci-mlops report` on plain git repos (metrics files listed in .ci-mlops.yml): revisions and bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import git, run_cli

from ci_mlops.errors import UserError
from ci_mlops.report import build_report, render_markdown, to_json

CONFIG = "report:\n  metrics_files: [metrics.json, eval/scores.yaml]\n  params_files: [params.yaml]\n"


def commit(repo: Path, files: dict[str, str | bytes], msg: str) -> str:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", msg)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(git_repo: Path) -> Path:
    commit(git_repo, {".ci-mlops.yml": CONFIG,
                      "metrics.json": json.dumps({"test": {"accuracy": 0.8, "loss": 0.5}, "epochs": [1, 2]}),
                      "eval/scores.yaml": "auc: 7e-1\nlabel: yes\n",
                      "params.yaml": "lr: 1e-3\nlayers: [64, 32]\n"}, "metrics")
    return git_repo


def test_plain_repo_uses_configured_files(repo):
    commit(repo, {".ci-mlops.yml": CONFIG.replace("eval/scores.yaml", "eval/scores.yaml, eval/extra.toml"),
                  "metrics.json": json.dumps({"test": {"accuracy": 0.9, "loss": 0.4}}),
                  "eval/extra.toml": "[speed]\nlatency_ms = 12.5\n", "params.yaml": "lr: 0.01\nlayers: [64]\n"}, "better")
    report = build_report(repo, "HEAD~1", "HEAD")
    rows = {(r["file"], r["key"]): r for r in report["metrics"]}
    assert rows[("metrics.json", "test.accuracy")]["status"] == "improved"
    assert rows[("metrics.json", "test.loss")]["status"] == "improved"
    assert ("metrics.json", "epochs") not in rows  # lists are dropped, as DVC does
    assert rows[("eval/scores.yaml", "auc")]["head"] == 0.7  # YAML 1.2: 7e-1 is a float
    assert rows[("eval/scores.yaml", "label")]["head"] == "yes"  # ... and yes a string
    assert rows[("eval/extra.toml", "speed.latency_ms")]["status"] == "new"
    params = {r["key"]: r for r in report["params"]}
    assert params["lr"]["base"] == 0.001 and params["lr"]["change"] == pytest.approx(0.009)
    assert params["layers"]["base"] == "[64, 32]" and params["layers"]["change"] is None


def test_non_numeric_and_nan_are_reported_without_change(repo):
    commit(repo, {"metrics.json": '{"test": {"accuracy": NaN, "loss": "n/a"}}'}, "odd values")
    report = build_report(repo, "HEAD~1", "HEAD")
    rows = {r["key"]: r for r in report["metrics"]}
    assert rows["test.loss"]["change"] is None and rows["test.loss"]["status"] == "changed"
    assert rows["test.accuracy"]["status"] == "changed" and rows["test.accuracy"]["change_pct"] is None
    data = json.loads(to_json(report))  # valid JSON: NaN becomes a string
    assert next(r for r in data["metrics"] if r["key"] == "test.accuracy")["head"] == "NaN"
    assert "NaN" in render_markdown(report)


@pytest.mark.parametrize("content, problem", [
    ("{not json", "invalid JSON"),
    ("[0.1, 0.2]", "got a list"),
    ("0.93", "got a number"),
    (b"\xff\xfe{}", "not UTF-8"),
    ("null", "got null"),  # not "every metric removed"
    ("[]", "got a list"),
    ("0", "got a number"),
])
def test_unreadable_metrics_is_one_clear_error(repo, content, problem):
    commit(repo, {"metrics.json": content}, "broken")
    with pytest.raises(UserError) as err:
        build_report(repo, "HEAD~1", "HEAD")
    message = err.value.message
    assert "metrics.json" in message and problem in message and "HEAD" in message
    assert "\n" not in message


def test_cli_bad_metrics_exit_2_one_line(repo):
    commit(repo, {"eval/scores.yaml": "auc: [unclosed\n"}, "broken yaml")
    proc = run_cli("report", "--base", "HEAD~1", "--head", "HEAD", cwd=repo)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "eval/scores.yaml" in lines[0] and "invalid YAML" in lines[0]
    assert "Traceback" not in proc.stderr


def test_cli_unknown_revision(repo):
    proc = run_cli("report", "--base", "no-such-branch", cwd=repo)
    assert proc.returncode == 2
    assert "unknown revision 'no-such-branch'" in proc.stderr and "Traceback" not in proc.stderr


def test_first_commit_metrics_are_new(git_repo):
    commit(git_repo, {".ci-mlops.yml": "report:\n  metrics_files: [metrics.json]\n"}, "config only")
    commit(git_repo, {"metrics.json": '{"acc": 0.7}'}, "first metrics")
    report = build_report(git_repo, "HEAD~1", "HEAD")
    assert [(r["key"], r["status"], r["base"]) for r in report["metrics"]] == [("acc", "new", None)]
    assert "1 new" in render_markdown(report)


def test_removed_metric(repo):
    commit(repo, {"metrics.json": json.dumps({"test": {"accuracy": 0.8}})}, "drop loss")
    rows = {r["key"]: r for r in build_report(repo, "HEAD~1", "HEAD")["metrics"]}
    assert rows["test.loss"]["status"] == "removed" and rows["test.loss"]["head"] is None


def test_direction_from_config_wins(repo):
    commit(repo, {".ci-mlops.yml": CONFIG + "metrics:\n  test.accuracy: {direction: lower}\n",
                  "metrics.json": json.dumps({"test": {"accuracy": 0.9, "loss": 0.5}})}, "flip")
    rows = {r["key"]: r for r in build_report(repo, "HEAD~1", "HEAD")["metrics"]}
    assert rows["test.accuracy"]["direction"] == "lower" and rows["test.accuracy"]["status"] == "regressed"


def test_workspace_is_default_head(repo):
    (repo / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.85, "loss": 0.5}}))
    report = build_report(repo)
    assert report["head"]["ref"] == "workspace" and report["base"]["ref"] == "main"
    acc = next(r for r in report["metrics"] if r["key"] == "test.accuracy")
    assert acc["head"] == 0.85 and acc["change"] == pytest.approx(0.05)


def test_actions_base_uses_merge_base_with_pr_base(repo):
    base_sha = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {"metrics.json": json.dumps({"test": {"accuracy": 0.95, "loss": 0.3}})}, "feature")
    git(repo, "checkout", "-q", "main")
    commit(repo, {"metrics.json": json.dumps({"test": {"accuracy": 0.1, "loss": 0.9}})}, "main moved on")
    git(repo, "checkout", "-q", "feature")
    proc = run_cli("report", "--format", "json", cwd=repo,
                   env={"GITHUB_ACTIONS": "true", "GITHUB_BASE_REF": "main", "GITHUB_STEP_SUMMARY": str(repo / "summary.md")})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["base"] == {"ref": "main", "sha": base_sha}
    assert (repo / "summary.md").read_text().startswith("**")


def test_shallow_clone_without_base_explains_fetch_depth(repo, tmp_path):
    commit(repo, {"metrics.json": json.dumps({"test": {"accuracy": 0.9, "loss": 0.4}})}, "second")
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {"metrics.json": json.dumps({"test": {"accuracy": 0.91, "loss": 0.4}})}, "third")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{repo}", str(clone)],
                   check=True, capture_output=True)
    proc = run_cli("report", cwd=clone, env={"GITHUB_ACTIONS": "true", "GITHUB_BASE_REF": "main"})
    assert proc.returncode == 2
    assert "fetch-depth: 0" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("report", "--base", "HEAD~1", cwd=clone)
    assert proc.returncode == 2 and "shallow clone" in proc.stderr


def test_output_file_and_history(repo, tmp_path):
    for acc in (0.81, 0.83, 0.86):
        commit(repo, {"metrics.json": json.dumps({"test": {"accuracy": acc, "loss": 0.5}})}, f"acc {acc}")
    out = tmp_path / "out" / "report.md"
    proc = run_cli("report", "--base", "HEAD", "--history", "3", "--all", "-o", str(out), cwd=repo)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "Trend" in text and "0.81–0.86" in text


def test_not_a_repository(tmp_path):
    proc = run_cli("report", cwd=tmp_path)
    assert proc.returncode == 2 and "not a git repository" in proc.stderr


@pytest.mark.parametrize("content", ["null\n", "~\n", "--- null\n"])
def test_yaml_metrics_null_is_an_error_but_an_empty_document_is_not(repo, content):
    commit(repo, {"eval/scores.yaml": content}, "null yaml")
    with pytest.raises(UserError, match=r"eval/scores.yaml at HEAD.*got null"):
        build_report(repo, "HEAD~1", "HEAD")
    commit(repo, {"eval/scores.yaml": "# nothing yet\n"}, "empty yaml")
    rows = {r["key"]: r["status"] for r in build_report(repo, "HEAD~2", "HEAD")["metrics"] if r["file"] == "eval/scores.yaml"}
    assert rows == {"auc": "removed", "label": "removed"}


def test_listed_metrics_file_at_neither_revision_is_an_error(repo):
    commit(repo, {".ci-mlops.yml": CONFIG.replace("metrics.json", "metrics.jsn")}, "typo")
    with pytest.raises(UserError) as err:
        build_report(repo, "HEAD~1", None)
    assert err.value.message.startswith("report.metrics_files: metrics.jsn exists at neither HEAD~1")
    proc = run_cli("report", "--base", "HEAD~1", cwd=repo)
    assert proc.returncode == 2 and "metrics.jsn" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_listed_metrics_file_at_one_revision_is_new_or_removed(repo):
    (repo / ".ci-mlops.yml").write_text(CONFIG.replace("eval/scores.yaml", "eval/scores.yaml, eval/extra.toml"))
    # eval/extra.toml is listed but exists at neither revision: the typo case ...
    with pytest.raises(UserError, match="eval/extra.toml exists at neither"):
        build_report(repo, "HEAD", None)
    # ... and once it exists on one side, it is simply new.
    (repo / "eval" / "extra.toml").write_text("latency_ms = 3\n")
    rows = [r for r in build_report(repo, "HEAD", None)["metrics"] if r["file"] == "eval/extra.toml"]
    assert [(r["key"], r["status"]) for r in rows] == [("latency_ms", "new")]


DVC_YAML = "stages:\n  evaluate:\n    cmd: python evaluate.py\n    metrics:\n      - metrics.json:\n          cache: false\n"


def test_declared_metrics_missing_from_workspace_is_an_error(git_repo):
    # The stage crashed before writing metrics: DVC reports a load failure, not "3 removed".
    (git_repo / ".dvc").mkdir()
    (git_repo / ".dvc" / "config").write_text("")
    commit(git_repo, {"dvc.yaml": DVC_YAML, "metrics.json": '{"acc": 0.9, "loss": 0.2, "f1": 0.8}'}, "pipeline")
    (git_repo / "metrics.json").unlink()
    with pytest.raises(UserError) as err:
        build_report(git_repo, "HEAD", None)
    assert "metrics.json is declared in dvc.yaml but missing from the workspace" in err.value.message
    (git_repo / ".ci-mlops.yml").write_text("metrics:\n  acc: {min: 0.5}\n")
    for command in ("report", "check"):
        proc = run_cli(command, "--base", "HEAD", cwd=git_repo)
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        [line] = proc.stderr.strip().splitlines()
        assert "metrics.json" in line and "dvc repro" in line
