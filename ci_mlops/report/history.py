"""Metric trends over the last N first-parent commits of the base branch, in one batched read.

The metrics files declared at the base revision are read at every commit through
one ``git cat-file --batch`` round trip (plus the ``dvc.lock`` files, for metrics
kept in the DVC cache). A commit whose file is missing or unreadable contributes
a gap: history is context for a reviewer, never a reason to fail the report. A gap where
the commit's ``dvc.lock`` records the file but the local DVC cache lacks it, or where the file
does not parse, is listed in ``unread`` (the report says so in a note: never a silent gap).
"""

from __future__ import annotations

import math
import os
import posixpath

from ci_mlops.dvc import cache as dvc_cache
from ci_mlops.dvc.project import DVCLOCK, DvcProject, _add_lock, _parse_lock
from ci_mlops.dvc.values import ParseError, finite_floats, metrics_row, metrics_shape, metrics_values, parse
from ci_mlops.errors import UserError
from ci_mlops.git import BlobReader
from ci_mlops.safepath import path_text

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:  # annotations only: its TypedDicts cost ~2 ms to create at start-up
    from typing import Any, TypeAlias

    from ci_mlops.dvc.values import Shape
    from ci_mlops.report.rows import Trend

    Flat: TypeAlias = "tuple[list[str], list[Any]]"  # a file's metrics at one commit: names, values

SPARKS = "▁▂▃▄▅▆▇█"
_BARS = tuple(SPARKS)


def collect_history(root: str | os.PathLike[str], base_sha: str, count: int, metrics_paths: list[str], project: DvcProject,
                    reader: BlobReader, unread: dict[tuple[str, str], list[str]] | None = None,
                    ) -> tuple[list[str], dict[tuple[str, str], list[Any]]]:
    """(commits oldest first, {(file, key): values oldest first with None for gaps}).

    ``unread``, when given, gets {(file, why): [commits]} of the gaps a commit declares but that could
    not be read; ``why`` is ``"cache"`` (its ``dvc.lock`` records it, the local DVC cache lacks it) or
    ``"parse"`` (the file does not parse).
    """
    root = path_text(root)
    shas = list(reversed(reader.first_parents(base_sha, count)))
    if not shas or not metrics_paths:
        return shas, {}
    cached = [p for p in metrics_paths if (loc := dvc_cache.locate(project, p)) is not None and loc.cached]
    lock_paths = sorted({_lock_for(project, p) for p in cached})
    specs = [(sha, path) for sha in shas for path in [*metrics_paths, *lock_paths]]
    blobs = iter(reader.read_many(specs))
    per_commit: list[dict[str, Flat]] = []
    missed: dict[tuple[str, str], list[str]] = {} if unread is None else unread
    read: dict[tuple[str, bytes], Flat] = {}  # a file unchanged between commits is parsed once
    flatteners = {path: _Flattener() for path in metrics_paths}
    for sha in shas:
        files = {path: next(blobs) for path in metrics_paths}
        locks = {path: next(blobs) for path in lock_paths}
        lost = _fill_from_cache(root, files, locks, cached, project) if cached else []
        values: dict[str, Flat] = {}
        for path, blob in files.items():
            if blob is None:
                if path in lost:
                    missed.setdefault((path, "cache"), []).append(sha)
                continue
            known = read.get((path, blob))
            if known is not None:
                values[path] = known
                continue
            try:
                values[path] = read[(path, blob)] = flatteners[path].read(parse(blob, path))
            except ParseError:
                missed.setdefault((path, "parse"), []).append(sha)
                continue
        per_commit.append(values)
    columns = {(f, k): column for f in metrics_paths for k, column in _columns(per_commit, f).items()}
    return shas, {key: columns[key] for key in sorted(columns)}


class _Flattener:
    """One file's documents over the history, each as ``metrics_values`` reads it: (names, values).

    Commit after commit a file is nearly always nested the same way: a document nested as the shape
    in hand has its names, and only its values are read. One nested otherwise (a metric added or
    removed) is flattened and gives the next shape; when two shapes in a row fit no later document
    (keys that come and go at every commit), the rest are flattened without one.
    """

    __slots__ = ("shape", "unfit")

    def __init__(self) -> None:
        self.shape: Shape | None = None
        self.unfit = 0  # shapes made in a row that no later document fitted

    def read(self, data: Any) -> Flat:
        if self.shape is not None:
            row = metrics_row(data, self.shape)
            if row is not None:
                self.unfit = 0
                return self.shape[1], row
        flat = metrics_values(data)  # a document that is not a mapping raises ParseError here
        self.shape = metrics_shape(data, flat) if self.unfit < 2 else None
        self.unfit += 1
        return list(flat) if self.shape is None else self.shape[1], list(flat.values())


