"""Markdown rendering: summary, tables, gates, sections, plots, size limit. Pure data, no git."""

from __future__ import annotations

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


def test_gates_verdict_on_top():
    gates = [
        {"metric": "test.accuracy", "file": None, "rule": "min", "bound": 0.9, "value": 0.85, "base": 0.8,
         "passed": False, "message": "0.85 < 0.9"},
        {"metric": "test.loss", "file": "metrics.json", "rule": "max_drop", "bound": 0.1, "value": 0.55, "base": 0.5,
         "passed": True, "message": "ok"},
    ]
    text = render_markdown(report(gates=gates))
    assert text.startswith("**❌ 1 of 2 quality gates failed:** `test.accuracy`")
    assert "#### Quality gates" in text and "| ❌ | test.accuracy | min | 0.85 | 0.8 | 0.9 | 0.85 < 0.9 |" in text
    ok = render_markdown(report(gates=[dict(gates[1])]))
    assert ok.startswith("**✅ All 1 quality gates passed.**")


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
    assert chart.count("  line [") == 2
    assert '"0.1", "0.5", "0.9"' in chart
    assert "grey: precision at `main`" in chart
    text = render_markdown(report(plots=[entry]))
    assert "#### Plots" in text and "```mermaid" in text


def test_unchanged_plots_are_listed_not_drawn():
    rows = [(0.1, 0.9), (0.9, 0.5)]
    entry = plot_entry(rows, rows)
    text = render_markdown(report(plots=[entry]))
    assert "```mermaid" not in text and "Unchanged: `eval/prc.csv`" in text
    assert "```mermaid" in render_markdown(report(plots=[entry]), show_all=True)


def test_confusion_matrix_table():
    entry = plot_entry([(0, 0), (1, 1), (1, 0)], [(0, 0), (1, 1), (1, 1)], template="confusion")
    text = render_markdown(report(plots=[entry]))
    assert "| recall \\ precision | 0 | 1 |" in text
    assert "| **1** | 0 (-1) | **2 (+1)** |" in text


def test_bad_plot_data_is_not_fatal():
    decl = {"id": "p.json", "files": ["p.json"], "x": "a", "y": "b", "template": "linear"}
    entry = build_plot(decl, {}, {"p.json": b"{broken"})
    assert "invalid JSON" in entry["error"]
    assert "Could not read plot data" in render_markdown(report(plots=[entry]))


def test_uneven_numeric_x_is_resampled_onto_an_even_grid():
    # xychart-beta spaces x categories evenly: an ROC curve's uneven x values would bend it.
    from ci_mlops.report.plots import mermaid_chart

    entry = {"id": "roc.csv", "x": "fpr", "title": None,
             "base": {"series": {"tpr": {"x": [0, 0.01, 0.02, 0.5, 1.0], "y": [0, 0.5, 0.6, 0.9, 1.0]}}},
             "head": None}
    chart = mermaid_chart(entry, "main", "workspace")  # 5 points: an even step of 0.25
    assert '  x-axis "fpr" ["0", "0.25", "0.5", "0.75", "1"]' in chart
    assert "  line [0, 0.7438, 0.9, 0.95, 1]" in chart  # 0.6 + (0.23 / 0.48) * 0.3, to 4 digits


def test_evenly_spaced_numeric_x_is_kept():
    from ci_mlops.report.plots import mermaid_chart

    entry = {"id": "loss.csv", "x": "epoch", "title": None,
             "base": {"series": {"loss": {"x": [1, 2, 3, 4], "y": [0.9, 0.5, 0.4, 0.35]}}}, "head": None}
    assert '  x-axis "epoch" ["1", "2", "3", "4"]' in mermaid_chart(entry, "main", "workspace")



def test_resampled_grid_has_round_labels():
    from ci_mlops.report.plots import MAX_POINTS, _numeric_grid

    xs = sorted({round(i ** 2 / 2500, 4) for i in range(51)})  # 51 uneven points in [0, 1]
    grid = _numeric_grid(xs)
    assert len(grid) <= MAX_POINTS + 1 and grid[0] == 0 and grid[-1] == 1
    assert [round(g, 10) for g in grid[:3]] == [0, 0.05, 0.1]  # step 0.05, not 1/39


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
