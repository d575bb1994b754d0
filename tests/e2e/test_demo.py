"""`ci-mlops demo`: builds a real git + DVC project offline and shows the loop on it."""

from __future__ import annotations

import json
import re

import pytest
from conftest import git, run_cli

from ci_mlops.demo.scenario import set_param, write_project
from tests.support.demo_process import run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    target = tmp_path_factory.mktemp("demo") / "project"
    proc = run_demo(str(target))
    return target, proc


@pytest.mark.slow
def test_demo_runs_the_loop_and_prints_a_metrics_table(demo):
    target, proc = demo
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for n in range(1, 8):
        assert f"[{n}/7]" in out
    # a Markdown metrics table with the changed metrics of the branch
    rows = [line for line in out.splitlines() if line.startswith("| test.recall | ")]
    assert rows, out
    assert "0.4476" in rows[0] and "0.6613" in rows[0]
    assert f"The project is in {target}" in out
    # the sweep step: three class weights through DVC's queue, ranked against main, the best marked
    board = out.split("The sweep's leaderboard", 1)[1]
    assert "**3 experiments** · ranked by `test.f1`" in board and board.count(" ★ |") == 1, board
    assert [line.split("|")[3].strip() for line in board.splitlines() if line.startswith("| ") and "`sweep-0" in line] \
        == ["2", "3", "1"]  # class weight 2 has the best F1, the baseline's 1.0 the worst


@pytest.mark.slow
def test_demo_leaves_a_real_repo_with_baseline_branch_and_remote(demo):
    target, proc = demo
    assert proc.returncode == 0, proc.stderr
    log = git(target, "log", "--format=%s", "--all").splitlines()
    assert "Baseline churn model" in log and len(log) >= 2
    assert git(target, "rev-parse", "--abbrev-ref", "HEAD").strip() == "experiment/class-weight"
    assert "class_weight: 1.0" in git(target, "show", "main:params.yaml")
    assert "class_weight: 1.5" in (target / "params.yaml").read_text()
    assert git(target, "status", "--porcelain").strip() == ""
    base = json.loads(git(target, "show", "main:eval/metrics.json"))["test"]
    head = json.loads((target / "eval" / "metrics.json").read_text())["test"]
    assert head["recall"] > base["recall"] and head["precision"] < base["precision"]  # the trade-off the gates judge
    remote = target / ".dvc-remote"
    assert sum(1 for p in remote.rglob("*") if p.is_file()) >= 3
    assert (target / ".ci-mlops.yml").is_file() and (target / "data" / "customers.csv.dvc").is_file()


def test_demo_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("mine\n")
    proc = run_cli("demo", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not empty" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_demo_refuses_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    proc = run_cli("demo", str(target))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_project_files_and_dataset_are_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    files = write_project(a, rows=300)
    write_project(b, rows=300)
    assert ".ci-mlops.yml" in files and ".gitignore" in files and "dvc.yaml" in files
    assert (a / "data" / "customers.csv").read_bytes() == (b / "data" / "customers.csv").read_bytes()
    lines = (a / "data" / "customers.csv").read_text().splitlines()
    assert len(lines) == 301 and lines[0].startswith("customer_id,")
    labels = {line.rsplit(",", 1)[1] for line in lines[1:]}
    assert labels == {"0", "1"}


def test_demo_config_is_valid():
    from ci_mlops.config import parse_config
    from ci_mlops.demo.scenario import PROJECT

    config = parse_config((PROJECT / "ci-mlops.yml").read_text())
    assert config.settings.metrics["test.precision"].max_drop_pct == 5


def test_set_param_keeps_comments(tmp_path):
    (tmp_path / "params.yaml").write_text("train:\n  lr: 0.1  # step size\n  epochs: 3\neval:\n  lr: 9\n")
    set_param(tmp_path, "train", "lr", "0.2")
    text = (tmp_path / "params.yaml").read_text()
    assert re.search(r"^  lr: 0.2 +# step size$", text, re.M) and "  lr: 9" in text
    with pytest.raises(ValueError):
        set_param(tmp_path, "train", "missing", "1")


def test_demo_reports_an_uncreatable_directory_in_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli("demo", str(blocker / "sub"))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("ci-mlops: error: ") and proc.stderr.count("\n") == 1


@pytest.mark.slow
def test_readme_example_is_the_demos_output(demo):
    """README.md's example comment and check output are what `ci-mlops demo` prints (SHAs aside)."""
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("gen_demo_example", ROOT / "tools" / "gen_demo_example.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    target, proc = demo
    assert proc.returncode == 0, proc.stderr
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    comment, check = gen.sections(proc.stdout, target)
    assert "a1b2c3d" in comment and "e4f5a6b" in check  # the SHAs were found and replaced
    assert gen.embed(readme, comment, check) == readme, (
        "README.md's demo example is out of date: run `python tools/gen_demo_example.py`")
