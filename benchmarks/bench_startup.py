"""Start-up time: `ci-mlops --help` and `ci-mlops drift --help` against `dvc --version`, in the same run.

Every ci-mlops step in CI pays the CLI's start-up, so `--help` answers from pre-rendered
help without importing click, DVC, pandas or requests. Bytecode caching is on (an
installed package has its .pyc files, as DVC in site-packages does).
Usage: .venv/bin/python benchmarks/bench_startup.py [RUNS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(cmd: list[str], runs: int) -> tuple[list[float], list[float]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, capture_output=True, check=True, env=env)  # warm the caches, write bytecode
    wall, cpu = [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env)
        _, _, usage = os.wait4(proc.pid, 0)
        wall.append(time.perf_counter() - start)
        cpu.append(usage.ru_utime + usage.ru_stime)
    return wall, cpu


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    commands = {
        "ci-mlops --help": [str(BIN / "ci-mlops"), "--help"],
        "ci-mlops drift --help": [str(BIN / "ci-mlops"), "drift", "--help"],
        "ci-mlops init --help": [str(BIN / "ci-mlops"), "init", "--help"],
        "dvc --version": [str(BIN / "dvc"), "--version"],
    }
    medians, cpus = {}, {}
    for name, cmd in commands.items():
        wall, cpu = timed(cmd, runs)
        medians[name], cpus[name] = statistics.median(wall), statistics.median(cpu)
        print(f"{name:<22} median {medians[name] * 1000:7.1f} ms  min {min(wall) * 1000:7.1f} ms  "
              f"CPU median {cpus[name] * 1000:6.1f} ms  ({runs} runs)")
    for name in list(commands)[:3]:
        print(f"dvc --version / {name}: {medians['dvc --version'] / medians[name]:.1f}x by median wall time, "
              f"{cpus['dvc --version'] / cpus[name]:.1f}x by median CPU time")


if __name__ == "__main__":
    main()
