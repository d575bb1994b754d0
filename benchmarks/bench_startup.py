"""Start-up time: `ci-mlops --help` against `dvc --version`, measured in the same run.

Every ci-mlops step in CI pays the CLI's start-up, so `ci-mlops --help` must not
import DVC, pandas or requests. Usage: .venv/bin/python benchmarks/bench_startup.py [RUNS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(cmd: list[str], runs: int) -> list[float]:
    subprocess.run(cmd, capture_output=True, check=True)  # warm the file-system cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    commands = {
        "ci-mlops --help": [str(BIN / "ci-mlops"), "--help"],
        "ci-mlops init --help": [str(BIN / "ci-mlops"), "init", "--help"],
        "dvc --version": [str(BIN / "dvc"), "--version"],
    }
    medians, minima = {}, {}
    for name, cmd in commands.items():
        times = timed(cmd, runs)
        medians[name], minima[name] = statistics.median(times), min(times)
        print(f"{name:<22} median {medians[name] * 1000:7.1f} ms  min {min(times) * 1000:7.1f} ms  ({runs} runs)")
    for name in ("ci-mlops --help", "ci-mlops init --help"):
        print(f"dvc --version / {name}: {medians['dvc --version'] / medians[name]:.1f}x by median, "
              f"{minima['dvc --version'] / minima[name]:.1f}x by minimum")


if __name__ == "__main__":
    main()
