"""Regenerate README.md's example PR comment and check output from a real `ci-mlops demo` run.

    python tools/gen_demo_example.py          # runs the demo (about 20 s) and rewrites the README blocks

The blocks sit between ``<!-- BEGIN demo-comment -->`` / ``<!-- END demo-comment -->`` and
``<!-- BEGIN demo-check -->`` / ``<!-- END demo-check -->``. The demo's commit SHAs change
with every run (commit dates), so they are written as fixed placeholders; everything else is
the demo's output byte for byte. tests/e2e/test_demo.py fails when the README differs from it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
COMMENT = ("<!-- BEGIN demo-comment (generated from `ci-mlops demo` by tools/gen_demo_example.py; do not edit) -->",
           "<!-- END demo-comment -->")
CHECK = ("<!-- BEGIN demo-check (generated from `ci-mlops demo` by tools/gen_demo_example.py; do not edit) -->",
         "<!-- END demo-check -->")
PLACEHOLDERS = {"main": "a1b2c3d", "head": "e4f5a6b"}  # short SHAs of the demo's two commits
RULE = "-" * 72


def sections(stdout: str, root: Path) -> tuple[str, str]:
    """(PR comment, check output) from the demo's stdout, with the SHAs replaced by placeholders."""
    parts = stdout.split(f"\n{RULE}\n")
    comment = check = None
    for title, body in zip(parts[1::2], parts[2::2]):
        if title.startswith("The PR comment CI would post"):
            comment = body.strip("\n")
        elif title.startswith("Gate verdicts"):
            check = body.strip("\n")
    if comment is None or check is None:
        raise ValueError("the demo printed no PR comment or no check output")
    return normalize(comment, root), normalize(check, root)


def normalize(text: str, root: Path) -> str:
    for ref, placeholder in (("main", PLACEHOLDERS["main"]), ("HEAD", PLACEHOLDERS["head"])):
        sha = subprocess.run(["git", "rev-parse", "--short=7", ref], cwd=root, check=True,
                             capture_output=True, text=True).stdout.strip()
        text = re.sub(rf"\b{sha}\b", placeholder, text)
    return text


def embed(readme: str, comment: str, check: str) -> str:
    readme = _replace(readme, COMMENT, f"---\n\n{comment}\n\n---")
    return _replace(readme, CHECK, f"```text\n{check}\n```")


def block(readme: str, markers: tuple[str, str] = COMMENT) -> str:
    """The text between a pair of markers."""
    begin, end = markers
    return readme.split(begin, 1)[1].split(end, 1)[0]


def _replace(readme: str, markers: tuple[str, str], body: str) -> str:
    begin, end = markers
    if begin not in readme or end not in readme:
        raise ValueError(f"README.md has no {begin} ... {end} block")
    head, rest = readme.split(begin, 1)
    return f"{head}{begin}\n{body}\n{end}{rest.split(end, 1)[1]}"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="ci-mlops-readme-") as tmp:
        target = Path(tmp) / "demo"
        proc = subprocess.run([sys.executable, "-m", "ci_mlops", "demo", str(target)], capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            return 1
        comment, check = sections(proc.stdout, target)
    readme = README.read_text(encoding="utf-8")
    updated = embed(readme, comment, check)
    if updated != readme:
        README.write_text(updated, encoding="utf-8")
        print(f"wrote {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
