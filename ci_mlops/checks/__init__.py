"""Everything ``ci-mlops check`` judges: metric gates, data checks and slices.

Modules: :mod:`~ci_mlops.checks.gates` (the ``metrics:`` section against a report),
:mod:`~ci_mlops.checks.data` (the ``data:`` section against data files),
:mod:`~ci_mlops.checks.slices` (per-group metrics and gap gates),
:mod:`~ci_mlops.checks.gatesource` (whose gates decide a pull request),
:mod:`~ci_mlops.checks.runner` (all of them in one call, for ``check`` and the PR report),
:mod:`~ci_mlops.checks.records` (the results and the verdict),
:mod:`~ci_mlops.checks.render` (the verdict as log text and Markdown) and
:mod:`~ci_mlops.checks.locate` (the config line a failure is annotated on).
"""

from __future__ import annotations

from ci_mlops.checks.records import Item, Verdict
from ci_mlops.checks.render import data_markdown, gates_markdown, sections, slices_markdown, summary_markdown
from ci_mlops.checks.runner import add_to_report, run, run_all, run_data_checks, run_gates, run_slices

__all__ = ["Item", "Verdict", "add_to_report", "data_markdown", "gates_markdown", "run", "run_all",
           "run_data_checks", "run_gates", "run_slices", "sections", "slices_markdown", "summary_markdown"]
