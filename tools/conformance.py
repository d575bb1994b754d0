"""Conformance against DVC on real repositories: ``ci-mlops report`` vs ``dvc metrics/params diff``.

For each git bundle in the real-repositories folder (default ``../shared/realrepos`` next
to the checkout; ``--repos DIR`` or ``$CI_MLOPS_REALREPOS`` names another), the tool clones
the bundle, takes every pair of consecutive tags (by creation date) and a sample of
commits of every branch, each against its first parent, and runs on each pair::

    ci-mlops report --base A --head B --format json --no-checks --no-summary
    dvc metrics diff SHA_A SHA_B --json --all
    dvc params diff SHA_A SHA_B --json --all

(all DVC commands of one repository in one Python process, each command's output and
warnings captured on their own). It counts:

- values compared: every old/new value both tools give for a metric or param;
- wrong numbers: a value or change that differs (type-aware: ``1`` vs ``true`` differs);
- silent skips: DVC has a value ci-mlops lacks while exiting 0, or DVC warned "failed to
  load" a revision and ci-mlops exited 0 without a note saying so;
- errors: ci-mlops exited 2; "DVC failed too" when DVC warned about that pair, else a
  spurious error (counted as a problem);
- read where DVC could not: values ci-mlops shows (with a note) for a revision DVC failed
  to load, e.g. a DVC 1 ``dvc.lock``.

``--markdown FILE`` writes the table (docs/conformance.md). Exit 1 when any wrong number,
silent skip or spurious error was found. Needs the DVC plugin of each repository's remote
(``pip install 'ci-mlops[conformance]'`` installs dvc-s3), or DVC silently drops params.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the ci_mlops of this checkout, as `run_report` runs it

from ci_mlops.dvc.diff import as_dvc_diff, diff_commands, read_diff  # noqa: E402
from ci_mlops.dvc.run import run_dvc_batch  # noqa: E402

DEFAULT_REPOS = ROOT.parent / "shared" / "realrepos"

_FAILED = re.compile(r"failed to load (?:metrics|params) in revision '([^']+)'")
_FAILED_LIST = re.compile(r"DVC failed to load some (?:metrics|params) for following revisions: '([^']*)'")


@dataclass
class Pair:
    base: str
    head: str
    kind: str  # "tags" or "commits"
    base_sha: str = ""
    head_sha: str = ""


@dataclass
class Tally:
    repo: str
    pairs: int = 0
    tag_pairs: int = 0
    compared: int = 0
    wrong: list[str] = field(default_factory=list)
    skips: list[str] = field(default_factory=list)
    errors_dvc_failed: int = 0
    spurious_errors: list[str] = field(default_factory=list)
    beyond_dvc: int = 0
    dvc_warned: int = 0
    remark: str = ""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def pairs_of(repo: Path, sample: int) -> list[Pair]:
    tags = [t for t in git(repo, "for-each-ref", "--sort=creatordate", "--format=%(refname:short)",
                           "refs/tags").split() if t]
    pairs = [Pair(a, b, "tags") for a, b in itertools.pairwise(tags)]
    # every commit of every branch against its first parent, oldest first
    steps = [(line.split()[1], line.split()[0]) for line in
             git(repo, "rev-list", "--all", "--parents", "--reverse", "--date-order").splitlines()
             if len(line.split()) > 1]
    if len(steps) > sample:
        stride = (len(steps) - 1) / (sample - 1) if sample > 1 else 0
        steps = [steps[round(i * stride)] for i in range(sample)]
    pairs += [Pair(a, b, "commits") for a, b in steps]
    # DVC is given commit SHAs: with a GTO tag name (`model@v1.0.0#1`, `model#prod#3`) `dvc metrics
    # diff` prints `{}` without a warning, which would make every value look extra. ci-mlops gets the
    # names, as a user would type them.
    for pair in pairs:
        pair.base_sha, pair.head_sha = (_commit(repo, pair.base), _commit(repo, pair.head))
    return pairs


def _commit(repo: Path, rev: str) -> str:
    return git(repo, "rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}").strip()


def run_report(repo: Path, pair: Pair) -> tuple[int, dict[str, Any] | None, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GIT_TERMINAL_PROMPT": "0"}
    env.pop("GITHUB_ACTIONS", None)
    proc = subprocess.run([sys.executable, "-m", "ci_mlops", "report", "--base", pair.base, "--head", pair.head,
                           "--format", "json", "--no-checks", "--no-summary"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=1800)
    data = json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else None
    return proc.returncode, data, proc.stderr.strip()


def _decode(value: Any) -> Any:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(value, value) \
        if isinstance(value, str) else value


def same(a: Any, b: Any) -> bool:
    a, b = _decode(a), _decode(b)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)
    return bool(a == b)


def failed_sides(stderr: str, pair: Pair) -> set[str]:
    sides = set()
    revs = _FAILED.findall(stderr) + [r.strip() for listed in _FAILED_LIST.findall(stderr) for r in listed.split(",")]
    for rev in revs:
        if rev in (pair.base, pair.base_sha):
            sides.add("old")
        if rev in (pair.head, pair.head_sha):
            sides.add("new")
    return sides


def compare(tally: Tally, pair: Pair, kind: str, ours: dict[str, Any], theirs: dict[str, Any],
            failed: set[str], label: str) -> None:
    """Count values compared, wrong numbers and silent skips for one kind (metrics/params)."""
    for file, keys in theirs.items():
        for key, want in keys.items():
            got = ours.get(file, {}).get(key)
            for side in ("old", "new"):
                if side in failed or want.get(side) is None:
                    continue
                if got is None or got.get(side) is None:
                    tally.skips.append(f"{label}: {kind} {file}:{key} {side}={want.get(side)!r} missing in ci-mlops")
                    continue
                tally.compared += 1
                if not same(got[side], want[side]):
                    tally.wrong.append(f"{label}: {kind} {file}:{key} {side} ci-mlops {got[side]!r} "
                                       f"vs DVC {want[side]!r}")
            if got is not None and not failed and "diff" in want and not same(got.get("diff"), want["diff"]):
                tally.wrong.append(f"{label}: {kind} {file}:{key} diff ci-mlops {got.get('diff')!r} "
                                   f"vs DVC {want['diff']!r}")
    for file, keys in ours.items():
        for key, got in keys.items():
            want = theirs.get(file, {}).get(key) or {}
            for side in ("old", "new"):
                if got.get(side) is not None and want.get(side) is None:
                    if side in failed:
                        tally.beyond_dvc += 1
                    else:
                        tally.wrong.append(f"{label}: {kind} {file}:{key} {side}={got[side]!r} in ci-mlops, "
                                           "not in DVC")


def check_repo(bundle: Path, workdir: Path, sample: int) -> Tally:
    name = bundle.name.removesuffix(".bundle")
    repo = workdir / name
    if not repo.exists():
        subprocess.run(["git", "clone", "-q", str(bundle), str(repo)], check=True, capture_output=True)
    tally = Tally(name)
    pairs = pairs_of(repo, sample)
    tally.pairs, tally.tag_pairs = len(pairs), sum(p.kind == "tags" for p in pairs)
    if not (repo / ".dvc").is_dir():
        tally.remark = "not a DVC repository"
    commands = []
    for pair in pairs:
        commands += diff_commands(pair.base_sha, pair.head_sha)
    dvc = run_dvc_batch(repo, commands, timeout=7200)
    for index, pair in enumerate(pairs):
        metrics_run, params_run = dvc[2 * index], dvc[2 * index + 1]
        label = f"{name} {pair.base if pair.kind == 'tags' else pair.base[:7]}..{pair.head if pair.kind == 'tags' else pair.head[:7]}"
        stderr = metrics_run.stderr + params_run.stderr
        failed = failed_sides(stderr, pair)
        tally.dvc_warned += bool(failed)
        rc, report, error = run_report(repo, pair)
        if rc != 0:
            if failed or (not metrics_run.ok and tally.remark):
                tally.errors_dvc_failed += 1
            else:
                tally.spurious_errors.append(f"{label}: exit {rc}: {error.splitlines()[-1] if error else ''}")
            continue
        assert report is not None
        theirs_m = read_diff(metrics_run) if metrics_run.ok else {}
        theirs_p = read_diff(params_run) if params_run.ok else {}
        compare(tally, pair, "metrics", as_dvc_diff(report["metrics"]), theirs_m, failed, label)
        compare(tally, pair, "params", as_dvc_diff(report["params"]), theirs_p, failed, label)
        if failed and not report.get("notes"):
            tally.skips.append(f"{label}: DVC failed to load {sorted(failed)} and ci-mlops exited 0 without a note")
    return tally


def markdown(tallies: list[Tally], sample: int) -> str:
    lines = [
        ("| Repository | Revision pairs (tags + commits) | Values compared | Wrong numbers | Silent skips | "
        "ci-mlops errors where DVC failed too | Spurious errors | Values read where DVC could not (noted) |"),
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for t in tallies:
        name = f"{t.repo} ({t.remark})" if t.remark else t.repo
        lines.append(f"| {name} | {t.pairs} ({t.tag_pairs} + {t.pairs - t.tag_pairs}) | {t.compared} | "
                     f"{len(t.wrong)} | {len(t.skips)} | {t.errors_dvc_failed} | {len(t.spurious_errors)} | "
                     f"{t.beyond_dvc} |")
    total = Tally("**total**", pairs=sum(t.pairs for t in tallies), tag_pairs=sum(t.tag_pairs for t in tallies),
                  compared=sum(t.compared for t in tallies), errors_dvc_failed=sum(t.errors_dvc_failed for t in tallies),
                  beyond_dvc=sum(t.beyond_dvc for t in tallies))
    lines.append(f"| **total** | {total.pairs} ({total.tag_pairs} + {total.pairs - total.tag_pairs}) | "
                 f"{total.compared} | {sum(len(t.wrong) for t in tallies)} | {sum(len(t.skips) for t in tallies)} | "
                 f"{total.errors_dvc_failed} | {sum(len(t.spurious_errors) for t in tallies)} | {total.beyond_dvc} |")
    problems = [p for t in tallies for p in (*t.wrong, *t.skips, *t.spurious_errors)]
    if problems:
        lines += ["", "Problems:", ""] + [f"- {p}" for p in problems[:200]]
    lines += ["", (f"Commit pairs: up to {sample} per repository, evenly spaced over every commit of every "
                  "branch compared with its first parent.")]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=Path, default=Path(os.environ.get("CI_MLOPS_REALREPOS", DEFAULT_REPOS)))
    parser.add_argument("--workdir", type=Path, default=None, help="where to clone (default: a temporary folder)")
    parser.add_argument("--sample", type=int, default=20, help="commit pairs per repository (default 20)")
    parser.add_argument("--only", action="append", default=[], help="a repository name (repeatable)")
    parser.add_argument("--markdown", type=Path, default=None, help="write the table to this file")
    args = parser.parse_args(argv)
    bundles = sorted(args.repos.glob("*.bundle")) if args.repos.is_dir() else []
    if args.only:
        bundles = [b for b in bundles if b.name.removesuffix(".bundle") in args.only]
    if not bundles:
        print(f"conformance: no *.bundle in {args.repos}: nothing to compare", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory(prefix="ci-mlops-conformance-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        tallies = []
        for bundle in bundles:
            print(f"conformance: {bundle.name} ...", file=sys.stderr, flush=True)
            tallies.append(check_repo(bundle, workdir, args.sample))
    text = markdown(tallies, args.sample)
    print(text, end="")
    if args.markdown:
        args.markdown.write_text(text)
    bad = sum(len(t.wrong) + len(t.skips) + len(t.spurious_errors) for t in tallies)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
