"""--history: a commit whose declared metrics file does not parse is a gap, and a note names it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ci_mlops.report import build_report


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
