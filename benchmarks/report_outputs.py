"""Every `ci-mlops report` output a performance pass must keep byte for byte, written to a folder.

Run it for the tree before and the tree after a change, then compare the folders::

    .venv/bin/python benchmarks/report_outputs.py /tmp/before --tree /path/to/old/checkout
    .venv/bin/python benchmarks/report_outputs.py /tmp/after --tree .
    diff -r /tmp/before /tmp/after

The repositories are built the same way each time (git fast-import, fixed dates: the same commits):
the `--history` benchmark's (10, 50 and 200 commits of 200 keys, bench_report.py) and an odd one of
60 commits with three metrics files: gaps (a file missing), commits whose file does not parse, keys
that come and go, NaN, infinities, integers (one beyond a float's range), strings, booleans, lists,
nulls, a metric that never changes and head values far outside their history (anomalies); a copy
of it has a `.ci-mlops.yml` with metric rules (directions, tolerances, gates). Each report runs
in Markdown, `--all`, `--format json`, `--max-chars` and against the workspace, with `--history`
0, 3, 10, 50 and 200; standard output, standard error and the exit code are written per run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_report import make_history_repo

VARIANTS = {
    "md": ["--base", "HEAD~1", "--head", "HEAD"],
    "all": ["--base", "HEAD~1", "--head", "HEAD", "--all"],
    "json": ["--base", "HEAD~1", "--head", "HEAD", "--format", "json"],
    "maxc": ["--base", "HEAD~1", "--head", "HEAD", "--max-chars", "6000"],
    "ws": ["--base", "HEAD~2"],
}
HISTORY = (0, 3, 10, 50, 200)
RULES = """\
report:
  tolerance: 0.001
  tolerance_pct: 5
metrics:
  group0.m0_0_acc:
    direction: lower
    tolerance: 0.5
  metrics.json:group1.m1_3_f1:
    tolerance_pct: 0
    min: 0.2
  top_acc:
    direction: higher
    max_drop: 0.01
"""


def _value(i: int, g: int, k: int, rnd: random.Random) -> object:
    r = (i * 13 + k * 7 + g) % 97
    if k % 5 == 1:
        return r  # integers
    if k % 13 == 4 and i % 9 == 0:
        return float("nan")
    if k % 13 == 5 and i % 10 == 3:
        return float("inf") if i % 20 == 3 else float("-inf")
    if k == 9:
        return ["good", "bad", "ok"][i % 3]
    if k == 10:
        return bool(i % 2)
    if k == 12:
        return 0.5  # never changes
    return round(0.3 + r / 200 + rnd.random() / 100, 5)


def make_odd_history_repo(path: Path, commits: int = 60, seed: int = 7) -> Path:
    """The odd history described in the module docstring, on branch main."""
    rnd = random.Random(seed)
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    dvc_yaml = ("stages:\n  eval:\n    cmd: python eval.py\n    metrics:\n" + "".join(
        f"      - {name}:\n          cache: false\n" for name in ("metrics.json", "other/scores.json", "extra.yaml")))
    lines = []
    for i in range(commits):
        metrics: dict[str, object] = {}
        for g in range(6):
            group: dict[str, object] = {}
            for k in range(15):
                name = f"m{g}_{k}_" + ["acc", "loss", "latency_ms", "f1", "step", "auc.test", "rmse"][k % 7]
                if ((g + k + i) % 11 == 0 and k % 3 == 0) or (k < 3 and i < 20 and g == 0) or (k == 14 and i > 40):
                    continue  # missing at this commit, added later, removed later
                group[name] = _value(i, g, k, rnd)
            group["nested"] = {"deep": {"x": i % 4, "y": [1, 2]}, "empty": {}, "none": None}
            metrics[f"group{g}"] = group
        metrics.update(top_acc=0.9 + i / 1000, top_int=i, huge=10 ** 400 + i if i % 2 else i)
        if i == commits - 1:  # the head: values far outside their history
            metrics["group1"]["m1_0_acc"] = 9.5  # type: ignore[index]
            metrics["group3"]["m3_12_auc.test"] = 0.7  # type: ignore[index]  # a constant history moves
            metrics["top_acc"] = 0.1
        files = {
            "dvc.yaml": dvc_yaml.encode(),
            "metrics.json": b'{"broken": ' if i % 17 == 5 else None if i % 23 == 7 else json.dumps(metrics).encode(),
            "other/scores.json": b"[1, 2]" if i % 19 == 4 else json.dumps(
                {"score": (i % 5) * 1.5, "pr": {"auc": 0.7 + (i % 3) / 100}, "label": "x" * (i % 3), "neg0": -0.0,
                 **({} if i % 7 == 3 else {"extra": i})}).encode(),
            "extra.yaml": f"yaml_acc: {0.8 + (i % 6) / 100}\nyaml_nan: .nan\nyaml_word: yes\n".encode() if i > 10 else None,
        }
        lines.append(f"commit refs/heads/main\ncommitter T <t@example.com> {1700000000 + i} +0000\n"
                     f"data {len(f'c{i}')}\nc{i}\ndeleteall\nM 100644 inline .dvc/config\ndata 0\n\n".encode())
        for name, blob in files.items():
            if blob is not None:
                lines.append(f"M 100644 inline {name}\ndata {len(blob)}\n".encode() + blob + b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(lines), check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=path, check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the outputs (made; must not exist)")
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the checkout whose ci_mlops runs (default: this one)")
    args = parser.parse_args()
    args.out.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(args.tree.resolve())}
    env.pop("GITHUB_ACTIONS", None)
    env.pop("GITLAB_CI", None)
    with tempfile.TemporaryDirectory() as tmp:
        repos = {f"h{n}": make_history_repo(Path(tmp, f"h{n}"), n, 200) for n in (10, 50, 200)}
        repos["odd"] = make_odd_history_repo(Path(tmp, "odd"))
        repos["oddcfg"] = Path(shutil.copytree(repos["odd"], Path(tmp, "oddcfg"), symlinks=True))
        (repos["oddcfg"] / ".ci-mlops.yml").write_text(RULES)
        for name, repo in repos.items():
            for history in HISTORY:
                for variant, options in VARIANTS.items():
                    done = subprocess.run([sys.executable, "-m", "ci_mlops", "report", *options, "--history", str(history)],
                                          cwd=repo, env=env, capture_output=True, check=False)
                    stem = args.out / f"{name}-{history}-{variant}"
                    stem.with_suffix(".out").write_bytes(done.stdout)
                    stem.with_suffix(".err").write_bytes(done.stderr + f"exit {done.returncode}\n".encode())
    print(f"{len(list(args.out.iterdir())) // 2} outputs in {args.out}")


if __name__ == "__main__":
    main()
