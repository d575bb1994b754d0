"""One locator: every failed gate or check lands on the config line that declared it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_mlops.checks.locate import Location, Locator, config_file, project_root
from ci_mlops.checks.records import Verdict
from ci_mlops.config import parse_config

CONFIG = """\
metrics:
  test.accuracy:
    min: 0.9
  metrics.json:test.loss: {}
data:
  data/a.csv:
    rows: {min: 10}
    columns:
      age:
        max: 120
slices:
  file: preds.csv
  by: [sex]
  min_support: 30
  metrics:
    accuracy:
      max_gap: 0.05
"""


def gate(key: str, rule: str, metric: str | None = None) -> dict:
    return {"metric": metric or key.rpartition(":")[2], "file": "metrics.json", "key": key, "rule": rule,
            "bound": 0.9, "value": 0.8, "base": None, "passed": False, "skipped": False, "message": "bad"}


def data(check: str, column: str | None = None, file: str = "data/a.csv") -> dict:
    return {"file": file, "check": check, "column": column, "passed": False, "bound": None, "value": None,
            "failing_rows": 2, "examples": [3, 9], "message": "bad"}


def slice_check(metric: str | None, rule: str) -> dict:
    return {"by": "sex", "passed": False, "groups": [], "file": "preds.csv",
            "checks": [{"metric": metric, "rule": rule, "bound": 1, "value": 2, "group": None, "passed": False,
                        "message": "bad"}]}


def lines_of(verdict: Verdict, locator: Locator) -> list[int | None]:
    return [locator.locate(f).line for f in verdict.failures()]


@pytest.fixture
def locator(tmp_path: Path) -> Locator:
    path = tmp_path / ".ci-mlops.yml"
    path.write_text(CONFIG)
    return Locator.for_config(parse_config(CONFIG, path), tmp_path)


def test_each_failure_is_on_its_rule_then_its_gate(locator: Locator):
    verdict = Verdict(gates=[gate("test.accuracy", "min"), gate("metrics.json:test.loss", "required"),
                             gate("test.f1", "min")])
    # the rule's line; a bare required gate on its key; a gate the file does not have: no line
    assert lines_of(verdict, locator) == [3, 4, None]
    assert {locator.locate(f).path for f in verdict.failures()} == {".ci-mlops.yml"}


def test_a_failed_data_check_is_on_its_config_line_never_the_data_file(locator: Locator):
    verdict = Verdict(data=[data("max", "age"), data("rows"), data("load"), data("dtype", "age"),
                            data("rows", file="other.csv")])
    # the rule's line; a file that could not be read on its entry; a rule not written: its column
    assert lines_of(verdict, locator) == [10, 7, 6, 9, None]
    assert all(locator.locate(f).path == ".ci-mlops.yml" for f in verdict.failures())


def test_slice_checks_are_on_their_metric_rule_or_section(locator: Locator):
    verdict = Verdict(slices=[slice_check("accuracy", "max_gap"), slice_check(None, "min_support"),
                              slice_check(None, "rows"), slice_check("f1", "min")])
    assert lines_of(verdict, locator) == [17, 14, 11, 11]


def test_gate_lines_are_not_used_when_the_pr_changed_the_gates(tmp_path: Path):
    path = tmp_path / ".ci-mlops.yml"
    config = parse_config(CONFIG + "report:\n  history: 5\n", path)
    locator = Locator.for_config(config, tmp_path, gates_changed=True)
    verdict = Verdict(gates=[gate("test.accuracy", "min")], data=[data("rows")], slices=[slice_check(None, "rows")])
    assert [locator.locate(f) for f in verdict.failures()] == [Location(".ci-mlops.yml")] * 3
    assert locator.line("metrics", "test.accuracy", "min") is None and locator.line("report", "history") == 19


def test_config_file_is_named_from_the_repository_root(tmp_path: Path):
    (tmp_path / "ci").mkdir()
    path = tmp_path / "ci" / "gates.yml"
    assert config_file(parse_config(CONFIG, path), tmp_path) == "ci/gates.yml"
    outside = tmp_path.parent / "elsewhere.yml"
    assert config_file(parse_config(CONFIG, outside), tmp_path) == str(outside)


def test_project_root_is_the_git_root_else_the_folder(git_repo: Path, tmp_path: Path, monkeypatch):
    (git_repo / "sub").mkdir()
    assert project_root(str(git_repo / "sub" / "gates.yml")) == git_repo
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.chdir(plain)
    assert project_root(None) == plain


def test_the_junit_report_places_checks_with_the_same_locator(locator: Locator):
    from xml.etree import ElementTree as ET

    from ci_mlops.forge.junit import junit_xml

    verdict = Verdict(gates=[gate("test.accuracy", "min")], data=[data("max", "age")],
                      slices=[slice_check("accuracy", "max_gap")])
    suite = ET.fromstring(junit_xml(verdict.to_json(), locator.path, locator.line)).find("testsuite")
    where = [case.find("failure").get("message").rsplit("(", 1)[1] for case in suite.iter("testcase")]
    assert where == [f".ci-mlops.yml:{locator.locate(i).line})" for i in verdict.items()] == \
        [".ci-mlops.yml:3)", ".ci-mlops.yml:10)", ".ci-mlops.yml:17)"]
