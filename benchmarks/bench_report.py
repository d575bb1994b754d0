"""Benchmark `ci-mlops report` against `dvc metrics diff` + `dvc params diff`, and `--history` scaling.

Run: .venv/bin/python benchmarks/bench_report.py [--repeat N]

1. A small real DVC repo (tests/support/dvc_factory.py, monorepo layout: 2 dvc.yaml, JSON/TOML
   metrics, 3 params files) with a retrained workspace. Timed, median of N runs each:
   `dvc metrics diff main --md` + `dvc params diff main --md` (two processes, what a CI
   script runs) against `ci-mlops report --base main` (one process, metrics + params +
   plots, Markdown), also with a .ci-mlops.yml (one block-style gate; three flow-style gates
   as docs/check.md writes them). Also the in-process time of build_report + render_markdown.
   Both tools run as their console scripts (`ci-mlops`, `dvc`), as a user types them.
2. `--history N` on a repo with 200 metric keys and 50..200 commits; DVC's nearest
   equivalent (`dvc metrics show --all-commits --json`) once, for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from tests.support.dvc_factory import _env, git, make_dvc_repo, repro, set_params  # noqa: E402

PY = sys.executable
BIN = Path(PY).parent


def script(name: str, module: str) -> list[str]:
    """The console script a user types (``ci-mlops``, ``dvc``) next to this interpreter; ``python -m``
    where there is none. Both tools are timed the same way: ``-m`` adds runpy's imports to each."""
    path = BIN / name
    return [str(path)] if path.is_file() else [PY, "-m", module]


CI_MLOPS = script("ci-mlops", "ci_mlops")
DVC = script("dvc", "dvc")


CPU: dict[str, float] = {}  # command -> median CPU seconds (user + system, children included)


def env() -> dict[str, str]:
    """DVC's environment, with bytecode caching on: an installed ci-mlops has its .pyc files,
    as DVC in site-packages has (PYTHONDONTWRITEBYTECODE would recompile ours on every run)."""
    out = _env()
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    return out


def timed(cmd: list[str], cwd: Path, repeat: int) -> float:
    """Median wall seconds of ``repeat`` runs (after one warm-up run); the CPU median goes to CPU."""
    subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True)
    times, cpu = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        cpu.append(usage.ru_utime + usage.ru_stime)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.read().decode() if proc.stderr else ''}")
    CPU[" ".join(cmd)] = statistics.median(cpu)
    return statistics.median(times)


def cpu(*cmds: list[str]) -> float:
    return sum(CPU[" ".join(c)] for c in cmds)


def bench_diff(tmp: Path, repeat: int) -> None:
    repo = make_dvc_repo(tmp / "small" / "repo", monorepo=True)
    set_params(repo, **{"train.lr": 0.3})
    set_params(repo, params_file="pipelines/churn/params.yaml", **{"model.alpha": 0.9})
    repro(repo)

    metrics_diff = [*DVC, "metrics", "diff", "main", "--md"]
    params_diff = [*DVC, "params", "diff", "main", "--md"]
    ours = [*CI_MLOPS, "report", "--base", "main"]

    def dvc_pair() -> float:
        return timed(metrics_diff, repo, 1) + timed(params_diff, repo, 1)

    dvc_times = [dvc_pair() for _ in range(repeat)]
    dvc_cpu = cpu(metrics_diff, params_diff)
    ours_cli = timed(ours, repo, repeat)
    ours_cpu = cpu(ours)
    ours_cli_noplots = timed([*ours, "--no-plots"], repo, repeat)
    ours_noplots_cpu = cpu([*ours, "--no-plots"])

    from ci_mlops.report import build_report, render_markdown

    build_report(repo, "main")  # warm imports
    in_proc = []
    for _ in range(repeat):
        start = time.perf_counter()
        render_markdown(build_report(repo, "main"))
        in_proc.append(time.perf_counter() - start)
    dvc_t = statistics.median(dvc_times)
    print("## metrics + params diff, main vs workspace (small DVC monorepo)")
    print(f"dvc metrics diff --md + dvc params diff --md : {dvc_t * 1000:8.0f} ms  (CPU {dvc_cpu * 1000:6.0f} ms)")
    print(f"ci-mlops report (CLI, with plots)           : {ours_cli * 1000:8.0f} ms  (CPU {ours_cpu * 1000:6.0f} ms)"
          f"   ratio {dvc_t / ours_cli:5.1f}x (CPU {dvc_cpu / ours_cpu:5.1f}x)")
    print(f"ci-mlops report (CLI, --no-plots)           : {ours_cli_noplots * 1000:8.0f} ms  (CPU {ours_noplots_cpu * 1000:6.0f} ms)"
          f"   ratio {dvc_t / ours_cli_noplots:5.1f}x (CPU {dvc_cpu / ours_noplots_cpu:5.1f}x)")
    print(f"build_report + render_markdown (in-process) : {statistics.median(in_proc) * 1000:8.0f} ms   "
          f"ratio {dvc_t / statistics.median(in_proc):5.1f}x")
    print(f"goal: CLI ratio >= 20x -> {'met' if dvc_t / ours_cli >= 20 else 'NOT met'} by wall time, "
          f"{'met' if dvc_cpu / ours_cpu >= 20 else 'NOT met'} by CPU time")

    # The same with a .ci-mlops.yml, as a configured project has: the file is validated against the
    # JSON Schema and the gate verdicts join the report. Two shapes: one block-style gate, and the
    # flow style docs/check.md shows, with several gates and a non-default report setting.
    configs = {
        "1 gate": "version: 1\nmetrics:\n  test.loss:\n    max: 0.9\n",
        "3 gates, flow style": ("version: 1\nreport:\n  tolerance: 0.0001\nmetrics:\n"
                                "  test.loss: {max: 0.9}\n  test.accuracy: {min: 0.5, max_drop: 0.05}\n"
                                "  train.accuracy: {min: 0.4, required: false}\n"),
    }
    config = repo / ".ci-mlops.yml"
    for name, text in configs.items():
        config.write_text(text)
        try:
            ours_config = timed(ours, repo, repeat)
            ours_config_cpu = cpu(ours)
        finally:
            config.unlink()
        label = f"ci-mlops report, .ci-mlops.yml ({name})"
        print(f"{label:<44}: {ours_config * 1000:8.0f} ms  "
              f"(CPU {ours_config_cpu * 1000:6.0f} ms)   ratio {dvc_t / ours_config:5.1f}x "
              f"(CPU {dvc_cpu / ours_config_cpu:5.1f}x)")


