"""Benchmark: drawing 20 DVC plots to SVG (`ci-mlops report --plots-dir`) vs `dvc plots diff --json`.

Run: .venv/bin/python benchmarks/bench_plots.py [--plots 20] [--points 200] [--repeat 3]

A real git + DVC repository with N top-level plots (linear, scatter, smooth, confusion and
bar templates in turn, `--points` rows each, different data at base and head). Timed,
median of --repeat runs, each a separate process as CI runs it:

* dvc:       `dvc plots diff --json main~1 main` (DVC builds the same Vega-Lite specs, draws nothing);
* report:    `ci-mlops report --base main~1 --head main --no-checks` (Mermaid plots in the Markdown);
* +plots:    the same with `--plots-dir DIR` (every plot drawn to SVG with vl-convert);
* comment:   `ci-mlops comment report.md --pr 7` against the loopback GitHub (tests/support/fake_github.py);
* +publish:  the same with `--plots-dir DIR`: every image checked (SVG sanitised) and committed to
             `ci-mlops/plots/pr-7` through the Git Data API, the comment showing them.

"+plots minus report" is what drawing N plots adds to the job, "+publish minus comment" what
publishing them adds to the comment job. The comment's length is printed against GitHub's
65,536-character limit.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "DVC_NO_ANALYTICS": "1",
       "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
       "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}
TEMPLATES = ["linear", "scatter", "smooth", "confusion", "bar_horizontal"]


def run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, env=ENV, check=True, capture_output=True)


def write_data(root: Path, n_plots: int, points: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    plots = []
    for i in range(n_plots):
        template = TEMPLATES[i % len(TEMPLATES)]
        path = root / f"eval/p{i}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        if template == "confusion":
            rows = ["actual,predicted"] + [f"{rng.choice('abcd')},{rng.choice('abcd')}" for _ in range(points)]
            x, y = "actual", "predicted"
        elif template == "bar_horizontal":
            rows = ["value,name"] + [f"{rng.random():.4f},f{j}" for j in range(min(points, 30))]
            x, y = "value", "name"
        else:
            rows = ["step,value"] + [f"{j},{rng.gauss(0, 1):.5f}" for j in range(points)]
            x, y = "step", "value"
        path.write_text("\n".join(rows) + "\n")
        plots.append({f"plot_{i}": {"template": template, "x": x, "y": {f"eval/p{i}.csv": y}}})
    return plots


def build(root: Path, n_plots: int, points: int) -> None:
    root.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], root)
    run([sys.executable, "-m", "dvc", "init", "-q"], root)
    (root / "dvc.yaml").write_text(yaml.safe_dump({"plots": write_data(root, n_plots, points, 1)}))
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "base"], root)
    write_data(root, n_plots, points, 2)
    run(["git", "commit", "-qam", "head"], root)


def timed(cmd: list[str], cwd: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run(cmd, cwd)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plots", type=int, default=20)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-plots-"))
    try:
        repo = work / "repo"
        build(repo, args.plots, args.points)
        cli = [sys.executable, "-m", "ci_mlops", "report", "--base", "main~1", "--head", "main", "--no-checks",
               "-o", str(work / "report.md")]
        dvc = timed([sys.executable, "-m", "dvc", "plots", "diff", "--json", "main~1", "main"], repo, args.repeat)
        report = timed(cli, repo, args.repeat)
        drawn = timed([*cli, "--plots-dir", str(work / "plots")], repo, args.repeat)
        svgs = len(list((work / "plots").glob("*.svg")))
        comment, published, body, calls = publish_times(work, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.plots} plots x {args.points} points, base and head, median of {args.repeat}:")
    print(f"  dvc plots diff --json           {dvc:6.2f} s")
    print(f"  ci-mlops report                 {report:6.2f} s")
    print(f"  ci-mlops report --plots-dir     {drawn:6.2f} s  ({svgs} SVG files)")
    print(f"  drawing adds {drawn - report:.2f} s; --plots-dir / dvc plots diff --json = {drawn / dvc:.2f}x")
    print(f"  ci-mlops comment                {comment:6.2f} s")
    print(f"  ci-mlops comment --plots-dir    {published:6.2f} s  ({calls} API calls; comment {body:,} of 65,536 characters)")
    print(f"  publishing adds {published - comment:.2f} s; drawing + publishing {args.plots} plots adds "
          f"{drawn - report + published - comment:.2f} s to the PR run")


def publish_times(work: Path, repeat: int) -> tuple[float, float, int, int]:
    """The comment job without and with the plot images, against the loopback GitHub."""
    sys.path.insert(0, str(ROOT))
    from tests.support.fake_github import FakeGitHub

    cmd = [sys.executable, "-m", "ci_mlops", "comment", str(work / "report.md"), "--pr", "7"]
    with FakeGitHub() as gh:
        gh.add_pr("o/r", 7, head_sha="c" * 40)
        env = {**ENV, **gh.env(repo="o/r", token="t", GITHUB_SHA="c" * 40)}

        def once(extra: list[str]) -> float:
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                subprocess.run([*cmd, *extra], cwd=work, env=env, check=True, capture_output=True)
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        plain = once([])
        gh.clear_log()
        with_plots = once(["--plots-dir", str(work / "plots")])
        calls = len(gh.requests) // repeat
        [comment] = gh.comments("o/r", 7)
        body = len(comment["body"])
        if "<img" not in comment["body"]:
            raise SystemExit("the comment shows no published image")
    return plain, with_plots, body, calls


if __name__ == "__main__":
    main()
