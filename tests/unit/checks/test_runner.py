"""One runner: the check command, the PR report and a release judge gates with the same call."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_mlops.checks import add_to_report, run, run_gates
from ci_mlops.errors import UserError

ROWS = [{"file": "metrics.json", "key": "test.acc", "head": 0.8, "base": 0.85}]
CONFIG = {"metrics": {"test.acc": {"min": 0.9}}, "data": {"missing.csv": {"rows": {"min": 1}}}}


def test_run_gates_needs_a_metrics_section():
    assert run_gates({"data": {}}, ".", {"metrics": ROWS}) == []
    [gate] = run_gates(CONFIG, ".", {"metrics": ROWS})
    assert (gate["key"], gate["passed"], gate["message"]) == ("test.acc", False, "0.8 < min 0.9")


def test_strict_raises_where_the_report_shows_a_failed_entry(tmp_path: Path):
    with pytest.raises(UserError, match=r"missing\.csv: no such file"):
        run(CONFIG, tmp_path, {"metrics": ROWS}, strict=True)
    verdict = run(CONFIG, tmp_path, {"metrics": ROWS})
    [load] = verdict.data
    assert load["check"] == "load" and not load["passed"] and "missing.csv: no such file" in load["message"]


def test_add_to_report_without_files_judges_only_the_gates(tmp_path: Path):
    report: dict = {"metrics": ROWS}
    result = add_to_report(CONFIG, tmp_path, report, files=False)
    assert result["data"] == [] and report["gates"] == result["gates"] and len(result["gates"]) == 1
    assert "sections" in report and report["sections"] == []
    full: dict = {"metrics": ROWS}
    add_to_report(CONFIG, tmp_path, full)
    assert [s["title"] for s in full["sections"]] == ["Data checks"] and full["gates"] == report["gates"]


def test_a_loaded_config_its_record_and_the_mapping_judge_alike(tmp_path: Path):
    from ci_mlops.config import parse_config

    (tmp_path / "people.csv").write_text("id,age\n1,34\n2,200\n")
    written = {"metrics": {"test.acc": {"min": 0.9}}, "data": {"people.csv": {"columns": {"age": {"max": 120}}}}}
    config = parse_config("metrics:\n  test.acc: {min: 0.9}\ndata:\n  people.csv:\n    columns:\n      age: {max: 120}\n")
    verdicts = [run(c, tmp_path, {"metrics": ROWS}).to_json() for c in (config, config.settings, written)]
    assert verdicts[0] == verdicts[1] == verdicts[2]
    assert [d["check"] for d in verdicts[0]["data"]] == ["max"] and not verdicts[0]["passed"]


def test_a_cached_file_is_looked_up_in_dvc_once_for_its_frame_and_its_text(git_repo: Path, monkeypatch):
    import hashlib

    from ci_mlops.checks import data

    content = b"code,n\n007,1\n12,2\n"  # pandas reads the codes as numbers
    md5 = hashlib.md5(content).hexdigest()
    obj = git_repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    obj.parent.mkdir(parents=True)
    obj.write_bytes(content)
    (git_repo / "codes.csv.dvc").write_text(f"outs:\n- md5: {md5}\n  hash: md5\n  path: codes.csv\n")
    lookups = []
    real = data.in_dvc_cache
    monkeypatch.setattr(data, "in_dvc_cache", lambda root, path: lookups.append(path) or real(root, path))
    verdict = run({"data": {"codes.csv": {"columns": {"code": {"regex": r"\d{3}"}}}}}, git_repo, None)
    [regex] = verdict.data
    assert regex["failing_rows"] == 1 and regex["examples"] == [2]  # "007" read as written, from the cache
    assert lookups == ["codes.csv"]