def make_history_repo(path: Path, commits: int, keys: int) -> Path:
    """Plain git repo, a dvc.yaml declaring metrics.json, ``commits`` commits of ``keys`` metrics."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "dvc.yaml").write_text("stages:\n  eval:\n    cmd: python eval.py\n    metrics:\n      - metrics.json:\n          cache: false\n")
    # git fast-import: one process for all commits
    lines = []
    dvc_yaml = (path / "dvc.yaml").read_bytes()
    for i in range(commits):
        metrics = {f"group{k // 20}": {f"metric_{k}_acc": round(0.5 + (i * 7 + k) % 50 / 100, 4) for k in range(k0, k0 + 20)}
                   for k0 in range(0, keys, 20) for k in [k0]}
        blob = json.dumps(metrics).encode()
        lines.append(b"commit refs/heads/main\n")
        lines.append(f"committer T <t@example.com> {1700000000 + i} +0000\n".encode())
        lines.append(f"data {len(f'c{i}')}\nc{i}\n".encode())
        if not i:  # a DVC project marker, so DVC can read this repo too (later commits chain on main)
            for name, content in ((".dvc/config", b""), (".dvc/.gitignore", b"/config.local\n/tmp\n/cache\n")):
                lines.append(f"M 100644 inline {name}\ndata {len(content)}\n".encode() + content + b"\n")
        lines.append(f"M 100644 inline dvc.yaml\ndata {len(dvc_yaml)}\n".encode() + dvc_yaml + b"\n")
        lines.append(f"M 100644 inline metrics.json\ndata {len(blob)}\n".encode() + blob + b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(lines), check=True)
    git(path, "checkout", "-q", "-f", "main")
    return path


def bench_history(tmp: Path, repeat: int) -> None:
    print("\n## --history N (200 metric keys)")
    print("| commits in history | ci-mlops report --history N (CLI) | in-process |")
    print("|---:|---:|---:|")
    from ci_mlops.report import build_report, render_markdown

    for commits in (10, 50, 100, 200):
        repo = make_history_repo(tmp / f"hist{commits}", commits, 200)
        cli = timed([*CI_MLOPS, "report", "--base", "HEAD~1", "--head", "HEAD",
                     "--history", str(commits)], repo, repeat)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            render_markdown(build_report(repo, "HEAD~1", "HEAD", history=commits))
            times.append(time.perf_counter() - start)
        print(f"| {commits} | {cli * 1000:.0f} ms | {statistics.median(times) * 1000:.0f} ms |")
    repo = tmp / "hist50"
    show = [*DVC, "metrics", "show", "--all-commits", "--json"]
    ours = [*CI_MLOPS, "report", "--base", "HEAD~1", "--head", "HEAD", "--history", "50"]
    dvc_t = timed(show, repo, max(1, repeat // 2))
    ours_t = timed(ours, repo, repeat)
    print(f"\n50 commits: `dvc metrics show --all-commits --json` {dvc_t * 1000:.0f} ms (CPU {cpu(show) * 1000:.0f} ms) "
          f"vs ci-mlops --history 50 {ours_t * 1000:.0f} ms (CPU {cpu(ours) * 1000:.0f} ms): "
          f"ratio {dvc_t / ours_t:.1f}x (CPU {cpu(show) / cpu(ours):.1f}x)")
    print(f"goal: ratio >= 20x -> {'met' if dvc_t / ours_t >= 20 else 'NOT met'} by wall time, "
          f"{'met' if cpu(show) / cpu(ours) >= 20 else 'NOT met'} by CPU time")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-history", action="store_true", help="only the metrics + params diff (part 1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_diff(Path(tmp), args.repeat)
        if not args.skip_history:
            bench_history(Path(tmp), args.repeat)


if __name__ == "__main__":
    main()
