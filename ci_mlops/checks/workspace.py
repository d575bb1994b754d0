"""``ci-mlops check`` as a plain function: judge the working tree with the gates that decide.

:func:`check_workspace` loads the config, picks the deciding gates (the base branch's in a
pull request, :mod:`~ci_mlops.checks.gatesource`), builds the metrics report when metric
gates need one, runs everything strictly and returns what the command prints and where
each failure is annotated. The command only formats, writes and sets outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ci_mlops.checks.gatesource import GateSource, deciding_config
from ci_mlops.checks.locate import Location, Locator, project_root
from ci_mlops.checks.records import Item, Verdict
from ci_mlops.checks.runner import run
from ci_mlops.config import Config, load_config
from ci_mlops.report import build_report

if TYPE_CHECKING:
    from ci_mlops.report.document import ReportDocument


@dataclass
class WorkspaceCheck:
    """One run of the checks on the working tree."""

    verdict: Verdict
    report: ReportDocument | None  # None when no metric gate needed one
    source: GateSource
    config: Config  # the deciding config
    root: Path
    locator: Locator

    def annotations(self) -> list[tuple[Item, Location]]:
        """Every failure and the config line it is annotated on."""
        return [(item, self.locator.locate(item)) for item in self.verdict.failures()]


def check_workspace(config_path: str | None = None, *, base: str | None = None, gates_from: str = "auto",
                    env: Mapping[str, str] | None = None) -> WorkspaceCheck:
    """Run every configured gate and check on the working tree; UserError on a config or data problem.

    ``env`` is the CI environment that tells a pull request run (default: ``os.environ``).
    """
    config = load_config(config_path, required=config_path is not None)
    root = project_root(config_path)
    config, source = deciding_config(config, root, gates_from=gates_from, base=base, env=env)
    # The report (git, DVC metrics, plots) is only needed by metric gates.
    report = build_report(root, base, None, config=config) if config.settings.metrics else None
    verdict = run(config, root, report, strict=True)
    if source.origin != "workspace":
        verdict.extra["gate_source"] = source.to_json()
    if report and report.get("notes"):
        verdict.extra["notes"] = report["notes"]
    if config.path is None:
        verdict.extra["config"] = None  # no .ci-mlops.yml: nothing is configured, so nothing was checked
    locator = Locator.for_config(config, root, gates_changed=verdict.gates_changed)
    return WorkspaceCheck(verdict, report, source, config, root, locator)
