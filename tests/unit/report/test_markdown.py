"""Markdown rendering: summary, tables, sections, plots, size limit. Pure data, no git (the gates: tests/unit/checks/test_render.py)."""

from __future__ import annotations

import pytest

from ci_mlops.config.records import MetricRule
from ci_mlops.report import render_markdown
from ci_mlops.report.diff import diff_metrics, diff_params, summarize
from ci_mlops.report.plots import build_plot, mermaid_chart

SHA_A, SHA_B = "a" * 40, "b" * 40


def report(**extra):
    metrics = diff_metrics({"metrics.json": {"test.accuracy": 0.8, "test.loss": 0.5, "n": 10, "epochs": 3}},
                           {"metrics.json": {"test.accuracy": 0.85, "test.loss": 0.55, "n": 10, "new_one": 1.0}})
    params = diff_params({"params.yaml": {"lr": 0.1, "model": "a|b"}}, {"params.yaml": {"lr": 0.2, "model": "a|b"}})
    data = {"base": {"ref": "main", "sha": SHA_A}, "head": {"ref": "workspace", "sha": SHA_B},
            "metrics": metrics, "params": params, "plots": [], "summary": summarize(metrics)}
    data.update(extra)
    return data


def test_summary_and_tables():
    text = render_markdown(report())
    first = text.splitlines()[0]
    assert "1 improved" in first and "1 regressed" in first and "1 new" in first and "1 removed" in first
    assert "`main` (`aaaaaaa`)" in first and "workspace" in first
    assert "| test.accuracy | 0.8 | 0.85 | ▲ +0.05 (+6.25%) | 🟢 improved |" in text
    assert "🔴 regressed" in text
    assert "| n |" not in text and "1 unchanged metric not shown" in text
    assert "| lr | 0.1 | 0.2 | +0.1 |" in text
    assert render_markdown(report()) == text  # deterministic


def test_show_all_includes_unchanged_and_escapes_pipes():
    text = render_markdown(report(), show_all=True)
    assert "| n | 10 | 10 |" in text
    assert "a\\|b" in text


def test_change_within_tolerance_is_unchanged_in_headline_and_table():
    metrics = diff_metrics({"m.json": {"roc_auc": 0.7685, "f1": 0.5}}, {"m.json": {"roc_auc": 0.7687, "f1": 0.6}})
    rows = {r["key"]: r for r in metrics}
    assert rows["roc_auc"]["status"] == "unchanged" and rows["roc_auc"]["unchanged_reason"] == "within tolerance"
    assert rows["f1"]["status"] == "improved" and "unchanged_reason" not in rows["f1"]
    text = render_markdown(report(metrics=metrics, summary=summarize(metrics)))
    assert "**2 metrics: 1 improved, 1 unchanged (within tolerance)**" in text
    assert "| roc_auc | 0.7685 | 0.7687 | ▲ +0.0002 (+0.03%) | unchanged (within tolerance) |" in text
    # zero tolerance counts every change; a per-metric tolerance replaces the default
    assert {r["key"]: r["status"] for r in diff_metrics({"m.json": {"roc_auc": 0.7685}}, {"m.json": {"roc_auc": 0.7687}},
                                                        None, (0.0, 0.0))} == {"roc_auc": "improved"}
    config = {"f1": MetricRule(tolerance=0.2), "roc_auc": MetricRule(tolerance_pct=0)}
    statuses = {r["key"]: r["status"] for r in diff_metrics({"m.json": {"roc_auc": 0.7685, "f1": 0.5}},
                                                           {"m.json": {"roc_auc": 0.7687, "f1": 0.6}}, config)}
    assert statuses == {"roc_auc": "improved", "f1": "unchanged"}


def test_significance_decides_instead_of_tolerance():
    from ci_mlops.report.diff import tolerance_of

    config = {"roc_auc": MetricRule(significance=0.95, tolerance_pct=50)}
    assert tolerance_of(config, "m.json", "roc_auc") is None
    rows = diff_metrics({"m.json": {"roc_auc": 0.7685}}, {"m.json": {"roc_auc": 0.7687}}, config)
    assert rows[0]["status"] == "improved" and "unchanged_reason" not in rows[0]  # the interval decides later


