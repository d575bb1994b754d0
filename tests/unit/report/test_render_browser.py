"""The PR comment as reviewers see it: GFM + Mermaid (pinned, from npm, loaded from disk) in headless Chromium.

Every report below is rendered with Mermaid 10.9 and 12.3 (GitHub has run both lines) and
the test asserts that no Mermaid block fails to parse and that no text in a chart overlaps
other text or leaves the chart. Screenshots of each page and of each chart are written to
tests/support/render/screenshots/ (or $CI_MLOPS_SCREENSHOTS) for a person to look at.

Needs Debian's ``chromium`` and ``npm ci --prefix tests/support/render``; .ci/setup installs both.
Without them the tests skip, saying what is missing.
"""

from __future__ import annotations

import datetime
import math
import os
import re
import warnings
from pathlib import Path

import pytest

from ci_mlops.report import render_markdown
from ci_mlops.report.diff import diff_metrics, diff_params, summarize
from ci_mlops.report.mermaid import mermaid_chart
from tests.support.browser import Browser, comment_page, find_chromium, missing_parts, render_comment

ROOT = Path(__file__).resolve().parents[3]
SHOTS = Path(os.environ.get("CI_MLOPS_SCREENSHOTS") or ROOT / "tests" / "support" / "render" / "screenshots")
VERSIONS = ("10", "12")

_missing = missing_parts()
if _missing:
    warnings.warn("browser rendering tests SKIPPED: missing " + "; ".join(_missing), stacklevel=1)
pytestmark = pytest.mark.skipif(bool(_missing), reason="SKIPPED, cannot render in a browser: missing "
                                + "; ".join(_missing) + " (bash .ci/setup installs them)")


@pytest.fixture(scope="module")
def browser():
    with Browser(find_chromium()) as b:
        yield b


# -- reports ---------------------------------------------------------------------------------

SHA_A, SHA_B = "1a2b3c4" + "0" * 33, "5d6e7f8" + "0" * 33


def _report(metrics=None, params=None, plots=(), **extra) -> dict:
    metrics = metrics if metrics is not None else diff_metrics({"metrics.json": {"acc": 0.8}}, {"metrics.json": {"acc": 0.82}})
    data = {"base": {"ref": "main", "sha": SHA_A}, "head": {"ref": "workspace", "sha": SHA_B},
            "metrics": metrics, "params": params or [], "plots": list(plots), "summary": summarize(metrics)}
    data.update(extra)
    return data


def _plot(plot_id: str, x: str, base: dict | None, head: dict | None, template: str = "linear") -> dict:
    return {"id": plot_id, "files": [plot_id], "template": template, "title": None, "x": x, "y": None,
            "base": {"series": base} if base is not None else None,
            "head": {"series": head} if head is not None else None, "changed": True}


