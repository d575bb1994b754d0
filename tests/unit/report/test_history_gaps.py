"""--history: a commit whose declared metrics file does not parse is a gap, and a note names it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ci_mlops.report import build_report, render_markdown


def _commit(repo: Path, text: str, message: str) -> str:
    (repo / "metrics.json").write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message],
                   check=True)
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_a_commit_whose_metrics_file_does_not_parse_is_named(tmp_path: Path):
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "dvc.yaml").write_text("stages:\n  train:\n    cmd: python train.py\n    metrics:\n"
                                   "    - metrics.json:\n        cache: false\n")
    _commit(repo, '{"dice": 0.5}', "first")
    broken = _commit(repo, '{"dice": ', "broken")
    last = _commit(repo, '{"dice": 0.7}', "fixed")
    report = build_report(repo, last, last, history=3)
    [row] = report["metrics"]
    assert row["history"]["values"] == [0.5, None, 0.7]
    note = (f"metrics.json could not be read at 1 of the 3 commits of the trend on {last} "
            f"({broken[:7]}): it does not parse there; those commits are gaps in its trend")
    assert report["notes"] == [note]


def test_an_integer_beyond_a_float_is_a_gap_in_the_trend_not_a_crash(tmp_path: Path):
    """JSON holds integers of any size; one beyond a float's range (1e400) has no bar on a float scale."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "dvc.yaml").write_text("metrics:\n  - metrics.json\n")
    huge = 10 ** 400
    for step, dice in enumerate([0.5, 0.6, 0.5, 0.6, 0.5, 0.6]):
        _commit(repo, f'{{"dice": {dice}, "count": {huge + step}, "mixed": {huge if step == 2 else step}}}', f"c{step}")
    last = _commit(repo, f'{{"dice": 0.9, "count": {huge}, "mixed": {huge}}}', "last")
    report = build_report(repo, "HEAD~1", last, history=6)
    rows = {row["key"]: row for row in report["metrics"]}
    assert rows["count"]["history"] == {"values": [huge + step for step in range(6)], "sparkline": "", "min": None,
                                        "max": None}
    assert rows["mixed"]["history"] == {"values": [0, 1, huge, 3, 4, 5], "sparkline": "▁▂▅▇█", "min": 0, "max": 5}
    assert rows["dice"]["history"]["sparkline"] == "▁█▁█▁█"
    assert [a["metric"] for a in report["anomalies"]] == ["metrics.json:dice"]
    text = render_markdown(report)
    assert "▁▂▅▇█ <sub>0–5 (5 of 6 commits)</sub>" in text
