"""One renderer: the check log, the job summary and the check run's summary say the same thing."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ci_mlops.checks import render
from ci_mlops.checks.records import Verdict
from ci_mlops.github.status import summary
from ci_mlops.report.diff import diff_metrics, diff_params, summarize

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


def test_text_names_a_base_typed_as_a_sha_prefix_once():
    text = render.text(Verdict([GATE], [], []), {"base": {"ref": "c0bbba2", "sha": "c0bbba2" + "9" * 33},
                                                 "head": {"ref": "workspace", "sha": "b" * 40}})
    assert text.splitlines()[0] == "Metric gates (c0bbba2 -> workspace bbbbbbb)"


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


# -- the PR report's gates: verdict on top, table after the notes -------------------------------


def report(**extra):
    metrics = diff_metrics({"metrics.json": {"test.accuracy": 0.8, "test.loss": 0.5, "n": 10, "epochs": 3}},
                           {"metrics.json": {"test.accuracy": 0.85, "test.loss": 0.55, "n": 10, "new_one": 1.0}})
    params = diff_params({"params.yaml": {"lr": 0.1, "model": "a|b"}}, {"params.yaml": {"lr": 0.2, "model": "a|b"}})
    data = {"base": {"ref": "main", "sha": "a" * 40}, "head": {"ref": "workspace", "sha": "b" * 40},
            "metrics": metrics, "params": params, "plots": [], "summary": summarize(metrics)}
    data.update(extra)
    return data


def test_gates_verdict_on_top():
    gates = [
        {"metric": "test.loss", "file": "metrics.json", "rule": "max_drop", "bound": 0.1, "value": 0.55, "base": 0.5,
         "passed": True, "message": "rose 0.05: 0.5 -> 0.55 (within max_drop 0.1)"},
        {"metric": "test.accuracy", "file": "metrics.json", "rule": "min", "bound": 0.9, "value": 0.85, "base": 0.8,
         "passed": False, "message": "0.85 < min 0.9"},
    ]
    text = render.report_markdown(report(gates=gates))
    assert text.startswith("**❌ 1 of 2 quality gates failed:** `test.accuracy`")
    table = text[text.index("#### Quality gates"):].split("\n\n")[1].splitlines()
    assert text.count("metrics.json") == 2  # the gates heading and the metrics heading, not every row
    assert "#### Quality gates (`metrics.json`)" in text
    assert table[0] == "| Verdict | Metric | Rule | Bound | Result |"  # every column has a header
    assert table[2] == "| ❌ fail | test.accuracy | min | 0.9 | 0.85 |"  # the failing gate comes first
    assert table[3] == "| ✅ pass | test.loss | max_drop | 0.1 | 0.5 → 0.55: rose 0.05 |"
    ok = render.report_markdown(report(gates=[dict(gates[0])]))
    assert ok.startswith("**✅ All 1 quality gates passed.**")


def test_gates_table_percent_bound_arrow_and_files():
    from ci_mlops.checks.gates import evaluate_gates

    metrics = diff_metrics({"a.json": {"precision": 0.6033, "acc": 0.9}, "b.json": {"acc": 0.5}},
                           {"a.json": {"precision": 0.5522, "acc": 0.91}, "b.json": {"acc": 0.5}})
    data = report(metrics=metrics, summary=summarize(metrics))
    data["gates"] = evaluate_gates({"metrics": {"precision": {"max_drop_pct": 5, "direction": "higher"},
                                                "a.json:acc": {"min": 0.5}, "b.json:acc": {"min": 0.4}}}, data)
    text = render.report_markdown(data)
    rows = [line for line in text.splitlines() if line.startswith("| ")][:4]
    assert rows[1] == "| ❌ fail | precision | max_drop_pct | 5% | 0.6033 → 0.5522: dropped 8.47% |"
    assert "| a.json:acc | min |" in rows[2] and "| b.json:acc | min |" in rows[3]  # a key in two files
    assert "->" not in text.split("#### Metrics")[0]


def test_gates_table_interval_gate_is_one_line_after_failures():
    gates = [{"metric": "acc", "file": "m.json", "rule": "min", "bound": 0.5, "value": 0.71, "base": 0.72,
              "passed": True, "message": "0.71 >= min 0.5"},
             {"metric": "acc", "file": "m.json", "rule": "max_drop", "bound": 0.02, "value": 0.7107, "base": 0.72,
              "passed": True, "warning": True, "verdict": "inconclusive",
              "message": "inconclusive: worsening −0.01867 … +0.03733 at 95% confidence straddles max_drop 0.02 "
                         "(significance.inconclusive: warn)"}]
    rows = [line for line in render.report_markdown(report(gates=gates)).splitlines() if line.startswith("| ")][1:3]
    assert rows == ["| ⚠️ inconclusive | acc | max_drop | 0.02 | 0.72 → 0.7107: worsening −0.01867 … +0.03733 (95% CI) |",
                    "| ✅ pass | acc | min | 0.5 | 0.71 |"]


def test_report_gate_parts_come_from_the_caller():
    from ci_mlops.report import render_markdown

    gates = [dict(GATE, metric="test.accuracy")]
    plain = render_markdown(report(gates=gates, notes=["a DVC note"]))
    assert "quality gates" not in plain.lower()  # the report layer knows no gates
    text = render.report_markdown(report(notes=["a DVC note"]), gates=gates)
    assert text.startswith("**❌ 1 of 1 quality gates failed:** `test.accuracy`\n\n**")
    assert text.index("a DVC note") < text.index("#### Quality gates") < text.index("#### Metrics")
    assert render.report_markdown(report(), gates=[]).startswith("**✅ No quality gates configured.**")
    assert render.report_markdown(report()) == render_markdown(report())  # no gates at all: no gate parts
    whole = render.report_markdown(report(gates=gates))
    small = render.report_markdown(report(gates=gates), max_chars=len(whole) - 1)
    assert len(small) < len(whole) and "Left out" in small and "#### Params" not in small
    assert "#### Quality gates" in small and "| ❌ fail | test.accuracy |" in small  # gates are never left out


def test_status_verdict_names_what_failed_and_each_forge_clips_it():
    from ci_mlops.github.status import verdict

    many = [dict(GATE, metric=f"metric_number_{i}", key=f"metric_number_{i}") for i in range(12)]
    state, text = render.status_verdict({"passed": False, "gates": many})
    assert state == "failure" and text.startswith("12 of 12 failed: metric_number_0, metric_number_1")
    assert text.endswith("metric_number_11") and len(text) > 140  # the whole list: a forge clips it
    assert verdict({"passed": False, "gates": many}) == ("failure", text[:139].rstrip() + "…")  # GitHub's 140
    passing = dict(GATE, passed=True)
    assert render.status_verdict({"passed": True, "gates": [passing], "data": [dict(DATA, passed=True)]}) == \
        ("success", "All 2 quality gates and checks passed")
    assert render.status_verdict({"passed": True}) == ("success", "No gates configured")
    assert render.status_verdict({"passed": False}) == ("failure", "Checks failed")  # a document that says so


def test_card_gates_heading_says_the_verdict_and_cells_are_escaped():
    passing = dict(GATE, passed=True, value=0.93, message="0.93 >= min 0.9")
    failing = dict(GATE, metric="a|b", rule="max_drop", bound=None, value=1 / 3, message="x | y <b>")
    lines = render.card_gates([passing, failing])
    assert lines[:2] == ["### Quality gates: 1 of 2 gates failed", ""]
    assert lines[2:] == ["|  | Metric | Rule | Bound | Value | Verdict |", "|---|---|---|---|---|---|",
                         "| ✅ | `test.acc` | min | 0.9 | 0.93 | 0.93 >= min 0.9 |",
                         "| ❌ | `a\\|b` | max_drop | — | 0.333333 | x \\| y &lt;b> |"]
    assert render.card_gates([passing])[0] == "### Quality gates: all gates passed"


def test_gate_line_of_a_release_log():
    assert render.gate_line(GATE) == "gate FAIL: test.acc min: 0.8 < min 0.9"
    assert render.gate_line(dict(GATE, passed=True, message="0.95 >= min 0.9")) == "gate pass: test.acc min: 0.95 >= min 0.9"


def test_gates_cell_of_a_sweep_row():
    assert render.gates_cell([]) == "–"
    assert render.gates_cell([dict(GATE, passed=True)] * 2) == "✅ 2/2"
    failed = [dict(GATE, metric=f"m{i}|x") for i in range(5)]
    assert render.gates_cell(failed) == "❌ m0\\|x min, m1\\|x min, m2\\|x min +2"


def test_gates_verdict_names_a_metric_with_two_failed_rules_once():
    gates = [{"metric": "dice_mean", "rule": rule, "passed": False, "message": "x"} for rule in ("min", "max_drop")]
    assert render.gate_verdict([*gates, {"metric": "loss", "rule": "max", "passed": False}]) == (
        "**❌ 3 of 3 quality gates failed:** `dice_mean`, `loss`")


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["dropped ", "rose ", "worsening ", " confidence", "0.1", ": ", " -> ", " (within ",
                                 " (over ", "max_drop ", "5%", ")", " … ", " at ", "95%", "no worsening", "\n", "x"]),
                max_size=10).map("".join))
def test_a_drop_message_is_matched_only_where_its_words_are(message):
    """_gate_result tries each message pattern only when the words it needs are there: that must lose no match."""
    assert re.match(render._DROP_MESSAGE, message) is None or message.startswith(("dropped ", "rose "))
    assert re.search(render._INTERVAL_MESSAGE, message) is None or ("worsening " in message and " confidence" in message)


@pytest.mark.parametrize(("value", "cell"), [("a|b", r"a\|b"), ("<b>", "&lt;b>"), ("x*y*", r"x\*y\*")])
def test_a_gates_result_cell_is_escaped_once(value, cell):
    """A value in the Result column is escaped as a table cell once: escaping it twice showed its backslashes."""
    gate = {"metric": "model", "rule": "min", "bound": 1.0, "value": value, "passed": False, "message": "not a number"}
    row = render.gates_table([gate]).splitlines()[-1]
    assert row.split(" | ")[-1].rstrip(" |") == cell


def test_a_gates_message_cell_is_escaped_once():
    gate = {"metric": "acc", "rule": "required", "passed": False, "message": "missing in a|b.json -> head"}
    assert render.gates_table([gate]).splitlines()[-1].endswith(r"missing in a\|b.json → head |")
