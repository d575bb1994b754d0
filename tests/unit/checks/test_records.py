"""The verdict record: what passed, what failed and how each failure is named, from a run or a file."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd

from ci_mlops.checks import records, run_all
from ci_mlops.checks.data import check_frame
from ci_mlops.checks.gates import evaluate_gates
from ci_mlops.checks.records import Item, Verdict
from ci_mlops.checks.slices import slice_metrics


def real_verdict() -> Verdict:
    """Results of the real engines: one failing gate, a failing and a passing data check, a failing slice."""
    rows = [{"file": "metrics.json", "key": "test.acc", "head": 0.8, "base": 0.85}]
    gates = evaluate_gates({"metrics": {"test.acc": {"min": 0.9, "max_drop": 0.1}}}, {"metrics": rows})
    frame = pd.DataFrame({"age": [30, 200, 40], "actual": [1, 0, 1], "predicted": [1, 1, 1], "sex": ["f", "m", "m"]})
    data = check_frame(frame, {"rows": {"min": 1}, "columns": {"age": {"max": 120}}}, name="people.csv")
    slices = [{"file": "preds.csv", **s} for s in slice_metrics(frame, {"by": ["sex"],
                                                                        "metrics": {"accuracy": {"max_gap": 0.1}}})]
    return Verdict(gates, data, slices)


def test_passed_total_and_failures_follow_the_entries():
    verdict = real_verdict()
    assert verdict.passed is False and verdict.ok is False
    assert verdict.total == 2 + 2 + 1  # two gate rules, two data checks, one slice check
    assert [f.kind for f in verdict.failures()] == ["gate", "data", "slice"]
    assert [(i.case, i.passed) for i in verdict.items()][:3] == [("test.acc min", False), ("test.acc max_drop", True),
                                                                 ("people.csv rows", True)]
    assert Verdict().ok and Verdict().total == 0 and Verdict().failures() == []


def test_items_carry_the_name_title_message_and_config_keys():
    gate, data, slice_ = real_verdict().failures()
    assert gate == Item("gate", False, False, "test.acc", "test.acc min", "Gate failed: test.acc",
                        "test.acc min: 0.8 < min 0.9", "0.8 < min 0.9",
                        (("metrics", "test.acc", "min"), ("metrics", "test.acc")))
    assert data.name == "people.csv[age] max" and data.title == "Data check failed: people.csv"
    assert data.message == "people.csv: age: 1 row above max 120 (e.g. 200) (rows 2)"
    assert data.keys[0] == ("data", "people.csv", "columns", "age", "max") and data.keys[-1] == ("data", "people.csv")
    assert slice_.name == "slice sex accuracy" and slice_.keys == (("slices", "metrics", "accuracy", "max_gap"),
                                                                   ("slices",))


def test_the_json_document_reads_back_to_the_same_verdict():
    verdict = real_verdict()
    verdict.extra["notes"] = ["a note"]
    doc = json.loads(json.dumps(verdict.to_json()))
    assert list(doc) == ["passed", "gates", "data", "slices", "notes"]
    again = Verdict.from_json(doc)
    assert again.to_json() == doc
    assert again.failures() == verdict.failures()


def test_a_foreign_document_reads_with_neutral_values():
    doc = {"passed": False, "gates": [{"metric": "acc", "passed": False}, "junk", None, {"metric": "f1"}],
           "data": {"not": "a list"}, "slices": [{"by": "g", "checks": [{"rule": "min", "passed": True}, 3]}]}
    verdict = Verdict.from_json(doc)
    assert verdict.passed is False and verdict.total == 3
    # an entry that does not say it passed did not
    assert [(i.name, i.passed) for i in verdict.items()] == [("acc", False), ("f1", False), ("slice g min", True)]
    assert Verdict.from_json({"passed": "yes", "gates": [{"passed": False}]}).passed is False  # recomputed


def test_gates_changed_reads_the_gate_source():
    assert not Verdict().gates_changed
    assert not Verdict(extra={"gate_source": {"from": "base", "changes": []}}).gates_changed
    assert Verdict(extra={"gate_source": {"from": "base", "changes": [{"key": ["metrics"]}]}}).gates_changed


def test_run_all_is_the_document_of_the_verdict(tmp_path):
    (tmp_path / "people.csv").write_text("id,age\n1,34\n2,200\n")
    doc = run_all({"data": {"people.csv": {"columns": {"age": {"max": 120}}}}}, tmp_path, None)
    assert doc["passed"] is False and [d["check"] for d in doc["data"]] == ["max"]
    assert Verdict.from_json(doc).to_json() == doc


# The result documents are TypedDicts for the type checker only: a run-time import of one fails.
TYPE_ONLY_NAMES = {"ConfigLike", "GateResult", "DataResult", "SliceResult", "SliceCheck", "GateChange",
                   "GateSourceJson", "Metrics", "JudgedReport", "Kind"}


def runtime_imports_of_result_types(package: Path) -> list[str]:
    """``file:line`` of each import of those names from checks.records outside an ``if TYPE_CHECKING:`` block."""
    found = []
    for path in sorted(package.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "checks.records" not in text:
            continue
        tree = ast.parse(text)
        guarded = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
                   for stmt in block.body for node in ast.walk(stmt)}
        found += [f"{path.relative_to(package)}:{node.lineno}" for node in ast.walk(tree)
                  if isinstance(node, ast.ImportFrom) and node.module == "ci_mlops.checks.records"
                  and id(node) not in guarded and {alias.name for alias in node.names} & TYPE_ONLY_NAMES]
    return found


def test_the_result_types_are_imported_only_for_the_type_checker(tmp_path):
    package = Path(records.__file__).parents[1]
    assert runtime_imports_of_result_types(package) == []
    assert not TYPE_ONLY_NAMES & set(vars(records))  # none exists at run time
    (tmp_path / "late.py").write_text("def f():\n    from ci_mlops.checks.records import GateResult, Verdict\n")
    assert runtime_imports_of_result_types(tmp_path) == ["late.py:2"]
