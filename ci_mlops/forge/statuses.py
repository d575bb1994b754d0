"""Commit statuses through the forge interface: the overall verdict, and one status per check.

The overall status (``--context``, default ``ci-mlops/gates``) is what a branch rule
or merge check requires. With per-check statuses each gate, data check and slice check
also gets its own (``ci-mlops/gates/test.accuracy min``), so the pipeline page lists
which gate failed without opening a log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ci_mlops.forge.base import StatusResult
from ci_mlops.forge.junit import items

NAME_LIMIT = 255


@dataclass(frozen=True)
class PlannedStatus:
    context: str
    state: str
    description: str


def plan_statuses(check: dict[str, Any], state: str, description: str, context: str, *,
                  per_check: bool) -> list[PlannedStatus]:
    """The overall status first, then (``per_check``) one per gate and check, skipped ones left out."""
    planned = [PlannedStatus(context, state, description)]
    if per_check:
        for item in items(check):
            if item.skipped:
                continue
            planned.append(PlannedStatus(f"{context}/{item.name}"[:NAME_LIMIT],
                                         "success" if item.passed else "failure",
                                         item.message or ("passed" if item.passed else "failed")))
    return planned


def publish(set_status: Callable[..., StatusResult], sha: str, planned: list[PlannedStatus],
            target_url: str | None) -> list[StatusResult]:
    return [set_status(sha, p.state, p.context, p.description, target_url) for p in planned]
