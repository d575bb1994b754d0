"""Everything ``ci-mlops check`` judges: metric gates, data checks and slices.

Modules: :mod:`~ci_mlops.checks.gates` (the ``metrics:`` section against a report),
:mod:`~ci_mlops.checks.data` (the ``data:`` section against data files),
:mod:`~ci_mlops.checks.slices` (per-group metrics and gap gates),
:mod:`~ci_mlops.checks.gatesource` (whose gates decide a pull request),
:mod:`~ci_mlops.checks.runner` (all of them in one call, for ``check`` and the PR report),
:mod:`~ci_mlops.checks.records` (the results and the verdict),
:mod:`~ci_mlops.checks.render` (the verdict as log text and Markdown) and
:mod:`~ci_mlops.checks.locate` (the config line a failure is annotated on).

The names below are loaded from their modules on first use: a report whose config has metric
gates only imports ``checks.gatesource`` and never the data checks' or slices' readers.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from ci_mlops.checks.records import Item, Verdict
    from ci_mlops.checks.render import data_markdown, gates_markdown, sections, slices_markdown, summary_markdown
    from ci_mlops.checks.runner import add_to_report, run, run_all, run_data_checks, run_gates, run_slices

__all__ = ["Item", "Verdict", "add_to_report", "data_markdown", "gates_markdown", "run", "run_all",
           "run_data_checks", "run_gates", "run_slices", "sections", "slices_markdown", "summary_markdown"]

_HOMES = {"Item": "records", "Verdict": "records", "data_markdown": "render", "gates_markdown": "render",
          "sections": "render", "slices_markdown": "render", "summary_markdown": "render"}


def __getattr__(name: str) -> object:
    """A public name of the package, from its module (``runner`` unless :data:`_HOMES` says otherwise)."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module  # lazy: only a caller of a package-level name needs it

    return getattr(import_module(f"{__name__}.{_HOMES.get(name, 'runner')}"), name)
