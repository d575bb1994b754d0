"""Where a failed gate or check is annotated: the line of ``.ci-mlops.yml`` that declared it.

One rule for every command that annotates (``check``'s workflow commands, the check run of
``status --check-run``, the JUnit report of ``status --junit``): the most specific key of :attr:`Item.keys` the file has (the
rule, else its gate, file or section), in the config file named relative to the repository
root. A failed data check is on its line in the config, never on the data file: the data
file is not what a reviewer edits to change the check.

When the base branch's gates decide and this pull request changes them, the lines of the
PR's file are not where the deciding gates are written: those failures name the file
without a line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ci_mlops.checks.gatesource import GATE_SECTIONS
from ci_mlops.checks.records import Item
from ci_mlops.config import Config, find_config
from ci_mlops.errors import UserError
from ci_mlops.git import Repo


@dataclass(frozen=True)
class Location:
    """A file relative to the repository root and a 1-based line (None: the file as a whole)."""

    path: str
    line: int | None = None


@dataclass(frozen=True)
class Locator:
    """Places gates and checks on the lines of one config file.

    ``line(*keys)`` is the 1-based line of a key path in it, or None (``Config.line``).
    """

    path: str
    line: Callable[..., int | None] = field(default=lambda *keys: None)

    @classmethod
    def for_config(cls, config: Config, root: Path, *, gates_changed: bool = False) -> Locator:
        """``gates_changed``: the deciding gates are the base branch's and differ from this file's."""
        lines = {k: v for k, v in config.lines.items() if not (gates_changed and k and k[0] in GATE_SECTIONS)}
        return cls(config_file(config, root), lambda *keys: lines.get(keys))

    def locate(self, item: Item) -> Location:
        for keys in item.keys:
            line = self.line(*keys)
            if line:
                return Location(self.path, line)
        return Location(self.path)


def config_file(config: Config, root: Path) -> str:
    """The config's path relative to the repository root (as annotations need it), else as given."""
    path = Path(config.path) if config.path else find_config(root)
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def project_root(config_path: str | None) -> Path:
    """The repository the checks run in: git's root above ``config_path`` (else the working directory).

    Outside git it is that folder: data and slice checks work there; metric gates say why they cannot.
    """
    start = Path(config_path).resolve().parent if config_path else Path.cwd()
    try:
        return Repo.discover(start).root
    except UserError:
        return start
