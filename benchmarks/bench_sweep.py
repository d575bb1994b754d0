"""A 6-experiment sweep: `ci-mlops sweep run --local -j 2` vs a sequential loop of `dvc exp run`.

Run: .venv/bin/python benchmarks/bench_sweep.py [--seconds S] [--jobs J]

The project: a real git + DVC pipeline whose train stage burns about S seconds of CPU
(a NumPy least-squares loop) and writes metrics.json; the sweep is a 2 x 3 grid over two
params. The competitor is what a team writes by hand: a shell loop running
`dvc exp run --set-param ... --name ...` once per experiment, one after the other. Both
start from the same committed project (a fresh copy each), and both end with six
experiment refs, which the script checks. On a machine with fewer than J idle cores the
parallel run cannot beat the loop by J times: compare the ratio with the core count.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TRAIN = """\
import json, time, numpy as np, yaml
p = yaml.safe_load(open("params.yaml"))["train"]
rng = np.random.default_rng(p["seed"])
x = rng.normal(size=(4000, 60)); w = rng.normal(size=60); y = x @ w + rng.normal(size=4000)
end = time.process_time() + {seconds}
steps = 0
while time.process_time() < end:  # a fixed CPU budget, like an epoch loop
    beta = np.linalg.lstsq(x + p["noise"] * rng.normal(size=x.shape), y, rcond=None)[0]
    steps += 1
json.dump({{"test": {{"r2": float(1 - ((x @ beta - y) ** 2).mean() / y.var()), "steps": steps}}}}, open("metrics.json", "w"))
"""

CONFIG = """\
version: 1
experiments:
  grid: {train.noise: [0.1, 0.5], train.seed: [1, 2, 3]}
  rank_by: test.r2
"""


# One training uses one core (like most Python training loops): BLAS threads would otherwise
# already spread a single experiment over both cores and hide what parallel experiments give.
os.environ.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})


def build(folder: Path, seconds: float) -> Path:
    repo = folder / "project"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}
    run = lambda *a: subprocess.run(a, cwd=repo, check=True, capture_output=True, env=env)  # noqa: E731
    run("git", "init", "-q", "-b", "main")
    (repo / "train.py").write_text(TRAIN.format(seconds=seconds))
    (repo / "params.yaml").write_text("train:\n  noise: 0.1\n  seed: 0\n")
    (repo / "dvc.yaml").write_text("stages:\n  train:\n    cmd: python train.py\n    deps: [train.py]\n"
                                   "    params: [train]\n    metrics:\n      - metrics.json:\n          cache: false\n")
    (repo / ".ci-mlops.yml").write_text(CONFIG)
    run(sys.executable, "-m", "dvc", "init", "-q")
    run(sys.executable, "-m", "dvc", "repro", "-q")
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "baseline")
    return repo


def experiments(repo: Path) -> int:
    out = subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/exps/"], cwd=repo,
                         capture_output=True, text=True).stdout
    # experiments are refs/exps/<2>/<38>/<name>; exec/ and celery/ refs are DVC's bookkeeping
    return sum(1 for ref in out.split() if len(ref.split("/")) == 5 and len(ref.split("/")[2]) == 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="CPU seconds one training takes")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        template = build(Path(tmp), args.seconds)
        ours_repo, loop_repo = Path(tmp) / "ours", Path(tmp) / "loop"
        shutil.copytree(template, ours_repo)
        shutil.copytree(template, loop_repo)

        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ci_mlops", "sweep", "run", "--local", "-j", str(args.jobs)],
                       cwd=ours_repo, check=True, capture_output=True)
        ours = time.perf_counter() - start

        grid = [(n, s) for n in (0.1, 0.5) for s in (1, 2, 3)]
        start = time.perf_counter()
        for i, (noise, seed) in enumerate(grid, start=1):
            subprocess.run([sys.executable, "-m", "dvc", "exp", "run", "-q", "--name", f"loop-{i:02d}",
                            "--set-param", f"train.noise={noise}", "--set-param", f"train.seed={seed}"],
                           cwd=loop_repo, check=True, capture_output=True)
        loop = time.perf_counter() - start
        assert experiments(ours_repo) == 6 and experiments(loop_repo) == 6, "both must leave six experiments"
    print(f"6 experiments x ~{args.seconds:g} CPU s each, {os.cpu_count()} cores")
    print(f"ci-mlops sweep run --local -j {args.jobs}   {ours:7.1f} s")
    print(f"sequential `dvc exp run` loop        {loop:7.1f} s")
    print(f"ratio                                {loop / ours:7.2f}x")


if __name__ == "__main__":
    main()
