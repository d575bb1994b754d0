"""Reading a model registry's tags: ci-mlops vs GTO, in the same run.

1. Parsing: every tag of a synthetic registry (registrations, assignments, cancellations,
   counters, ``dirname=name``) with ``ci_mlops.deploy.tags.parse_tag`` and with GTO's own
   ``gto.tag.parse_name`` (the same grammar); both must agree on every tag.
2. Resolving a stage tag: ``ci-mlops deploy --plan --tag NAME#STAGE#N`` (version, environment,
   artifacts) against ``gto show NAME#STAGE`` (GTO reads the whole registry) on a git repository
   with N registrations and assignments.

    .venv/bin/python benchmarks/bench_tags.py [--tags 2000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def synthetic_tags(n: int) -> list[str]:
    forms = ["m{i}@v1.{i}.0#{i}", "m{i}#prod#{i}", "m{i}#dev", "m{i}@v2.0.{i}!#{i}", "m{i}#prod!#{i}",
             "sub/dir=m{i}@v0.{i}.1-rc.1", "m{i}@deprecated#{i}", "m{i}@created", "not-a-tag-{i}", "v{i}.0.0"]
    return [forms[i % len(forms)].format(i=i) for i in range(n)]


def bench_parse(n: int) -> tuple[float, float]:
    from gto.tag import parse_name

    from ci_mlops.deploy.tags import parse_tag, try_parse

    tags = synthetic_tags(n)
    for raw in tags:  # same verdicts
        ours, theirs = try_parse(raw), parse_name(raw, raise_on_fail=False)
        assert (ours is not None and ours.kind != "version") == bool(theirs), raw
    start = time.perf_counter()
    for raw in tags:
        try:
            parse_tag(raw)
        except Exception:
            pass
    ours = time.perf_counter() - start
    start = time.perf_counter()
    for raw in tags:
        parse_name(raw, raise_on_fail=False)
    return ours, time.perf_counter() - start


def registry_repo(path: Path, versions: int) -> Path:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@x"}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)

    path.mkdir(parents=True)
    git("init", "-q", "-b", "main")
    (path / ".gto").write_text("stages: [dev, prod]\n")
    (path / "artifacts.yaml").write_text("model:\n  path: model.pkl\n  type: model\n")
    for i in range(versions):
        (path / "model.pkl").write_text(f"model {i}\n")
        git("add", "-A")
        git("commit", "-q", "-m", f"v{i}")
        git("tag", "-a", f"model@v1.{i}.0#{2 * i + 1}", "-m", "register")
        git("tag", "-a", f"model#{'prod' if i % 2 else 'dev'}#{2 * i + 2}", "-m", "assign")
    return path


def timed(cmd: list[str], cwd: Path, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                              env={**os.environ, "GITHUB_TOKEN": "", "PYTHONPATH": str(ROOT)})
        times.append(time.perf_counter() - start)
        assert proc.returncode == 0, proc.stderr
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=20000)
    parser.add_argument("--versions", type=int, default=50)
    args = parser.parse_args()
    ours, gto = bench_parse(args.tags)
    print(f"parse {args.tags} tags: ci-mlops {ours * 1e3:.1f} ms, GTO parse_name {gto * 1e3:.1f} ms, "
          f"ratio {gto / ours:.2f}x (same verdict on every tag)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-tags-"))
    try:
        repo = registry_repo(tmp / "repo", args.versions)
        tag = f"model#prod#{2 * (args.versions - 1) + 2}" if (args.versions - 1) % 2 else f"model#dev#{2 * args.versions}"
        bin_dir = Path(sys.executable).parent
        ours_s = timed([sys.executable, "-m", "ci_mlops", "deploy", "--plan", "--tag", tag], repo)
        gto_s = timed([str(bin_dir / "gto"), "show", tag.rsplit("#", 1)[0]], repo)
        print(f"resolve {tag} in a registry of {2 * args.versions} tags: ci-mlops deploy --plan {ours_s:.2f} s, "
              f"gto show {gto_s:.2f} s (median of 5), ratio {gto_s / ours_s:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
