"""The leaderboard's ranking and gates, and a CI sweep's results held against its plan."""

from __future__ import annotations

import pytest

from ci_mlops.config import Config
from ci_mlops.errors import UserError
from ci_mlops.sweep.leaderboard import build, render_markdown
from ci_mlops.sweep.plan import expand
from ci_mlops.sweep.results import Result, complete

CONFIG = Config({"version": 1, "significance": {"predictions": {"file": "p.csv", "actual": "y", "predicted": "p"}},
                 "metrics": {"test.accuracy": {"direction": "higher", "max_drop": 0.02, "significance": 0.95},
                             "test.f1": {"direction": "higher", "min": 0.5}},
                 "experiments": {"grid": {"train.lr": [0.1, 0.2, 0.3]}, "rank_by": "test.f1"}})
BASE = {"metrics.json": {"test.accuracy": 0.80, "test.f1": 0.60}}


def _ok(name: str, lr: float, accuracy: float, f1: float) -> Result:
    return Result(name, [f"train.lr={lr}"], "success", metrics={"metrics.json": {"test.accuracy": accuracy,
                                                                                 "test.f1": f1}},
                  params={"params.yaml": {"train.lr": lr}})


def test_gates_that_ask_for_significance_are_judged_on_the_values():
    # unchanged metrics pass their drop rule; a sweep has no intervals, so it must not fail for want of one
    board = build(CONFIG, {"ref": "main"}, BASE, [_ok("sweep-1", 0.1, 0.80, 0.60), _ok("sweep-2", 0.2, 0.70, 0.65)])
    rows = {r["name"]: r for r in board["rows"]}
    assert rows["sweep-1"]["passed"] is True
    assert rows["sweep-2"]["passed"] is False  # accuracy dropped 0.10, over max_drop 0.02
    assert [g["rule"] for g in rows["sweep-2"]["gates"] if not g["passed"]] == ["max_drop"]
    assert board["best"] == "sweep-2" and [r["rank"] for r in board["rows"]] == [1, 2]
    assert "no confidence intervals" in render_markdown(board)


def test_a_ci_sweep_is_held_against_its_plan():
    plan = expand(CONFIG)
    ran = [_ok("sweep-01", 0.1, 0.8, 0.6)]
    rows = complete(ran, plan)
    assert [(r.name, r.status) for r in rows] == [("sweep-01", "success"), ("sweep-02", "failed"),
                                                  ("sweep-03", "failed")]
    assert "no result" in rows[1].error
    with pytest.raises(UserError, match=r"plan says train\.lr=0\.2"):
        complete([_ok("sweep-02", 0.5, 0.8, 0.6)], plan)
    with pytest.raises(UserError, match="does not have"):
        complete([_ok("sweep-09", 0.1, 0.8, 0.6)], plan)


def test_a_large_sweep_shows_its_best_rows_and_every_failure_within_the_comment_limit():
    results = [_ok(f"sweep-{i:03d}", i / 1000, 0.8, 0.5 + i / 1000) for i in range(1, 256)]
    results.append(Result("sweep-256", ["train.lr=9"], "failed", error="diverged"))
    board = build(CONFIG, {"ref": "main"}, BASE, results)
    text = render_markdown(board)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`sweep-" in line]
    assert len(rows) == 61 and "`sweep-255` ★" in rows[0] and "`sweep-256`" in rows[-1] and "diverged" in rows[-1]
    assert "195 more experiments ranked below these" in text and len(text) < 65536
    assert len(board["rows"]) == 256  # the JSON keeps every row
