"""What `init` detects, written out for the template tests: a repository that is not on disk."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ci_mlops.scaffold.detect import DvcFacts, Remote, RepoFacts


def sample_facts(*, dvc: bool = True, remote: str | None = "s3://bucket/cache", tracked: Sequence[str] = ("data/train.csv",),
                 dvcyaml: Sequence[str] = ("dvc.yaml",), plots: Sequence[str] = ()) -> RepoFacts:
    """A repository on ``main`` with Python 3.11 and tests; with ``dvc``, its dvc.yaml files, plots and
    tracked data, and ``remote`` (when given) as the default remote ``storage``."""
    d = DvcFacts(initialised=dvc)
    if dvc:
        d.plots = list(plots)
        d.dvcyaml_paths = list(dvcyaml)
        d.tracked = list(tracked)
        if remote:
            d.remotes = [Remote("storage", remote)]
            d.default_remote = "storage"
    return RepoFacts(root=Path("/nonexistent"), default_branch="main", python="3.11", install=None, dvc=d,
                     tests=True, train_script=None, workflows=[], config=None, name="repo")
