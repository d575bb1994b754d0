"""`ci-mlops deploy --plan` on every tag of real repositories, checked against GTO itself.

For each ``NAME.bundle`` in the real-repos folder (default ``../shared/realrepos``, skipped
when absent), the bundle is cloned and ``deploy --plan --tag TAG`` runs on every tag twice:

* as the repository is (its default branch's settings: no ``deploy.stages``, no ``.gto``
  in these repositories, so stage tags are refused), and
* with an allow-list of the stages its tags use (``--config`` with ``deploy.stages``), as a
  team adopting ci-mlops would declare.

Every GTO registry tag's facts (version, stage, commit) are compared with GTO's own
registry (``gto.api.history``). Prints one Markdown table per repository and a summary;
exit 1 when a fact disagrees with GTO or a tag gets an internal error.

    python tools/deploy_conformance.py [--realrepos DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def plan(repo: Path, tag: str, config: Path | None) -> tuple[int, dict[str, str], str]:
    out = repo.parent / "outputs.txt"
    out.write_text("")
    args = [sys.executable, "-m", "ci_mlops", "deploy", "--plan", "--tag", tag]
    if config:
        args += ["--config", str(config)]
    env = {**os.environ, "GITHUB_OUTPUT": str(out), "GITHUB_TOKEN": "", "CI_MLOPS_TOKEN": "",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("GITHUB_ACTIONS", None)
    proc = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)
    facts = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return proc.returncode, facts, lines[-1] if lines else ""


def gto_reference(repo: Path) -> dict[str, dict[str, str]]:
    """tag -> {version, stage, commit} as GTO's registry resolves it."""
    try:
        from gto import api
    except ImportError:
        return {}
    out: dict[str, dict[str, str]] = {}
    for name in api.show(str(repo), table=False) or {}:
        for event in api.history(str(repo), name):
            if event.get("ref") and event.get("event") in ("registration", "assignment"):
                version = str(event.get("version") or "")
                out[event["ref"]] = {"version": version.removeprefix("v") if version.startswith("v") else "",
                                     "stage": event.get("stage") or "", "commit": event.get("commit") or ""}
    return out


def classify(code: int, facts: dict[str, str], last: str) -> str:
    if code == 0 and facts.get("release") == "true":
        return "release"
    if code == 0:
        return "nothing to release"
    if code == 2:
        return "refused"
    return f"error (exit {code})"


def run_repo(bundle: Path, work: Path) -> tuple[list[str], dict[str, int]]:
    repo = work / bundle.stem / "repo"
    subprocess.run(["git", "clone", "-q", str(bundle), str(repo)], check=True, capture_output=True)
    tags = subprocess.run(["git", "tag", "--list", "--sort=creatordate"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.split()
    sys.path.insert(0, str(ROOT))
    from ci_mlops.deploy.tags import try_parse

    stages = sorted({t.stage for t in map(try_parse, tags) if t is not None and t.stage})
    allow = work / bundle.stem / "allow.yml"
    allow.write_text("deploy:\n  stages:\n" + "".join(f"    {s}: {s}\n" for s in stages) if stages else "{}\n")
    reference = gto_reference(repo)
    counts = {"tags": len(tags), "release": 0, "nothing to release": 0, "refused": 0, "refused as is": 0,
              "gto facts checked": 0, "gto mismatches": 0, "errors": 0}
    rows = ["| Tag | As is | With `deploy.stages` | version / stage / environment | artifacts | GTO agrees |",
            "|---|---|---|---|---|---|"]
    for tag in tags:
        code_a, facts_a, last_a = plan(repo, tag, None)
        code, facts, last = plan(repo, tag, allow)
        as_is, kind = classify(code_a, facts_a, last_a), classify(code, facts, last)
        if code_a == 2:
            counts["refused as is"] += 1
        counts[kind if kind in counts else "errors"] += 1
        if kind.startswith("error") or as_is.startswith("error"):
            counts["errors"] += 1
        agree = ""
        if tag in reference and kind == "release":
            ref = reference[tag]
            mine = {"version": facts.get("version", ""), "stage": facts.get("stage", ""),
                    "commit": facts.get("commit", "")}
            counts["gto facts checked"] += 1
            agree = "yes" if mine == ref else f"no: GTO {ref}"
            counts["gto mismatches"] += mine != ref
        what = (f"{facts.get('version') or '—'} / {facts.get('stage') or '—'} / {facts.get('environment')}"
                if kind == "release" else last.replace("|", "\\|")[:90])
        arts = f"`{facts['artifacts']}`" if facts.get("artifacts") else ""
        rows.append(f"| `{tag}` | {as_is} | {kind} | {what} | {arts} | {agree} |")
    return rows, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = next((p for p in (ROOT.parent / "shared" / "realrepos", ROOT.parents[1] / "shared" / "realrepos")
                    if p.is_dir()), ROOT.parent / "shared" / "realrepos")
    parser.add_argument("--realrepos", type=Path, default=default)
    args = parser.parse_args(argv)
    bundles = sorted(args.realrepos.glob("*.bundle")) if args.realrepos.is_dir() else []
    if not bundles:
        print(f"no bundles in {args.realrepos}; nothing to check")
        return 0
    failed = False
    totals: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="deploy-conformance-") as tmp:
        for bundle in bundles:
            rows, counts = run_repo(bundle, Path(tmp))
            print(f"\n### {bundle.stem}\n")
            print(", ".join(f"{k}: {v}" for k, v in counts.items()) + "\n")
            if counts["tags"]:
                print("\n".join(rows))
            failed |= bool(counts["gto mismatches"] or counts["errors"])
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
    print("\n**Total**: " + ", ".join(f"{k}: {v}" for k, v in totals.items()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