def _columns(per_commit: list[dict[str, Flat]], path: str) -> dict[str, list[Any]]:
    """{key: its value at every commit, None where the commit lacks the file or the key} for one file."""
    count = len(per_commit)
    present = [(index, values[path]) for index, values in enumerate(per_commit) if path in values]
    if not present:
        return {}
    keys = present[0][1][0]
    if all(names is keys or names == keys for _, (names, _) in present[1:]):
        # the usual history: every commit holds the same keys in the same order, transposed in one go
        rows = zip(*[row for _, (_, row) in present], strict=True)
        if len(present) == count:
            return {key: list(row) for key, row in zip(keys, rows, strict=True)}
        out: dict[str, list[Any]] = {}
        for key, row in zip(keys, rows, strict=True):
            column = out[key] = [None] * count
            for (index, _), value in zip(present, row, strict=True):
                column[index] = value
        return out
    by_key: dict[str, list[Any]] = {}  # keys come and go: each gets its column when first seen
    for index, (names, found) in present:
        for key, value in zip(names, found, strict=True):
            seen = by_key.get(key)
            if seen is None:
                seen = by_key[key] = [None] * count
            seen[index] = value
    return by_key


def _lock_for(project: DvcProject, path: str) -> str:
    location = dvc_cache.locate(project, path)
    output = location.output if location else path
    for stage in project.stages.values():
        if output in stage.outs:
            folder = posixpath.dirname(stage.dvcfile)
            return posixpath.join(folder, DVCLOCK) if folder else DVCLOCK
    return DVCLOCK


def _fill_from_cache(root: str, files: dict[str, bytes | None], locks: dict[str, bytes | None],
                     cached: list[str], project: DvcProject) -> list[str]:
    """Fill ``files`` from the DVC cache; the paths the commit's lock records that the cache lacks."""
    outs: dict[str, dict[str, Any]] = {}
    for lock_path, text in locks.items():
        try:
            lock = _parse_lock(text, lock_path, "history")
        except UserError:
            continue
        scratch = DvcProject(root=root, rev=None)
        folder = posixpath.dirname(lock_path)
        for name, locked in (lock.get("stages") or {}).items():
            stage = project.stages.get(name if not folder else f"{folder}/dvc.yaml:{name}")
            if isinstance(locked, dict):
                _add_lock(scratch, stage.wdir if stage else folder, locked)
        outs.update(scratch.lock_outs)
    scratch = DvcProject(root=root, rev=None, lock_outs=outs)
    lost: list[str] = []
    for path in cached:
        location = dvc_cache.locate(scratch, path)
        if files.get(path) is None and location is not None:
            found = dvc_cache.read_cached(root, location)
            files[path] = None if dvc_cache.is_missing(found) else found
            if files[path] is None and found is not dvc_cache.NOT_IN_OUTPUT:
                lost.append(path)
    return lost


def sparkline(values: list[Any]) -> str:
    """``▁▃▅█``-style line over the finite numbers; gaps are skipped."""
    return _spark(finite_floats(values)[1])


def _spark(numbers: list[float], low: float | None = None, high: float | None = None) -> str:
    """The bars of ``numbers`` (Python floats), between ``low`` and ``high`` (their least and greatest
    when not given): one bar per number."""
    if not numbers:
        return ""
    low = min(numbers) if low is None else low
    high = max(numbers) if high is None else high
    if math.isclose(low, high):
        return SPARKS[3] * len(numbers)
    bars = _BARS  # a tuple's item is the one string, not a new one per value as a str's index makes
    scale = (len(SPARKS) - 1) / (high - low)
    if scale == 0 or scale == math.inf:  # a span beyond the float range, or one below 2.2e-308
        return "".join([bars[i] for i in _exact_bars(numbers, low, high)])
    nearest = float.__round__  # round() of a float, without round()'s lookup of the method per value
    return "".join([bars[nearest((v - low) * scale)] for v in numbers])


def _exact_bars(numbers: list[float], low: float, high: float) -> list[int]:
    """Each number's bar by exact arithmetic, where the span overflows or ``steps / span`` does
    (``(v - low) * scale`` would be inf * 0 or 0 * inf there)."""
    from fractions import Fraction  # lazy: only for such spans; fractions imports decimal

    steps, base, span = len(SPARKS) - 1, Fraction(low), Fraction(high) - Fraction(low)
    return [round((Fraction(v) - base) / span * steps) for v in numbers]


def trend(values: list[Any], finite: tuple[list[int | float], list[float]] | None = None) -> Trend:
    """A series' sparkline, least and greatest value over its finite numbers (one bar each).

    ``finite`` is ``finite_floats(values)`` when the caller has it for another use too (the anomaly
    check): it is not worked out again.
    """
    numbers, floats = finite_floats(values) if finite is None else finite
    if not numbers:
        return {"values": values, "sparkline": "", "min": None, "max": None}
    low, high = min(numbers), max(numbers)  # float() keeps order: the floats' least and greatest are these
    return {"values": values, "sparkline": _spark(floats, float(low), float(high)), "min": low, "max": high}