def test_history_header_says_how_many_commits():
    metrics = diff_metrics({"m.json": {"acc": 0.72}}, {"m.json": {"acc": 0.75}})
    metrics[0]["history"] = {"values": [0.72], "sparkline": "▄", "min": 0.72, "max": 0.72}
    text = render_markdown(report(metrics=metrics, history={"ref": "main", "commits": ["a" * 40], "requested": 50}))
    assert "| Trend (1 commit of `main`; 50 asked) |" in text
    assert "<sub>0.72</sub>" in text and "0.72–0.72" not in text and "▄" not in text
    metrics[0]["history"] = {"values": [0.7, None, 0.72], "sparkline": "▁█", "min": 0.7, "max": 0.72}
    text = render_markdown(report(metrics=metrics, history={"ref": "main", "commits": ["a", "b", "c"], "requested": 3}))
    assert "| Trend (3 commits of `main`) |" in text and "▁█ <sub>0.7–0.72 (2 of 3 commits)</sub>" in text


def test_sections_rendered_in_order_and_long_ones_fold():
    long_body = "\n".join(f"| row {i} |" for i in range(40))
    sections = [{"title": "Data checks", "markdown": "all good", "passed": True},
                {"title": "Slices", "markdown": long_body, "passed": False},
                {"title": "Notes", "markdown": "fyi", "passed": None}]
    text = render_markdown(report(sections=sections))
    assert text.index("✅ Data checks") < text.index("Slices") < text.index("#### Notes")
    assert "<details open><summary><b>❌ Slices</b></summary>" in text


def test_max_chars_drops_parts_and_says_so():
    big = [{"title": f"S{i}", "markdown": "x" * 3000, "passed": None} for i in range(30)]
    full = render_markdown(report(sections=big))
    assert len(full) > 65536
    small = render_markdown(report(sections=big), max_chars=65536)
    assert len(small) <= 65536
    assert "Left out to fit GitHub's comment size limit" in small and "sections" in small
    assert "#### Metrics" in small  # metrics survive when dropping sections is enough
    tiny = render_markdown(report(sections=big), max_chars=1000)
    assert len(tiny) <= 1000


def test_drop_explicit():
    text = render_markdown(report(), drop={"params"})
    assert "#### Params" not in text and "#### Metrics" in text


def plot_entry(base_rows, head_rows, template="linear"):
    decl = {"id": "eval/prc.csv", "files": ["eval/prc.csv"], "x": "recall", "y": "precision", "template": template}
    raw = lambda rows: {"eval/prc.csv": ("recall,precision\n" + "".join(f"{a},{b}\n" for a, b in rows)).encode()}  # noqa: E731
    return build_plot(decl, raw(base_rows) if base_rows else {}, raw(head_rows) if head_rows else {})


def test_mermaid_chart_base_and_head():
    entry = plot_entry([(0.1, 0.9), (0.5, 0.8), (0.9, 0.5)], [(0.1, 0.95), (0.5, 0.85), (0.9, 0.6)])
    assert entry["changed"]
    chart = mermaid_chart(entry, "`main`", "workspace")
    assert chart.startswith("```mermaid") and "xychart-beta" in chart
    assert chart.count("  line [") == 4  # the base as a band of three lines, the head as one
    assert '  x-axis "recall (#37;)" 10 --> 90' in chart  # a linear axis in 1% steps: no category labels
    assert "title" not in chart  # the <summary> names the plot
    palette = chart.split('"plotColorPalette": "')[1].split('"')[0].split(", ")
    assert palette[:3] == [palette[0]] * 3 and palette[3] != palette[0]  # pale band, then the dark line
    assert "precision: wide pale band: base `main`; thin line: head workspace." in chart
    text = render_markdown(report(plots=[entry]))
    assert "#### Plots" in text and "```mermaid" in text
    assert "<summary><code>eval/prc.csv</code></summary>" in text


def test_unchanged_plots_are_listed_not_drawn():
    rows = [(0.1, 0.9), (0.9, 0.5)]
    entry = plot_entry(rows, rows)
    text = render_markdown(report(plots=[entry]))
    assert "```mermaid" not in text and "Unchanged: `eval/prc.csv`" in text
    assert "```mermaid" in render_markdown(report(plots=[entry]), show_all=True)


def test_confusion_matrix_table():
    entry = plot_entry([(0, 0), (1, 1), (1, 0)], [(0, 0), (1, 1), (1, 1)], template="confusion")
    text = render_markdown(report(plots=[entry]))
    assert "Confusion matrix at head workspace" in text and "rows are `recall`, columns `precision`" in text
    assert "In brackets: the change in each count from base `main` (`aaaaaaa`)." in text
    assert "| recall \\ precision | 0 | 1 |" in text
    assert "| **1** | 0 (-1) | **2 (+1)** |" in text