def demo_comment() -> str:
    """The README's example comment, which tests/e2e/test_demo.py keeps equal to the demo's output."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- BEGIN demo-comment[^>]*-->\n(.*?)<!-- END demo-comment -->", readme, re.S)
    assert match, "README.md has no demo-comment block"
    return match.group(1).strip().strip("-").strip() + "\n"


def tiny_and_huge() -> str:
    steps = list(range(0, 120001, 2000))
    lr_base = [3e-5 * 0.5 ** (s / 40000) for s in steps]
    lr_head = [2e-5 * 0.5 ** (s / 30000) + 1e-8 for s in steps]
    thr = {"x": [1, 2, 3, 4, 5], "y": [118000.0, 120500.0, 121000.0, 119800.0, 123456.0]}
    metrics = diff_metrics({"m.json": {"lr_final": 3e-7, "throughput": 1.18e5, "loss": 1.2e-9}},
                           {"m.json": {"lr_final": 1.5e-8, "throughput": 1.23e5, "loss": 3.4e-10}})
    plots = [_plot("lr.csv", "step", {"lr": {"x": steps, "y": lr_base}}, {"lr": {"x": steps, "y": lr_head}}),
             _plot("throughput.csv", "epoch", {"throughput": thr},
                   {"throughput": {"x": thr["x"], "y": [v * 1.02 for v in thr["y"]]}}),
             _plot("grad.csv", "step", {"grad_norm": {"x": [0, 1, 2], "y": [1e-12, 5e-12, 2e-12]}},
                   {"grad_norm": {"x": [0, 1, 2], "y": [2e-12, 4e-12, 3e-12]}})]
    return render_markdown(_report(metrics, plots=plots))


def long_axes() -> str:
    classes = [f"class_{i:03d}" for i in range(60)]
    days = [(datetime.date(2026, 1, 1) + datetime.timedelta(days=i)).isoformat() for i in range(365)]
    fpr = sorted({round((i / 499) ** 3, 6) for i in range(500)})
    plots = [
        _plot("per_class.json", "label", {"f1": {"x": classes, "y": [0.5 + i / 200 for i in range(60)]}},
              {"f1": {"x": classes, "y": [0.52 + i / 210 for i in range(60)]}}),
        _plot("daily.csv", "date", {"auc": {"x": days, "y": [0.7 + math.sin(i / 20) / 30 for i in range(365)]}},
              {"auc": {"x": days, "y": [0.71 + math.sin(i / 20) / 30 for i in range(365)]}}),
        _plot("roc.csv", "fpr", {"tpr": {"x": fpr, "y": [f ** 0.3 for f in fpr]}},
              {"tpr": {"x": fpr, "y": [f ** 0.28 for f in fpr]}}),
        _plot("long_names.csv", "model", None, {"score": {"x": ["a-very-long-model-name-v1", "a-very-long-model-name-v2",
                                                                "another-quite-long-name"], "y": [1, 2, 3]}}),
    ]
    return render_markdown(_report(plots=plots))


def many_series() -> str:
    cols = ["train_loss", "val_loss", "test_loss", "train_acc", "val_acc", "test_acc"]
    epochs = list(range(1, 31))
    base = {c: {"x": epochs, "y": [1 / (e + i) + i / 10 for e in epochs]} for i, c in enumerate(cols)}
    head = {c: {"x": epochs, "y": [1 / (e + i + 1) + i / 10 for e in epochs]} for i, c in enumerate(cols)}
    return render_markdown(_report(plots=[_plot("dvclive/plots/metrics.tsv", "epoch", base, head)]))


def collapsed_details() -> str:
    """Long metrics and params tables and a long section with a chart in it: all folded."""
    keys = {f"class_{i}.f1": 0.5 + i / 100 for i in range(20)}
    metrics = diff_metrics({"m.json": keys}, {"m.json": {k: v + 0.03 for k, v in keys.items()}})
    params = diff_params({"params.yaml": {f"p{i}": i for i in range(15)}}, {"params.yaml": {f"p{i}": i + 1 for i in range(15)}})
    chart = mermaid_chart(_plot("drift.csv", "bin", {"share": {"x": list(range(10)), "y": [i % 4 for i in range(10)]}},
                                {"share": {"x": list(range(10)), "y": [(i + 1) % 4 for i in range(10)]}}),
                          "`main`", "workspace")
    body = "Distribution of `amount` at base and head:\n\n" + chart + "\n\n" + "\n".join(
        f"| row {i} | {i} |" for i in range(30))
    return render_markdown(_report(metrics, params, sections=[{"title": "Drift", "markdown": body, "passed": True}]))


def hostile_labels() -> str:
    plots = [_plot("p#1.csv", 'rate "#1" <b>bold</b> 50%',
                   {"y <i>": {"x": ["#1", "<b>b</b>", "a%%b", "`x`"], "y": [1, 2, 3, 4]}},
                   {"y <i>": {"x": ["#1", "<b>b</b>", "a%%b", "`x`"], "y": [2, 2, 3, 5]}})]
    return render_markdown(_report(plots=plots))


CASES = {"demo": demo_comment, "tiny-huge": tiny_and_huge, "long-axes": long_axes, "many-series": many_series,
         "collapsed-details": collapsed_details, "hostile-labels": hostile_labels}


# -- tests -----------------------------------------------------------------------------------


def _check(result: dict, markdown: str) -> None:
    failed = [b for b in result["blocks"] if not b["ok"]]
    assert not failed, "Mermaid could not parse: " + "; ".join(f"{b['error'][:200]}\n{b['text'][:300]}" for b in failed)
    assert result["charts"] == markdown.count("```mermaid"), result
    assert result["texts"] > 0
    assert result["problems"] == [], result["problems"][:10]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_comment_renders_with_no_parse_error_and_no_overlap(browser, tmp_path, case, version):
    markdown = CASES[case]()
    result = render_comment(browser, markdown, tmp_path, mermaid=version,
                            screenshot=SHOTS / f"{case}-mermaid{version}.png")
    _check(result, markdown)
    if case == "collapsed-details":  # folded on first sight, charts fine once opened
        assert result["closed"] == 3 and result["charts"] == 1
    if case == "hostile-labels":  # shown as written: no entity, tag or directive got through
        assert {"#1", "<b>b</b>", "a%%b", "`x`", 'rate "#1" <b>bold</b> 50%', "y <i>"} <= set(result["labels"])
    if case == "tiny-huge":
        assert {"lr (×10⁻⁶)", "step (×10³)", "throughput (×10³)", "grad_norm (×10⁻¹²)"} <= set(result["labels"])


@pytest.mark.parametrize("case", ["demo", "tiny-huge", "many-series"])
def test_dark_theme(browser, tmp_path, case):
    markdown = CASES[case]()
    result = render_comment(browser, markdown, tmp_path, mermaid="12", theme="dark",
                            screenshot=SHOTS / f"{case}-dark.png")
    _check(result, markdown)


def broken_charts() -> str:
    """What the old renderer wrote: 39 category labels on one axis, and an exponent Mermaid cannot parse."""
    labels = ", ".join(f'"{0.05 + i * 0.025:.3f}"' for i in range(39))
    return ("```mermaid\nxychart-beta\n  x-axis \"recall\" [" + labels + "]\n  y-axis \"p\" 0 --> 1\n"
            "  line [" + ", ".join("0.5" for _ in range(39)) + "]\n```\n\n"
            "```mermaid\nxychart-beta\n  x-axis [\"a\", \"b\"]\n  y-axis \"lr\" 3e-05 --> 1.2e-04\n  line [3e-05, 1e-04]\n```\n")


def test_the_harness_sees_what_was_broken(browser, tmp_path):
    """The checks can fail: the old renderer's exponent and 39 category labels are caught."""
    result = render_comment(browser, broken_charts(), tmp_path, mermaid="12")
    assert [b["ok"] for b in result["blocks"]] == [True, False]
    assert any(p["kind"] == "overlap" for p in result["problems"])


@pytest.mark.parametrize("version", VERSIONS)
def test_a_kept_page_renders_a_comment_as_a_page_of_its_own_does(browser, tmp_path, version):
    """render_comment keeps one page per version and theme: a comment rendered after another (one with
    a chart that fails) gives exactly what it gives on a freshly opened page."""
    comments = {"broken": broken_charts(), "demo": demo_comment()}
    fresh = {}
    for name, markdown in comments.items():
        browser.drop(comment_page(version, "light"))
        fresh[name] = render_comment(browser, markdown, tmp_path, mermaid=version)
    for name in ("broken", "demo"):  # the demo after the broken charts, the broken charts after the demo
        assert render_comment(browser, comments[name], tmp_path, mermaid=version) == fresh[name], name
