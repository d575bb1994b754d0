"""Everything ``ci-mlops check`` judges: metric gates, data checks and slices.

Modules: :mod:`~ci_mlops.checks.gates` (the ``metrics:`` section against a report),
:mod:`~ci_mlops.checks.data` (the ``data:`` section against data files),
:mod:`~ci_mlops.checks.slices` (per-group metrics and gap gates),
:mod:`~ci_mlops.checks.gatesource` (whose gates decide a pull request) and
:mod:`~ci_mlops.checks.runner` (all of them in one call, for ``check`` and the PR report).
"""

from __future__ import annotations

from ci_mlops.checks.runner import (
    add_to_report,
    count_all,
    count_failed,
    data_markdown,
    gates_markdown,
    run_all,
    run_data_checks,
    run_slices,
    sections,
    summary_markdown,
)

__all__ = ["add_to_report", "count_all", "count_failed", "data_markdown", "gates_markdown", "run_all",
           "run_data_checks", "run_slices", "sections", "summary_markdown"]
