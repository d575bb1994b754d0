"""One renderer: the check log, the job summary and the check run's summary say the same thing."""

from __future__ import annotations

import json

from ci_mlops.checks import render
from ci_mlops.checks.records import Verdict
from ci_mlops.github.status import summary

GATE = {"metric": "test.acc", "file": "metrics.json", "key": "test.acc", "rule": "min", "bound": 0.9,
        "value": 0.8, "base": 0.85, "passed": False, "skipped": False, "message": "0.8 < min 0.9"}
DATA = {"file": "people.csv", "check": "max", "column": "age", "passed": False, "bound": 120, "value": 200,
        "failing_rows": 1, "examples": [2], "message": "age: 1 row above max 120 (e.g. 200)"}
SLICE = {"file": "preds.csv", "by": "sex", "passed": True, "groups": [{"group": "f", "support": 3, "accuracy": 1.0}],
         "checks": [{"metric": "accuracy", "rule": "min", "bound": 0.5, "value": 1.0, "group": None, "passed": True,
                     "message": "accuracy >= 0.5 in every sex group"}]}


def test_the_check_run_summary_is_the_job_summary():
    verdict = Verdict([GATE], [DATA], [SLICE])
    doc = json.loads(json.dumps(verdict.to_json()))
    markdown = render.summary_markdown(verdict)
    assert summary(doc, "ignored") == markdown
    assert "**❌ 2 of 3 checks failed**" in markdown
    assert "| ❌ | test.acc | min | 0.9 | 0.8 | 0.85 | 0.8 < min 0.9 |" in markdown
    assert "### Data checks" in markdown and "| max | age | 1 | 2 |" in markdown
    assert "### Slices" in markdown and "From `preds.csv`." in markdown


def test_text_has_one_line_per_gate_and_check_and_the_count():
    text = render.text(Verdict([GATE], [DATA], [SLICE]), {"base": {"ref": "main", "sha": "a" * 40},
                                                          "head": {"sha": "b" * 40}})
    lines = text.splitlines()
    assert lines[0] == "Metric gates (main aaaaaaa -> bbbbbbbbbbbb)"
    assert lines[1] == "  FAIL  test.acc  min           0.8 < min 0.9"
    assert "    FAIL  age: max                  1 row above max 120 (e.g. 200) [rows 2]" in lines
    assert "Slices by sex (preds.csv)" in lines
    assert lines[-2:] == ["(row numbers are 1-based data rows; the header is not counted)", "2 of 3 checks failed."]


def test_text_when_nothing_is_configured():
    assert render.text(Verdict(), None).startswith("Nothing to check: .ci-mlops.yml has no metrics")
    assert render.text(Verdict(extra={"config": None}), None).startswith("Nothing checked: there is no .ci-mlops.yml")


def test_text_keeps_a_newline_in_a_value_inside_its_line():
    hostile = {**DATA, "passed": False, "message": "age: bad\n::error::forged"}
    text = render.text(Verdict([], [hostile], []), None)
    assert not any(line.startswith("::error") for line in text.splitlines())


def test_marks():
    assert [render.mark(x) for x in ({"passed": True, "skipped": True}, {"passed": True, "warning": True},
                                     {"passed": True}, {"passed": False})] == ["SKIP", "WARN", "PASS", "FAIL"]
