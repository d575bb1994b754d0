"""DVC's own diff as an oracle: ``dvc metrics diff`` and ``dvc params diff`` (``--json --all``)
read, and ci-mlops report rows put in the same ``{file: {key: {old, new[, diff]}}}`` shape,
so the two can be compared value by value (conformance runs and tests).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ci_mlops.dvc.run import DvcResult, run_dvc_batch
from ci_mlops.errors import UserError

DiffShape = dict[str, dict[str, dict[str, Any]]]
KINDS = ("metrics", "params")


def diff_commands(*revs: str) -> list[list[str]]:
    """``dvc metrics diff REVS`` then ``dvc params diff REVS``, as JSON with unchanged values.

    As in DVC, no revision means HEAD against the workspace, one means it against the workspace."""
    return [[kind, "diff", *revs, "--json", "--all"] for kind in KINDS]


def read_diff(result: DvcResult) -> DiffShape:
    """The JSON a successful ``dvc metrics|params diff --json`` printed (DVC prints nothing for no values)."""
    try:
        data = json.loads(result.stdout or "{}")
    except json.JSONDecodeError as exc:
        raise UserError(f"`{result.command}` printed no JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise UserError(f"`{result.command}` printed {type(data).__name__}, not an object")
    return data


def dvc_diffs(root: str | Path, *revs: str) -> tuple[DiffShape, DiffShape]:
    """DVC's metrics and params diffs (see :func:`diff_commands`), both in one DVC process."""
    results = run_dvc_batch(root, diff_commands(*revs))
    for result in results:
        if not result.ok:
            raise UserError(f"`{result.command}` failed (exit {result.returncode}): {result.problem()}")
    metrics, params = (read_diff(result) for result in results)
    return metrics, params


def as_dvc_diff(rows: Iterable[Mapping[str, Any]]) -> DiffShape:
    """Report rows (``file``, ``key``, ``base``, ``head``, ``change``) in DVC's diff shape
    (``diff`` only where the row has a change)."""
    out: DiffShape = {}
    for row in rows:
        entry = {"old": row["base"], "new": row["head"]}
        if row["change"] is not None:
            entry["diff"] = row["change"]
        out.setdefault(row["file"], {})[row["key"]] = entry
    return out
