"""Model performance on labelled current data against the last release's value."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ci_mlops.drift.performance import (
    baseline_from_lineage,
    baseline_from_release,
    compute_metric,
    evaluate_performance,
    find_metric,
)
from ci_mlops.errors import UserError
from tests.conftest import git


def test_classification_metrics() -> None:
    actual = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    predicted = np.array([1, 1, 0, 0, 0, 1, 1, 0])
    assert compute_metric(actual, predicted, "accuracy") == pytest.approx(6 / 8)
    assert compute_metric(actual, predicted, "error_rate") == pytest.approx(2 / 8)
    assert compute_metric(actual, predicted, "precision") == pytest.approx(3 / 4)
    assert compute_metric(actual, predicted, "recall") == pytest.approx(3 / 4)
    assert compute_metric(actual, predicted, "f1") == pytest.approx(3 / 4)
    # three classes: macro average
    a = np.array(["a", "b", "c", "a"])
    p = np.array(["a", "b", "b", "c"])
    assert compute_metric(a, p, "recall") == pytest.approx((0.5 + 1 + 0) / 3)


def test_regression_metrics() -> None:
    actual = np.array([1.0, 2.0, 3.0])
    predicted = np.array([1.0, 2.0, 5.0])
    assert compute_metric(actual, predicted, "mae") == pytest.approx(2 / 3)
    assert compute_metric(actual, predicted, "rmse") == pytest.approx(np.sqrt(4 / 3))


def test_degradation_against_baseline() -> None:
    df = pd.DataFrame({"y": [1, 0, 1, 0, 1, None], "p": [1, 0, 0, 1, 1, 1]})
    spec = {"actual": "y", "predicted": "p", "metric": "accuracy", "max_drop": 0.05}
    result = evaluate_performance(df, spec, 0.9, "v1.0.0")
    assert result["value"] == pytest.approx(0.6) and result["rows"] == 5
    assert result["degraded"] is True and result["change"] == pytest.approx(-0.3)
    assert "v1.0.0" in result["message"]
    assert evaluate_performance(df, {**spec, "max_drop": 0.5}, 0.9, "v1")["degraded"] is False
    lower = evaluate_performance(pd.DataFrame({"y": [1.0, 2.0], "p": [1.5, 2.5]}),
                                 {"actual": "y", "predicted": "p", "task": "regression", "metric": "mae",
                                  "max_drop": 0.1}, 0.3, "v1")
    assert lower["degraded"] is True  # mae rose by 0.2
    assert evaluate_performance(df, spec, None, None)["degraded"] is False


@pytest.mark.parametrize(("spec", "message"), [
    ({"actual": "nope", "predicted": "p"}, "column 'nope'"),
    ({"actual": "y", "predicted": "p", "task": "classification", "metric": "rmse"}, "does not fit"),
])
def test_bad_performance_config(spec: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        evaluate_performance(pd.DataFrame({"y": [1], "p": [1]}), spec, None, None)


def test_baseline_from_lineage(tmp_path: Path) -> None:
    path = tmp_path / "lineage.json"
    path.write_text(json.dumps({"metrics": {"metrics.json": {"test.accuracy": 0.91, "test.loss": 0.2}}}))
    assert baseline_from_lineage(path, "test.accuracy") == 0.91
    assert baseline_from_lineage(path, "metrics.json:test.loss") == 0.2
    with pytest.raises(UserError, match="no numeric metric 'test.f1'"):
        baseline_from_lineage(path, "test.f1")
    with pytest.raises(UserError, match="no such file"):
        baseline_from_lineage(tmp_path / "missing.json", "x")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UserError, match="not a readable lineage"):
        baseline_from_lineage(tmp_path / "bad.json", "x")


def test_find_metric_reads_nested_values() -> None:
    assert find_metric({"m.json": {"test": {"acc": 0.8}}}, "test.acc") == 0.8
    assert find_metric({"m.json": {"test": {"acc": "high"}}}, "test.acc") is None


def test_baseline_from_newest_release_tag(git_repo: Path) -> None:
    (git_repo / "dvc.yaml").write_text("metrics:\n  - eval/metrics.json\n")
    (git_repo / "eval").mkdir()
    (git_repo / "eval" / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.80}}))
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "first model")
    git(git_repo, "tag", "v1.0.0")
    (git_repo / "eval" / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.85}}))
    git(git_repo, "commit", "-q", "-am", "better model")
    git(git_repo, "tag", "model@v1.1.0")
    git(git_repo, "tag", "not-a-release")
    (git_repo / "eval" / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.99}}))
    git(git_repo, "commit", "-q", "-am", "unreleased")
    assert baseline_from_release(git_repo, "test.accuracy") == (0.85, "model@v1.1.0")
    assert baseline_from_release(git_repo, "test.f1") is None
