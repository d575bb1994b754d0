"""`ci-mlops check` end to end on a real git + DVC pipeline repo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import run_cli

from tests.support.dvc_factory import commit_all, copy_repo, git, repro, set_params

ACTIONS_ENV = {"GITHUB_ACTIONS": "true"}


@pytest.fixture(scope="module")
def template(tmp_path_factory, shared_dvc_repo) -> Path:
    """main: the factory pipeline (test.accuracy 0.8); branch `worse`: retrained with 0 epochs."""
    repo = copy_repo(shared_dvc_repo, tmp_path_factory.mktemp("check") / "repo")
    git(repo, "checkout", "-q", "-b", "worse")
    set_params(repo, **{"train.epochs": 0})
    repro(repo)
    commit_all(repo, "train for zero epochs")
    git(repo, "checkout", "-q", "main")
    return repo


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    return copy_repo(template, tmp_path / "repo")


def write_config(repo: Path, config: dict | str) -> Path:
    path = repo / ".ci-mlops.yml"
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False))
    return path


def metric(repo: Path, dotted: str) -> float:
    node = json.loads((repo / "metrics.json").read_text())
    for part in dotted.split("."):
        node = node[part]
    return node


def assert_one_line_error(out, *fragments: str) -> None:
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# -- metric gates ------------------------------------------------------------------------------


def test_gates_pass(repo: Path):
    accuracy = metric(repo, "test.accuracy")
    write_config(repo, {"metrics": {"test.accuracy": {"min": accuracy - 0.1, "max_drop": 0.01},
                                    "test.loss": {"max": 1.0}}})
    out = run_cli("check", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert f"PASS  test.accuracy  min           {accuracy:g} >= min" in out.stdout
    assert "All 3 checks passed." in out.stdout


def test_absolute_bound_fails_with_annotation_and_summary(repo: Path, tmp_path: Path):
    write_config(repo, "# gates\nmetrics:\n  test.accuracy:\n    min: 0.99\n  test.loss: {max: 1.0}\n")
    summary = tmp_path / "summary.md"
    output = tmp_path / "gh-output"
    out = run_cli("check", cwd=repo, env={**ACTIONS_ENV, "GITHUB_STEP_SUMMARY": str(summary),
                                          "GITHUB_OUTPUT": str(output)})
    assert out.returncode == 1, out.stderr
    assert "FAIL  test.accuracy  min" in out.stdout and "< min 0.99" in out.stdout
    assert "::error file=.ci-mlops.yml,line=4,title=Gate failed%3A test.accuracy::" in out.stdout
    assert out.stderr.strip() == "ci-mlops: 1 of 2 checks failed"
    text = summary.read_text()
    assert "❌ 1 of 2 checks failed" in text and "| ❌ | test.accuracy | min | 0.99 |" in text
    assert "passed=false" in output.read_text()


def test_drop_against_base_revision_fails(repo: Path):
    git(repo, "checkout", "-q", "worse")
    write_config(repo, {"metrics": {"test.accuracy": {"max_drop": 0.01, "min": 0.1}}})
    out = run_cli("check", "--base", "main", "--format", "json", cwd=repo)
    assert out.returncode == 1, out.stderr
    result = json.loads(out.stdout)
    gates = {g["rule"]: g for g in result["gates"]}
    assert result["passed"] is False
    assert gates["min"]["passed"] is True
    drop = gates["max_drop"]
    assert drop["passed"] is False and drop["base"] == 0.8 and drop["value"] < 0.8
    assert drop["file"] == "metrics.json" and drop["metric"] == "test.accuracy"
    # against itself nothing dropped
    assert run_cli("check", "--base", "worse", cwd=repo).returncode == 0


def test_report_shows_the_same_verdicts_as_check(repo: Path):
    git(repo, "checkout", "-q", "worse")
    write_config(repo, {"metrics": {"test.accuracy": {"max_drop": 0.01, "min": 0.1}}})
    checked = json.loads(run_cli("check", "--base", "main", "--format", "json", cwd=repo).stdout)
    out = run_cli("report", "--base", "main", "--format", "json", cwd=repo)
    assert out.returncode == 0, out.stderr  # the report describes; only `check` fails the job
    assert json.loads(out.stdout)["gates"] == checked["gates"]
    markdown = run_cli("report", "--base", "main", cwd=repo).stdout
    assert "quality gates failed" in markdown and "max_drop" in markdown
    # at a fixed head revision the gates still apply (data checks need the workspace)
    out = run_cli("report", "--base", "main", "--head", "worse", "--format", "json", cwd=repo)
    assert [g["passed"] for g in json.loads(out.stdout)["gates"]] == [g["passed"] for g in checked["gates"]]
    assert "gates" not in json.loads(run_cli("report", "--base", "main", "--no-checks", "--format", "json",
                                             cwd=repo).stdout)


def test_first_pr_without_base_value_skips_drop_rules(repo: Path):
    write_config(repo, {"metrics": {"test.accuracy": {"max_drop": 0.01, "min": 0.99}}})
    empty_tree = git(repo, "hash-object", "-t", "tree", "/dev/null").strip()
    before_pipeline = git(repo, "commit-tree", empty_tree, "-m", "before the pipeline").strip()
    out = run_cli("check", "--base", before_pipeline, "--format", "json", cwd=repo)
    assert out.returncode == 1, out.stderr
    gates = {g["rule"]: g for g in json.loads(out.stdout)["gates"]}
    drop = gates["max_drop"]
    assert drop["passed"] and drop["skipped"] and drop["base"] is None and "no base value" in drop["message"]
    assert not gates["min"]["passed"]  # absolute bounds still apply


def test_output_file(repo: Path, tmp_path: Path):
    write_config(repo, {"metrics": {"test.f1": {}}})
    target = tmp_path / "out" / "check.json"
    target.parent.mkdir()
    out = run_cli("check", "--format", "json", "-o", str(target), cwd=repo)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    assert set(json.loads(target.read_text())) == {"passed", "gates", "data", "slices"}


# -- data checks ----------------------------------------------------------------------------------


def test_data_problems_are_each_reported(repo: Path):
    (repo / "data" / "people.csv").write_text(
        "id,age,color\n1,34,red\n2,,blue\n3,150,purple\n3,150,purple\n5,41,red\n")
    (repo / "data" / "holdout.csv").write_text("id,age,color\n5,41,red\n9,20,blue\n")
    write_config(repo, {"data": {"data/people.csv": {
        "rows": {"min": 3},
        "columns": {"age": {"nullable": False, "max": 120}, "color": {"allowed": ["red", "blue"]}},
        "duplicates": {"max": 0},
        "leakage": {"with": "data/holdout.csv", "on": ["id"]},
    }}})
    out = run_cli("check", "--format", "json", cwd=repo)
    assert out.returncode == 1, out.stderr
    by_check = {(d["check"], d["column"]): d for d in json.loads(out.stdout)["data"]}
    assert by_check[("rows", None)]["passed"]
    assert by_check[("nullable", "age")]["examples"] == [2]
    assert by_check[("max", "age")]["examples"] == [3, 4]
    assert by_check[("allowed", "color")]["failing_rows"] == 2
    assert by_check[("duplicates", None)]["examples"] == [4]
    assert by_check[("leakage", None)]["examples"] == [5]
    text = run_cli("check", cwd=repo).stdout
    assert "FAIL  color: allowed" in text and "'purple'" in text
    assert "row numbers are 1-based data rows" in text


def test_data_checks_read_dvc_outputs_from_the_cache(repo: Path):
    shutil.rmtree(repo / "data" / "prepared")
    write_config(repo, {"data": {"data/prepared/train.csv": {
        "rows": {"min": 10}, "schema": "strict",
        "columns": {"x1": {"dtype": "float"}, "x2": {"dtype": "float"}, "label": {"allowed": [0, 1]}},
        "leakage": {"with": "data/prepared/test.csv"}}}})
    out = run_cli("check", cwd=repo)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "PASS  leakage" in out.stdout
    assert not (repo / "data" / "prepared").exists()


# -- slices -------------------------------------------------------------------------------------


def test_slice_gap_fails(repo: Path):
    (repo / "eval" / "predictions.csv").write_text(
        "actual,predicted,region\n" + "1,1,north\n" * 8 + "0,0,north\n" * 2 + "1,0,south\n" * 4 + "1,1,south\n" * 6)
    write_config(repo, {"slices": {"file": "eval/predictions.csv", "by": ["region"], "min_support": 5,
                                   "metrics": {"accuracy": {"max_gap": 0.1}, "recall": {"min": 0.5}}}})
    out = run_cli("check", "--format", "json", cwd=repo)
    assert out.returncode == 1, out.stderr
    (region,) = json.loads(out.stdout)["slices"]
    assert region["file"] == "eval/predictions.csv" and region["by"] == "region"
    assert {g["group"]: g["accuracy"] for g in region["groups"]} == {"north": 1.0, "south": 0.6}
    failed = [(c["metric"], c["rule"]) for c in region["checks"] if not c["passed"]]
    assert failed == [("accuracy", "max_gap")]


# -- the same verdicts in the PR report ------------------------------------------------------------


def test_report_shows_the_same_verdicts(repo: Path):
    from ci_mlops.checks import add_to_report
    from ci_mlops.checks.render import report_markdown
    from ci_mlops.config import load_config
    from ci_mlops.report import build_report

    (repo / "data" / "people.csv").write_text("id,age\n1,34\n2,200\n")
    config_path = write_config(repo, {"metrics": {"test.accuracy": {"min": 0.99}},
                                      "data": {"data/people.csv": {"columns": {"age": {"max": 120}}}}})
    config = load_config(config_path)
    report = build_report(repo, None, None, config=config)
    result = add_to_report(config, repo, report)
    assert result["passed"] is False
    assert report["gates"] == result["gates"]
    markdown = report_markdown(report)
    assert "1 of 1 quality gates failed" in markdown
    assert "Data checks" in markdown and "age: 1 row above max 120" in markdown
    cli = json.loads(run_cli("check", "--format", "json", cwd=repo).stdout)
    assert cli["gates"] == result["gates"] and cli["data"] == result["data"]


# -- bad input: one line, exit 2 ---------------------------------------------------------------------


@pytest.mark.parametrize("config,fragments", [
    ("metrics:\n  test.accuracy: {minimum: 0.9}\n", [".ci-mlops.yml:2", "unknown key 'minimum'", "did you mean 'min'"]),
    ("metrics:\n  test.accuracy: {min: high}\n", [".ci-mlops.yml:2", "test.accuracy.min", "expected a number"]),
    ("metrics:\n  test.accuracy: {direction: sideways}\n", ["'sideways' is not one of higher, lower"]),
    ("metrics:\n  test.acuracy: {min: 0.5}\n", ["metrics.test.acuracy: no such metric", "did you mean 'test.accuracy'"]),
    ("data:\n  data/prepared/train.csv:\n    columns:\n      age: {min: 0}\n",
     ["data/prepared/train.csv: no column 'age'", "x1, x2, label"]),
    ("data:\n  models/model.pkl: {format: parquet}\n", ["models/model.pkl: cannot read as parquet"]),
    ("data:\n  data/missing.csv: {rows: {min: 1}}\n", ["data/missing.csv: no such file"]),
    ("slices:\n  file: eval/confusion.csv\n  by: [region]\n", ["eval/confusion.csv: no column 'region'"]),
])
def test_bad_input_is_one_line_exit_2(repo: Path, config: str, fragments: list[str]):
    write_config(repo, config)
    assert_one_line_error(run_cli("check", cwd=repo), *fragments)


def test_ambiguous_metric_key_names_both_files(repo: Path):
    dvc_yaml = repo / "dvc.yaml"
    dvc_yaml.write_text("metrics:\n  - extra.json\n" + dvc_yaml.read_text())
    (repo / "extra.json").write_text('{"test": {"accuracy": 0.5}}')
    write_config(repo, {"metrics": {"test.accuracy": {"min": 0.1}}})
    assert_one_line_error(run_cli("check", cwd=repo), "metrics.test.accuracy: ambiguous",
                          "extra.json and metrics.json", "'extra.json:test.accuracy'")
    write_config(repo, {"metrics": {"extra.json:test.accuracy": {"min": 0.6}}})
    out = run_cli("check", "--format", "json", cwd=repo)
    assert out.returncode == 1
    (gate,) = json.loads(out.stdout)["gates"]
    assert (gate["file"], gate["value"], gate["passed"]) == ("extra.json", 0.5, False)


def test_nothing_configured(repo: Path):
    out = run_cli("check", cwd=repo)
    assert out.returncode == 0 and "Nothing checked: there is no .ci-mlops.yml" in out.stdout
    out = run_cli("check", "--format", "json", cwd=repo)
    assert out.returncode == 0 and json.loads(out.stdout)["config"] is None
    write_config(repo, {"version": 1})
    out = run_cli("check", cwd=repo)
    assert out.returncode == 0 and "Nothing to check: .ci-mlops.yml has no metrics" in out.stdout


@pytest.mark.parametrize("literal,shown", [("Infinity", "inf"), ("-Infinity", "-inf"), ("NaN", "NaN")])
def test_non_finite_metric_fails_min_max_and_drop(repo: Path, literal: str, shown: str):
    text = (repo / "metrics.json").read_text()
    data = json.loads(text)
    data["test"]["accuracy"] = "@@"
    (repo / "metrics.json").write_text(json.dumps(data).replace('"@@"', literal))
    write_config(repo, {"metrics": {"test.accuracy": {"min": 0.1, "max": 2.0, "max_drop": 0.5}}})
    out = run_cli("check", cwd=repo)
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert out.stdout.count("FAIL  test.accuracy") == 3, out.stdout
    assert f"test.accuracy is {shown}, not a" in out.stdout
