"""Plots rendered with DVC's own definitions (dvc-render) and drawn offline (vl-convert).

One real git + DVC project is built per module: every built-in template, a custom template
in .dvc/plots, a multi-file x/y plot, a directory of plots, a stage plot, PNG and SVG image
plots, with different data on `main~1` (base) and `main` (head). Every rendered spec's data
points are compared with what `dvc plots diff --json` prints for the same revisions.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from tests.support.dvc_factory import GIT_IDENTITY

pytest.importorskip("vl_convert")

from ci_mlops.report.render_plots import check_svg, render_plots
from tests.support import zygote

BUILTIN_CURVES = ["linear", "simple", "smooth", "scatter", "bar_horizontal", "bar_horizontal_sorted"]
CONFUSIONS = ["confusion", "confusion_normalized"]
SCATTER_POINTS = 500
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")
SAFE_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'
EVIL_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
            '<script>alert(1)</script><image xlink:href="https://evil.example/x.png"/></svg>')

CUSTOM_TEMPLATE = {
    "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
    "data": {"values": "<DVC_METRIC_DATA>"},
    "title": "<DVC_METRIC_TITLE>",
    "mark": {"type": "circle", "size": 30},
    "encoding": {
        "x": {"field": "<DVC_METRIC_X>", "type": "quantitative"},
        "y": {"field": "<DVC_METRIC_Y>", "type": "quantitative"},
        "color": {"field": "rev", "type": "nominal"},
    },
}


def _run(cmd: list[str], cwd: Path) -> str:
    env = {**os.environ, **GIT_IDENTITY, "DVC_NO_ANALYTICS": "1"}
    return subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _csv(path: Path, header: list[str], rows: list[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))


def _write_data(root: Path, seed: int) -> None:
    rng = random.Random(seed)
    _csv(root / "eval/curve.csv", ["step", "loss"], [(i, round(1 / (i + 1) + rng.random() / 10, 4)) for i in range(12)])
    _csv(root / "eval/scatter.csv", ["pred", "actual"],
         [(round(rng.gauss(0, 1), 5), round(rng.gauss(0, 1), 5)) for _ in range(SCATTER_POINTS)])
    _csv(root / "eval/bars.csv", ["feature", "importance"], [(f"f{i}", round(rng.random(), 4)) for i in range(6)])
    _csv(root / "eval/confusion.csv", ["actual", "predicted"],
         [(rng.choice("abc"), rng.choice("abc")) for _ in range(60)])
    _csv(root / "eval/fpr.csv", ["fpr"], [(round(i / 10, 2),) for i in range(11)])
    _csv(root / "eval/tpr.csv", ["tpr"], [(round(min(1.0, (i / 10) ** 0.5 + rng.random() / 20), 3),) for i in range(11)])
    for name in ("train", "test"):
        _csv(root / f"eval/dir/{name}.csv", ["epoch", "acc"], [(i, round(0.5 + i / 20 + rng.random() / 50, 4))
                                                               for i in range(8)])
    _csv(root / "eval/stage.csv", ["epoch", "f1"], [(i, round(0.4 + i / 30 + rng.random() / 50, 4)) for i in range(6)])
    (root / "eval/importance.png").write_bytes(PNG + bytes([seed]))
    (root / "eval/diagram.svg").write_text(SAFE_SVG.replace('width="4"', f'width="{seed}"', 1))


def _dvc_yaml(extra: tuple[str, ...] = ()) -> str:
    top = []
    for template in BUILTIN_CURVES:
        src, x, y = {"scatter": ("eval/scatter.csv", "pred", "actual"),
                     "bar_horizontal": ("eval/bars.csv", "importance", "feature"),
                     "bar_horizontal_sorted": ("eval/bars.csv", "importance", "feature")}.get(
            template, ("eval/curve.csv", "step", "loss"))
        top.append({f"{template}_plot": {"template": template, "x": x, "y": {src: y}}})
    for template in CONFUSIONS:
        top.append({f"{template}_plot": {"template": template, "x": "actual", "y": {"eval/confusion.csv": "predicted"}}})
    top += [
        {"custom_plot": {"template": "dots", "x": "pred", "y": {"eval/scatter.csv": "actual"}}},
        {"roc_multi_file": {"x": {"eval/fpr.csv": "fpr"}, "y": {"eval/tpr.csv": "tpr"}}},
        {"eval/dir": {"x": "epoch", "y": "acc"}},
        "eval/importance.png",
        "eval/diagram.svg",
        *extra,
    ]
    stages = {"evaluate": {"cmd": "python -c pass",
                           "plots": [{"eval/stage.csv": {"cache": False, "x": "epoch", "y": "f1"}}]}}
    import yaml

    return yaml.safe_dump({"stages": stages, "plots": top}, sort_keys=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plots") / "repo"
    root.mkdir()
    _run(["git", "init", "-q", "-b", "main"], root)
    _run([zygote.dvc_python(), "-m", "dvc", "init", "-q"], root)
    (root / ".dvc/plots").mkdir(exist_ok=True)
    (root / ".dvc/plots/dots.json").write_text(json.dumps(CUSTOM_TEMPLATE))
    (root / "dvc.yaml").write_text(_dvc_yaml())
    _write_data(root, 1)
    _run(["git", "add", "-A"], root)
    _run(["git", "commit", "-qm", "base"], root)
    _write_data(root, 2)
    (root / "eval/evil.svg").write_text(EVIL_SVG)
    (root / "dvc.yaml").write_text(_dvc_yaml(("eval/evil.svg",)))
    _run(["git", "add", "-A"], root)
    _run(["git", "commit", "-qm", "head"], root)
    return root


@pytest.fixture(scope="module")
def rendered(project, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    return out, render_plots(project, out, "main~1", "main")


@pytest.fixture(scope="module")
def dvc_json(project) -> dict:
    text = _run([zygote.dvc_python(), "-m", "dvc", "plots", "diff", "--json", "main~1", "main"], project)
    return json.loads(text)["data"]


def _points(spec: dict) -> list[dict]:
    return spec["data"]["values"]


def test_every_data_plot_is_drawn_with_dvc_data(rendered, dvc_json):
    _, result = rendered
    charts = {c["id"]: c for c in result.charts}
    vega_ids = {name for name, entries in dvc_json.items() if entries and entries[0]["type"] == "vega"}
    expected = {f"{t}_plot" for t in BUILTIN_CURVES + CONFUSIONS} | {"custom_plot", "roc_multi_file",
                                                                     "eval/dir/train.csv", "eval/dir/test.csv",
                                                                     "eval/stage.csv"}
    assert expected <= vega_ids, vega_ids
    assert set(charts) == vega_ids
    for name in vega_ids:
        spec = json.loads(Path(charts[name]["spec"]).read_text())
        dvc_spec = dvc_json[name][0]["content"]
        assert _points(spec) == _points(dvc_spec), name
        assert spec.get("mark") == dvc_spec.get("mark"), name
        assert sorted({p["rev"] for p in _points(spec)}) == ["main", "main~1"], name  # base and head in one chart
        assert charts[name]["revs"] == dvc_json[name][0]["revisions"]


def test_scatter_draws_every_point(rendered):
    out, result = rendered
    chart = next(c for c in result.charts if c["id"] == "scatter_plot")
    spec = json.loads(Path(chart["spec"]).read_text())
    assert len(_points(spec)) == 2 * SCATTER_POINTS
    svg = ElementTree.parse(chart["svg"]).getroot()
    symbols = [el for el in svg.iter() if (el.get("class") or "").split()[:2] == ["mark-symbol", "role-mark"]]
    drawn = sum(1 for group in symbols for el in group.iter() if el.tag.endswith("path"))
    assert drawn == 2 * SCATTER_POINTS


def test_custom_template_and_multi_file(rendered, project):
    _, result = rendered
    charts = {c["id"]: c for c in result.charts}
    custom = json.loads(Path(charts["custom_plot"]["spec"]).read_text())
    assert custom["mark"] == CUSTOM_TEMPLATE["mark"]  # the template from .dvc/plots, not a built-in
    roc = json.loads(Path(charts["roc_multi_file"]["spec"]).read_text())
    head = [p for p in _points(roc) if p["rev"] == "main"]
    tpr = [float(line) for line in (project / "eval/tpr.csv").read_text().split()[1:]]
    assert [float(p["tpr"]) for p in head] == tpr
    assert [float(p["fpr"]) for p in head] == [i / 10 for i in range(11)]


def test_svgs_are_self_contained_xml(rendered):
    out, result = rendered
    assert result.charts
    for chart in result.charts:
        text = Path(chart["svg"]).read_text()
        ElementTree.fromstring(text)  # well-formed
        assert "<script" not in text.lower()
        assert "http://" not in text.replace("http://www.w3.org/", "")
        assert "https://" not in text
        check_svg(text)


def test_image_plots_listed_for_base_and_head(rendered):
    _, result = rendered
    images = {(i["id"], i["rev"]): Path(i["path"]) for i in result.images}
    assert set(images) == {("eval/importance.png", "main~1"), ("eval/importance.png", "main"),
                           ("eval/diagram.svg", "main~1"), ("eval/diagram.svg", "main")}
    assert images[("eval/importance.png", "main")].read_bytes() == PNG + bytes([2])
    assert images[("eval/importance.png", "main~1")].read_bytes() == PNG + bytes([1])
    assert all(p.exists() for p in images.values())


def test_malicious_svg_image_is_one_line_and_removed(rendered):
    out, result = rendered
    assert [f for f in result.failures if f.startswith("eval/evil.svg")] == [
        "eval/evil.svg: image at main left out: SVG contains a <script> element"]
    assert not list(out.rglob("*evil*"))
    assert len(result.failures) == 1, result.failures


def test_workspace_head(project, tmp_path):
    work = tmp_path / "repo"
    shutil.copytree(project, work)
    _csv(work / "eval/curve.csv", ["step", "loss"], [(0, 9.5), (1, 8.5)])
    result = render_plots(work, tmp_path / "out", "main")
    chart = next(c for c in result.charts if c["id"] == "linear_plot")
    spec = json.loads(Path(chart["spec"]).read_text())
    assert [p["loss"] for p in _points(spec) if p["rev"] == "workspace"] == ["9.5", "8.5"]


def test_unknown_field_is_one_failure_line(project, tmp_path):
    work = tmp_path / "repo"
    shutil.copytree(project, work)
    text = (work / "dvc.yaml").read_text().replace("loss", "no_such_column", 1)
    (work / "dvc.yaml").write_text(text)
    result = render_plots(work, tmp_path / "out", "main")
    assert any(f.startswith("linear_plot:") and "\n" not in f for f in result.failures), result.failures
    assert any(c["id"] == "scatter_plot" for c in result.charts)  # the others are still drawn


def test_check_svg_rejects_hostile_svg():
    for bad, reason in [
        (EVIL_SVG, "<script>"),
        ('<svg xmlns="http://www.w3.org/2000/svg"><rect onload="x()"/></svg>', "event handler"),
        ('<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(https://e.example/a)"/></svg>', "URL"),
        ("<svg xmlns=\"http://www.w3.org/2000/svg\"><rect fill=\"url('https://e.example/a')\"/></svg>", "URL"),
        ('<svg xmlns="http://www.w3.org/2000/svg"><style>@import "https://e.example/a.css";</style></svg>', "URL"),
        ('<!DOCTYPE svg [<!ENTITY x "y">]><svg/>', "DOCTYPE"),
        ("<svg><rect></svg>", "well-formed"),
    ]:
        with pytest.raises(ValueError, match=reason):
            check_svg(bad)
    check_svg('<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(#grad)"/></svg>')
    check_svg("<svg xmlns=\"http://www.w3.org/2000/svg\"><rect fill=\"url( '#grad')\"/></svg>")  # quoted, still local


def test_cli_plots_dir(project, tmp_path):
    from ci_mlops.app import cli

    work = tmp_path / "repo"
    shutil.copytree(project, work)
    out = tmp_path / "plots"
    cwd = os.getcwd()
    os.chdir(work)
    try:
        res = CliRunner().invoke(cli, ["report", "--base", "main~1", "--head", "main", "--plots-dir", str(out),
                                       "--no-checks"], catch_exceptions=False)
    finally:
        os.chdir(cwd)
    assert res.exit_code == 0, res.output
    assert (out / "linear_plot.svg").exists() and (out / "scatter_plot.svg").exists()
    assert (out / "images").is_dir()
    assert "eval/evil.svg: image at main left out" in res.output
    assert "plots.json" in os.listdir(out)
    listed = json.loads((out / "plots.json").read_text())
    assert {c["id"] for c in listed["charts"]} >= {"linear_plot", "confusion_plot"}
    for entry in [*listed["charts"], *listed["images"]]:  # paths relative to DIR: true inside the artifact
        for key in ("svg", "spec", "path"):
            if key in entry:
                assert not Path(entry[key]).is_absolute() and (out / entry[key]).is_file(), entry
    assert any(i["path"].startswith("images/") for i in listed["images"])


def test_cli_plots_dir_without_vl_convert_is_a_user_error(project, tmp_path, monkeypatch, capsys):
    import importlib.util

    from ci_mlops.app import main

    real = importlib.util.find_spec  # the command imports it when --plots-dir asks
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vl_convert" else real(name, *a))
    monkeypatch.chdir(project)
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--base", "main~1", "--head", "main", "--plots-dir", str(tmp_path / "p")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "pip install 'ci-mlops[plots]'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "p").exists()
