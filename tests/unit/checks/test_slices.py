"""Per-group metrics and slice gates on plain DataFrames."""

from __future__ import annotations

import pandas as pd
import pytest

from ci_mlops.checks.render import slices_markdown as render_markdown
from ci_mlops.checks.slices import slice_metrics
from ci_mlops.errors import UserError


@pytest.fixture
def predictions():
    # group a: 4 rows, 3 right (tp=2, fp=0, fn=1); group b: 4 rows, 2 right (tp=1, fp=1, fn=1); c: 1 row
    return pd.DataFrame({
        "actual":    [1, 1, 1, 0, 1, 0, 1, 0, 1],
        "predicted": [1, 1, 0, 0, 1, 1, 0, 0, 1],
        "sex":       ["a", "a", "a", "a", "b", "b", "b", "b", None],
        "region":    ["n", "s", "n", "s", "n", "s", "n", "s", "n"],
    })


def groups(result):
    return {g["group"]: g for g in result["groups"]}


def test_per_group_metrics(predictions):
    (sex,) = slice_metrics(predictions, {"by": ["sex"], "metrics": {m: {} for m in
                                         ("accuracy", "precision", "recall", "f1", "error_rate")}})
    a, b, missing = groups(sex)["a"], groups(sex)["b"], groups(sex)["(missing)"]
    assert a["support"] == 4 and a["accuracy"] == 0.75 and a["precision"] == 1.0
    assert a["recall"] == pytest.approx(2 / 3, abs=1e-6) and a["f1"] == pytest.approx(0.8)
    assert b["accuracy"] == 0.5 and b["precision"] == 0.5 and b["recall"] == 0.5 and b["error_rate"] == 0.5
    assert missing["support"] == 1 and missing["accuracy"] == 1.0
    assert [g["group"] for g in sex["groups"]] == ["a", "b", "(missing)"]
    assert sex["passed"] and sex["checks"] == []


def test_gap_min_and_support_gates(predictions):
    spec = {"by": ["sex", "region"], "min_support": 2,
            "metrics": {"accuracy": {"max_gap": 0.2, "min": 0.6}}}
    sex, region = slice_metrics(predictions, spec)
    failed = {(c["metric"], c["rule"], c["group"]) for c in sex["checks"] if not c["passed"]}
    assert failed == {(None, "min_support", "(missing)"), ("accuracy", "max_gap", None), ("accuracy", "min", "b")}
    gap = next(c for c in sex["checks"] if c["rule"] == "max_gap")
    assert gap["value"] == 0.5 and "(missing) 1.0000 vs b 0.5000" in gap["message"]
    assert not sex["passed"]
    region_gap = next(c for c in region["checks"] if c["rule"] == "max_gap")
    assert region_gap["passed"] == (abs(groups(region)["n"]["accuracy"] - groups(region)["s"]["accuracy"]) <= 0.2)


def test_undefined_metric_takes_no_part(predictions):
    only_negatives = predictions.assign(predicted=0, actual=0)
    (sex,) = slice_metrics(only_negatives, {"by": ["sex"], "metrics": {"precision": {"max_gap": 0.1}}})
    assert all(g["precision"] is None for g in sex["groups"])
    assert sex["checks"][0]["passed"] and "skipped" in sex["checks"][0]["message"]


def test_string_labels_and_positive_class():
    frame = pd.DataFrame({"y": ["cat", "dog", "dog"], "yhat": ["cat", "cat", "dog"], "g": [1, 1, 1]})
    (g,) = slice_metrics(frame, {"by": ["g"], "actual": "y", "predicted": "yhat", "positive": "dog",
                                 "metrics": {"recall": {}, "precision": {}}})
    assert groups(g)[1]["recall"] == 0.5 and groups(g)[1]["precision"] == 1.0


def test_labels_parsed_differently_still_compare():
    frame = pd.DataFrame({"actual": [1, 0], "predicted": ["1", "1"], "g": ["x", "x"]})
    (g,) = slice_metrics(frame, {"by": ["g"], "metrics": {"accuracy": {}}})
    assert groups(g)["x"]["accuracy"] == 0.5


def test_missing_column_is_user_error(predictions):
    with pytest.raises(UserError, match=r"preds\.csv: no column 'age'"):
        slice_metrics(predictions, {"by": ["age"]}, name="preds.csv")


def test_markdown_table(predictions):
    results = slice_metrics(predictions, {"by": ["sex"], "metrics": {"accuracy": {"max_gap": 0.1}}})
    md = render_markdown(results, file="eval/predictions.csv")
    assert "| group | support | accuracy |" in md
    assert "| a | 4 | 0.7500 |" in md
    assert "❌" in md and "gap across sex" in md


def test_empty_predictions_fail():
    frame = pd.DataFrame({"actual": [], "predicted": [], "g": []})
    (g,) = slice_metrics(frame, {"by": ["g"], "metrics": {"accuracy": {"max_gap": 0.1}}}, name="p.csv")
    assert not g["passed"] and g["checks"][0]["rule"] == "rows" and "p.csv: no prediction rows" in g["checks"][0]["message"]
    assert "_No rows._" in render_markdown([g])