def test_bad_plot_data_is_not_fatal():
    decl = {"id": "p.json", "files": ["p.json"], "x": "a", "y": "b", "template": "linear"}
    entry = build_plot(decl, {}, {"p.json": b"{broken"})
    assert "invalid JSON" in entry["error"]
    assert "Could not read plot data" in render_markdown(report(plots=[entry]))


def _lines(chart):
    return [[float(v) for v in line.split("[", 1)[1].rstrip("]").split(", ")]
            for line in chart.splitlines() if line.startswith("  line [")]


def test_uneven_numeric_x_is_resampled_onto_an_even_grid():
    # A linear x axis places a line's points evenly: an ROC curve's uneven x values are resampled.
    entry = {"id": "roc.csv", "x": "fpr", "title": None,
             "base": None, "head": {"series": {"tpr": {"x": [0, 0.01, 0.02, 0.5, 1.0], "y": [0, 0.5, 0.6, 0.9, 1.0]}}}}
    chart = mermaid_chart(entry, "main", "workspace")
    assert '  x-axis "fpr (#37;)" 0 --> 100' in chart
    (line,) = _lines(chart)
    assert len(line) == 101  # one point per axis unit: Mermaid 10 and 11+ place them alike
    assert line[1] == 0.5 and line[25] == 0.744 and line[100] == 1.0  # 0.6 + (0.23 / 0.48) * 0.3, to a thousandth of the axis


def test_whole_number_x_keeps_its_own_points():
    entry = {"id": "loss.csv", "x": "epoch", "title": None,
             "base": None, "head": {"series": {"loss": {"x": [1, 2, 3, 4], "y": [0.9, 0.5, 0.4, 0.35]}}}}
    chart = mermaid_chart(entry, "main", "workspace")
    assert '  x-axis "epoch" 1 --> 4' in chart and _lines(chart) == [[0.9, 0.5, 0.4, 0.35]]


def test_tiny_and_huge_values_are_plain_decimals_scaled_in_the_title():
    import re

    xs = list(range(0, 120001, 1000))
    entry = {"id": "lr.csv", "x": "step", "title": None,
             "base": {"series": {"lr": {"x": xs, "y": [3e-5 * (1 - i / 200) for i in range(len(xs))]}}},
             "head": {"series": {"lr": {"x": xs, "y": [1.5e-7 + 3e-5 * (1 - i / 150) for i in range(len(xs))]}}}}
    chart = mermaid_chart(entry, "main", "workspace")
    assert not re.search(r"\d[eE][-+]?\d", chart)  # Mermaid's grammar has no exponents
    assert '  x-axis "step (×10³)" 0 --> 120' in chart
    assert '"lr (×10⁻⁶)"' in chart
    head = _lines(chart)[-1]
    assert head[0] == 30.15 and min(head) > 0  # 3.015e-5 shown as 30.15 ×10⁻⁶, nothing rounded to 0
    big = {"id": "t.csv", "x": "epoch", "title": None, "base": None,
           "head": {"series": {"throughput": {"x": [1, 2, 3], "y": [118000.0, 120500.0, 121000.0]}}}}
    chart = mermaid_chart(big, "main", "workspace")
    assert '"throughput (×10³)"' in chart and _lines(chart) == [[118, 120.5, 121]]


def test_long_category_axis_is_cut_to_labels_that_fit():
    names = [f"class_{i:03d}" for i in range(60)]
    entry = {"id": "per_class.json", "x": "label", "title": None, "base": None,
             "head": {"series": {"f1": {"x": names, "y": [i / 60 for i in range(60)]}}}}
    chart = mermaid_chart(entry, "main", "workspace")
    labels = chart.split("x-axis")[1].split("[", 1)[1].split("]")[0].split(", ")
    assert 2 <= len(labels) <= 20 and labels[0] == '"class_000"' and labels[-1] == '"class_059"'
    assert f"x: {len(labels)} of 60 values shown, evenly spaced." in chart


def test_dates_become_a_numeric_axis():
    import datetime

    days = [(datetime.date(2026, 1, 1) + datetime.timedelta(days=i)).isoformat() for i in range(365)]
    entry = {"id": "daily.csv", "x": "date", "title": None, "base": None,
             "head": {"series": {"auc": {"x": days, "y": [0.7 + i / 3650 for i in range(365)]}}}}
    chart = mermaid_chart(entry, "main", "workspace")
    assert '  x-axis "date: weeks since 2026-01-01" 0 --> 52' in chart and len(_lines(chart)[0]) == 53


