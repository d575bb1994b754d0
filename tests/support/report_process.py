"""``ci-mlops report --base main`` in a process of its own, and whether it imported a given module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def report_importing(repo: Path, module: str, *args: str) -> tuple[str, bool]:
    """The report's output, and whether the process imported ``module`` (e.g. a library the report should skip)."""
    code = ("import sys\nfrom ci_mlops.cli import main\ntry:\n    main(['report', '--base', 'main', *sys.argv[2:]])\n"
            "finally:\n    print(sys.argv[1] in sys.modules, file=sys.stderr)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITLAB_CI")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    done = subprocess.run([sys.executable, "-c", code, module, *args], cwd=repo, capture_output=True, text=True,
                          env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr.strip().splitlines()[-1] == "True"
