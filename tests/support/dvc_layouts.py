"""Each repository layout of :func:`make_dvc_repo` built once per test run, then copied.

A build costs git, DVC and three pipeline stages (about a CPU-second and two or three of wall
time); a copy costs a few milliseconds. :class:`Layouts` builds a layout (one combination of
``make_dvc_repo``'s options) the first time a test asks for it, into a folder of the test run,
and hands out copies (with their own remote, see :func:`copy_repo`)::

    def test_x(dvc_layouts, tmp_path):
        repo = dvc_layouts.copy(tmp_path / "repo", cached_metrics=True)

Under pytest-xdist the workers share the builds: the run's temporary folder (the parent of
each worker's) holds them, and a lock file per layout makes the first worker that needs one
build it while another that needs it meanwhile waits, then copies. A build that failed half
way is removed and tried again by the next request. The folder belongs to this run: nothing
is reused from an earlier one.
"""

from __future__ import annotations

import fcntl
import inspect
import os
import shutil
from pathlib import Path

from tests.support.dvc_factory import copy_repo, make_dvc_repo

# make_dvc_repo's options and their defaults
OPTIONS = {name: p.default for name, p in inspect.signature(make_dvc_repo).parameters.items()
           if p.kind is inspect.Parameter.KEYWORD_ONLY}
_DONE = "built"


def run_folder(basetemp: Path) -> Path:
    """Where this run's layouts go: the folder all xdist workers share, or the run's own without xdist."""
    return basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp


def layout_name(options: dict[str, bool]) -> str:
    """The folder name of a layout: its options that differ from ``make_dvc_repo``'s defaults."""
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise TypeError(f"make_dvc_repo has no option {', '.join(sorted(unknown))}")
    changed = [f"{name}={options[name]}" for name, default in OPTIONS.items()
               if name in options and options[name] != default]
    return "-".join(changed) or "default"


class Layouts:
    """The built layouts of one test run, in ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def template(self, **options: bool) -> Path:
        """The repository of this layout, built on first use; never change it: take :meth:`copy`."""
        folder = self.root / layout_name(options)
        repo = folder / "repo"
        if (folder / _DONE).is_file():
            return repo
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f"{folder.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or when its process dies
            if not (folder / _DONE).is_file():
                shutil.rmtree(folder, ignore_errors=True)
                make_dvc_repo(repo, **options)
                (folder / _DONE).write_text("")
        return repo

    def copy(self, dest: Path, **options: bool) -> Path:
        """A copy of the layout at ``dest`` (and of its remote beside it, re-pointed at the copy)."""
        return copy_repo(self.template(**options), dest)
