"""The repository a workflow simulation starts from: the shared DVC repository after `ci-mlops init`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import run_cli
from tests.support.dvc_factory import commit_all, copy_repo


def initialised_repo(shared: Path, dest: Path, message: str, config: dict[str, Any] | None = None) -> Path:
    """A copy of ``shared`` at ``dest`` with ``config`` (when given) as its .ci-mlops.yml, after
    `ci-mlops init --yes`, committed with ``message``."""
    repo = copy_repo(shared, dest)
    (repo / "requirements.txt").write_text("")  # init generates an install step only when there is something to install
    if config is not None:
        (repo / ".ci-mlops.yml").write_text(yaml.safe_dump({"version": 1, **config}, sort_keys=False))
    out = run_cli("init", "--yes", cwd=repo)
    assert out.returncode == 0, out.stderr
    commit_all(repo, message)
    return repo
