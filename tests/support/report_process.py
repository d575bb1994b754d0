"""``ci-mlops report`` in a process of its own, and which of some modules it loaded."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

# What would make the report act as in a CI run (a job summary, gates from a base branch): not the test's.
_CI_VARIABLES = ("GITHUB_ACTIONS", "GITLAB_CI", "GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME")


def report_modules(repo: Path, modules: Iterable[str], args: Iterable[str],
                   env: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """``ci-mlops report ARGS``'s output, and which of ``modules`` its process had loaded when it ended."""
    code = (f"import sys\nfrom ci_mlops.cli import main\ntry:\n    main(['report', *{list(args)!r}])\n"
            f"finally:\n    print([m for m in {list(modules)!r} if m in sys.modules], file=sys.stderr)\n")
    run_env = {k: v for k, v in os.environ.items() if k not in _CI_VARIABLES}
    run_env.update(env or {}, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, env=run_env)
    assert done.returncode == 0, done.stderr
    loaded: list[str] = ast.literal_eval(done.stderr.strip().splitlines()[-1])  # the list printed above
    return done.stdout, loaded


def report_importing(repo: Path, module: str, *args: str) -> tuple[str, bool]:
    """``ci-mlops report --base main ARGS``'s output, and whether it imported ``module`` (e.g. a library
    the report should skip)."""
    out, loaded = report_modules(repo, [module], ["--base", "main", *args])
    return out, bool(loaded)
