"""ruff finds nothing in the tree, with the rules of pyproject.toml (.ci/run also runs it, and mypy)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False)


def test_the_tree_is_lint_clean():
    proc = ruff(".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_new_finding_fails(tmp_path):
    # The project's rules, not ruff's defaults: an unsorted import block and a list whose two
    # strings were joined by a missing comma are both findings.
    bad = tmp_path / "bad.py"
    bad.write_text('import sys\nimport os\n\nNAMES = ["a" "b", os.sep, sys.path]\n')
    proc = ruff("--config", str(ROOT / "pyproject.toml"), "--output-format", "concise", str(bad))
    assert proc.returncode == 1
    assert "I001" in proc.stdout and "ISC004" in proc.stdout, proc.stdout
