"""`ci-mlops init --yes` on real repositories (git bundles or clones), linted, as a Markdown table.

    python tools/init_realrepos.py /path/to/bundles/*.bundle   # or paths of git clones

Each repository is cloned into a temporary folder (the originals are never touched), `init
--yes` runs there, and every generated workflow goes through zizmor (pedantic), actionlint and
check-jsonschema. One row per repository: what init chose and how many lint findings (must be 0).
Exit 1 when any init failed or any workflow has findings. docs/init.md records the result.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from tests.support.lint import lint  # noqa: E402  (the test suite's linter runner)


def run(repo: Path) -> tuple[list[str], bool]:
    proc = subprocess.run([sys.executable, "-m", "ci_mlops", "init", str(repo), "--yes"],
                          capture_output=True, text=True)
    name = repo.name
    if proc.returncode != 0:
        return [name, f"init failed: {proc.stderr.strip()}", "", "", "", "", "", ""], False
    config = yaml.safe_load((repo / ".ci-mlops.yml").read_text())
    pr = yaml.safe_load((repo / ".github/workflows/ci-mlops-pr.yml").read_text())
    steps = {s["name"]: s for s in pr["jobs"]["train"]["steps"]}
    project_dvc = steps.get("Install DVC into the project's environment", {}).get("run", "")
    notes = [line.strip() for line in proc.stdout.splitlines() if line.strip().startswith("note:")]
    overlaps = sum("already runs" in n for n in notes)
    findings = lint(sorted((repo / ".github/workflows").glob("ci-mlops-*.yml")))
    row = [name, str(config["python"]), f"`{config['install']}`" + (f" + `{project_dvc}`" if project_dvc else ""),
           f"`{config['test']}`" if config["test"] else "none", f"`{config['train']}`" if config["train"] else "none",
           "yes" if any("trains on GPUs?" in n for n in notes) else "no",
           f"{overlaps} overlapping" + (", replace_cml" if (config.get("comment") or {}).get("replace_cml") else ""),
           str(len(findings))]
    return row, not findings


def main(sources: list[str]) -> int:
    print("| repository | python | install | test | train | GPU note | existing workflows | lint findings |")
    print("|---|---|---|---|---|---|---|---|")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for source in sources:
            dest = Path(tmp) / Path(source).name.removesuffix(".bundle")
            subprocess.run(["git", "clone", "-q", source, str(dest)], check=True)
            row, good = run(dest)
            ok = ok and good
            print("| " + " | ".join(row) + " |")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python tools/init_realrepos.py BUNDLE_OR_REPO...")
    sys.exit(main(sys.argv[1:]))
