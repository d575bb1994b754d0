"""``ci-mlops drift`` end to end: files in every format, config defaults, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ci_mlops.cli import main
from tests.conftest import run_cli

N = 3000


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("drift")
    rng = np.random.default_rng(11)
    ref = pd.DataFrame({"age": rng.normal(40, 10, N), "income": rng.lognormal(10, 1, N),
                        "plan": rng.choice(["basic", "pro"], N), "user": [f"u{i}" for i in range(N)]})
    same = pd.DataFrame({"age": rng.normal(40, 10, N), "income": rng.lognormal(10, 1, N),
                         "plan": rng.choice(["basic", "pro"], N), "user": [f"v{i}" for i in range(N)]})
    shifted = pd.DataFrame({"age": rng.normal(50, 10, N), "income": rng.lognormal(10.5, 1, N),
                            "plan": rng.choice(["basic", "pro", "team"], N), "user": [f"w{i}" for i in range(N)],
                            "label": rng.integers(0, 2, N)})
    shifted["pred"] = np.where(rng.random(N) < 0.7, shifted["label"], 1 - shifted["label"])
    ref.to_csv(folder / "ref.csv", index=False)
    same.to_csv(folder / "same.tsv", sep="\t", index=False)
    same.to_json(folder / "same.jsonl", orient="records", lines=True)
    shifted.to_parquet(folder / "shifted.parquet")
    (folder / "empty.csv").write_text("")
    (folder / "header_only.csv").write_text("age,income\n")
    (folder / "other.csv").write_text("x,y\n1,2\n")
    (folder / "garbage.parquet").write_bytes(b"not parquet at all")
    (folder / "data.xlsx").write_text("?")
    return folder


def test_no_drift_exits_0_with_markdown(data: Path) -> None:
    proc = run_cli("drift", "--reference", "ref.csv", "--current", "same.tsv", cwd=data)
    assert proc.returncode == 0, proc.stderr
    assert "## Data drift: not detected" in proc.stdout
    assert "| `age` | numeric | Wasserstein (normed) |" in proc.stdout
    assert "`user`: not compared: looks like free text or ids" in proc.stdout


def test_drift_exits_1_with_json_and_performance(data: Path, tmp_path: Path) -> None:
    lineage = tmp_path / "lineage.json"
    lineage.write_text(json.dumps({"metrics": {"metrics.json": {"test.accuracy": 0.9}}}))
    config = tmp_path / "cfg.yml"
    config.write_text(
        "drift:\n"
        "  performance: {actual: label, predicted: pred, metric: accuracy, baseline_key: test.accuracy, max_drop: 0.05}\n"
    )
    out = tmp_path / "drift.json"
    proc = run_cli("drift", "--reference", "ref.csv", "--current", "shifted.parquet", "--format", "json",
                   "-o", str(out), "--baseline", str(lineage), "--config", str(config), cwd=data)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.strip() == ("ci-mlops: dataset drift: 3 of 3 columns drifted; model performance degraded")
    result = json.loads(out.read_text())
    assert result["dataset_drift"] is True and result["share_drifted"] == 1.0
    assert {c["name"] for c in result["columns"]} == {"age", "income", "plan"}
    assert all({"name", "type", "test", "statistic", "threshold", "drifted"} <= set(c) for c in result["columns"])
    plan = next(c for c in result["columns"] if c["name"] == "plan")
    assert plan["new_categories"] == ["team"]
    assert result["only_in_current"] == []  # the label and prediction columns are not data columns
    perf = result["performance"]
    assert perf["degraded"] is True and perf["baseline"] == 0.9 and 0.65 < perf["value"] < 0.75


def test_config_defaults_paths_columns_and_outputs(data: Path, tmp_path: Path) -> None:
    (tmp_path / ".ci-mlops.yml").write_text(
        f"drift:\n  reference: {data / 'ref.csv'}\n  current: {data / 'shifted.parquet'}\n"
        "  columns: [plan]\n  tests:\n    plan: {test: psi, threshold: 5}\n"
    )
    (tmp_path / ".git").mkdir()  # the config is found at the repository root
    outputs, summary = tmp_path / "out.txt", tmp_path / "summary.md"
    proc = run_cli("drift", "--psi", cwd=tmp_path, env={"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs),
                                                         "GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "**0 of 1 columns drifted (0%)**" in proc.stdout
    assert outputs.read_text().splitlines() == ["drift=false", "share-drifted=0.0000"]
    assert "## Data drift: not detected" in summary.read_text()


def test_drifted_columns_get_mermaid_charts(data: Path) -> None:
    proc = run_cli("drift", "--reference", "ref.csv", "--current", "shifted.parquet", "--columns", "age,plan",
                   cwd=data)
    assert proc.returncode == 1
    assert proc.stdout.count("```mermaid\nxychart-beta") == 2
    assert 'x-axis "plan" ["basic", "pro", "team"]' in proc.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--reference", "nope.csv", "--current", "same.tsv"], "nope.csv: no such file"),
    (["--reference", "ref.csv", "--current", "garbage.parquet"], "garbage.parquet: cannot read as parquet"),
    (["--reference", "ref.csv", "--current", "data.xlsx"], "cannot tell the data format"),
    (["--reference", "ref.csv", "--current", "other.csv"], "no common columns"),
    (["--reference", "ref.csv", "--current", "empty.csv"], "empty.csv: the file is empty"),
    (["--reference", "ref.csv", "--current", "header_only.csv"], "current data has no rows"),
    (["--reference", "ref.csv", "--current", "same.tsv", "--drift-share", "1.5"], "out of range"),
    (["--reference", "ref.csv", "--current", "same.tsv", "--columns", "zzz"], "no column 'zzz'"),
    (["--current", "same.tsv"], "no reference data: pass --reference FILE or set drift.reference"),
])
def test_bad_input_is_one_line_exit_2(data: Path, args: list[str], message: str,
                                      monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # In-process through the real entry point (the subprocess path is covered above): one import, fast.
    monkeypatch.chdir(data)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["drift", *args])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ci-mlops: error:") and message in lines[0], err


def test_all_missing_column_is_exit_2(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cur.csv").write_text("age,income\n,1\n,2\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["drift", "--reference", str(data / "ref.csv"), "--current", str(tmp_path / "cur.csv")])
    assert exit_info.value.code == 2
    assert "column 'age' has no values in the current data (all missing)" in capsys.readouterr().err


def test_threshold_out_of_range_in_config_is_exit_2(data: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yml"
    config.write_text("drift:\n  tests:\n    age: {test: ks, threshold: 2}\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["drift", "--reference", str(data / "ref.csv"), "--current", str(data / "same.tsv"),
              "--config", str(config)])
    assert exit_info.value.code == 2
    assert "drift.tests.age.threshold: 2 is out of range for a p-value test" in capsys.readouterr().err