def test_several_series_get_their_own_hues_never_red_or_green():
    from ci_mlops.report.mermaid import HUES, MAX_SERIES

    cols = [f"m{i}" for i in range(6)]
    series = {c: {"x": [0, 1, 2], "y": [i, i + 1, i + 2]} for i, c in enumerate(cols)}
    entry = {"id": "many.csv", "x": "step", "title": None, "base": {"series": series}, "head": {"series": series}}
    chart = mermaid_chart(entry, "main", "workspace")
    palette = chart.split('"plotColorPalette": "')[1].split('"')[0].split(", ")
    assert len(palette) == MAX_SERIES * 4 and len(set(palette)) == MAX_SERIES * 2
    assert {name for name, _, _ in HUES}.isdisjoint({"red", "green"})
    assert "blue: m0, orange: m1, purple: m2, gold: m3." in chart
    assert "2 more series not drawn: `m4`, `m5`." in chart


def test_titles_and_labels_with_markup_are_escaped_for_mermaid():
    entry = {"id": "p.csv", "x": 'a "#1" <b>x</b> 50%', "title": None, "base": None,
             "head": {"series": {"y": {"x": ["#1", "<b>b</b>"], "y": [1, 2]}}}}
    chart = mermaid_chart(entry, "main", "workspace")
    assert '"a #quot;#35;1#quot; #lt;b#gt;x#lt;/b#gt; 50#37;"' in chart
    assert '["#35;1", "#lt;b#gt;b#lt;/b#gt;"]' in chart


def test_infinite_change_is_shown_as_infinity_not_nan():
    import math

    from ci_mlops.report import to_json

    metrics = diff_metrics({"metrics.json": {"loss": 0.5, "acc": 0.9, "gap": 1.0}},
                           {"metrics.json": {"loss": math.inf, "acc": -math.inf, "gap": math.nan}})
    data = report(metrics=metrics, summary=summarize(metrics))
    text = render_markdown(data)
    assert "| loss | 0.5 | ∞ | ▲ ∞ | 🔵 changed |" in text
    assert "| acc | 0.9 | -∞ | ▼ -∞ | 🔵 changed |" in text
    assert "| gap | 1 | NaN | NaN |" in text  # a NaN change stays NaN
    rows = {r["key"]: r for r in __import__("json").loads(to_json(data))["metrics"]}
    assert rows["loss"]["change"] == "Infinity" and rows["acc"]["change"] == "-Infinity"


# -- a confusion matrix with thousands of labels -----------------------------------------------------------


@pytest.mark.parametrize("labels,shape", [(25, "diagonal"), (3000, "diagonal"), (3000, "scattered"), (400, "one-sided")])
def test_confusion_table_caps_the_classes_shown_and_says_so(labels, shape):
    import resource

    from ci_mlops.report.plots import MAX_CLASSES, confusion_table

    if shape == "diagonal":
        counts = [[f"c{i}", f"c{i}", 1 + (i % 7)] for i in range(labels)]
    elif shape == "scattered":
        counts = [[f"c{i}", f"c{(i * 7919) % labels}", 1] for i in range(labels)]
    else:  # every actual label predicted as one class
        counts = [[f"c{i}", "other", 1] for i in range(labels)]
    counts.append(["c0", "c0", 10_000])  # the most frequent class must be among those shown
    side = {"x_values": sorted({a for a, _, _ in counts}), "y_values": sorted({b for _, b, _ in counts}),
            "counts": counts}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    table = confusion_table({"x": "actual", "y": "predicted", "head": side, "base": side})
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    rows = [line for line in table.splitlines() if line.startswith("| **")]
    header = table.splitlines()[0]
    assert len(rows) <= MAX_CLASSES and header.count("|") - 2 <= MAX_CLASSES
    assert "| **c0** |" in table
    assert f"most frequent of {len({a for a, _, _ in counts} | {b for _, b, _ in counts})} classes" in table
    assert len(table) < 20_000 and grown_kib < 50_000  # not labels**2 cells


def test_a_400kb_confusion_file_with_20000_labels_renders_small():
    from ci_mlops.report.plots import render_plot

    csv = "actual,predicted\n" + "".join(f"label{i},label{(i * 31) % 20000}\n" for i in range(20000))
    assert len(csv) > 350_000
    decl = {"id": "cm.csv", "files": ["cm.csv"], "template": "confusion", "x": "actual", "y": "predicted"}
    entry = build_plot(decl, {}, {"cm.csv": csv.encode()})
    text = render_plot(entry, "main", "head")
    assert "most frequent of 20000 classes" in text and len(text) < 20_000
