"""Intervals for the gated metrics of a report: read the evidence at base and head, attach the result.

For every gate in ``metrics:`` with ``significance: <confidence>``, :func:`attach`
finds the evidence and adds to that metric's report row::

    row["interval"] = {"low": ..., "high": ..., "confidence": 0.95, "significant": false,
                       "method": "bootstrap", "n": 10000, "estimate": "accuracy", ...}

and the flat JSON fields ``ci_low``, ``ci_high``, ``confidence``, ``significant``.
Evidence, in order: per-seed values (``significance.seeds``) when they hold the key,
else a paired bootstrap over the predictions file (``significance.predictions``) read at
both revisions like any DVC output. A gate that asks for significance and has no
evidence gets ``row["interval"] = {"error": "..."}``: it fails, it is never judged on
point values behind the user's back.

A metric whose interval includes zero is not claimed as improved or regressed: its
status becomes ``unchanged`` with ``unchanged_reason: "not significant"``.
"""

from __future__ import annotations

import fnmatch
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_mlops.config import Config
from ci_mlops.config.convert import build
from ci_mlops.config.records import MetricRule, Predictions, Seeds, Settings, Significance
from ci_mlops.datafiles import read_table
from ci_mlops.dvc.project import load_project
from ci_mlops.dvc.values import ParseError, parse
from ci_mlops.errors import UserError
from ci_mlops.git import WORKSPACE, BlobReader, Repo
from ci_mlops.report.collect import read_files
from ci_mlops.report.diff import summarize
from ci_mlops.report.direction import metric_segment
from ci_mlops.report.lookup import resolve_metric

if TYPE_CHECKING:  # NumPy comes in only when a gate asks for significance (report start-up)
    from ci_mlops.report.document import ReportDocument
    from ci_mlops.report.rows import IntervalEvidence, MetricRow, Revision
    from ci_mlops.significance.bootstrap import Evaluation, Interval, Side
    from ci_mlops.significance.seeds import SeedInterval

DEFAULT_RESAMPLES = Significance.resamples
INCONCLUSIVE = ("pass", "warn", "fail")


def _settings(config: Config | Settings | Mapping[str, Any]) -> Settings:
    """The typed config; the checks also run on the record itself or a plain mapping of the file's sections."""
    if isinstance(config, Settings):
        return config
    return config.settings if isinstance(config, Config) else build(Settings, config)


def wanted(config: Config | Settings | Mapping[str, Any]) -> dict[str, float]:
    """Gate key -> confidence, for the gates that ask for significance."""
    return {key: float(rule.significance) for key, rule in (_settings(config).metrics or {}).items()
            if rule.significance is not None}


def attach(config: Config | Settings | Mapping[str, Any], root: str | Path, report: ReportDocument) -> None:
    """Add an interval (or the reason there is none) to each report row a significance gate names."""
    gates = wanted(config)
    if not gates:
        return
    rows = report.get("metrics") or []
    source = _Source(Path(root), report)
    settings = _settings(config).significance or Significance()
    rules = _settings(config).metrics or {}
    try:
        for key, confidence in gates.items():
            try:
                row = resolve_metric(key, rows)
            except UserError:
                continue  # the gate itself reports the ambiguity
            if row is None or row.get("head") is None or row.get("base") is None:
                continue  # new, removed or missing: the gate says so; there is no change to qualify
            try:
                row["interval"] = _interval(key, row, rules[key], settings, confidence, source)
            except UserError as exc:
                row["interval"] = {"error": exc.message, "confidence": confidence}
                continue
            _qualify(row)
    finally:
        source.close()
    report["summary"] = summarize(rows)


def _qualify(row: MetricRow) -> None:
    """The flat JSON fields, and no improved/regressed claim when the interval includes zero."""
    interval = row["interval"]
    row["ci_low"], row["ci_high"] = interval["low"], interval["high"]
    row["confidence"], row["significant"] = interval["confidence"], interval["significant"]
    if not interval["significant"] and row.get("status") in ("improved", "regressed"):
        row["status"] = "unchanged"
        row["unchanged_reason"] = "not significant"


def _interval(key: str, row: MetricRow, rule: MetricRule, settings: Significance, confidence: float,
              source: _Source) -> IntervalEvidence:
    from ci_mlops.significance.bootstrap import bootstrap  # lazy: NumPy is slow to import
    from ci_mlops.significance.seeds import seed_interval  # lazy: NumPy is slow to import

    seeds = settings.seeds
    if seeds:
        values = source.seed_values(seeds, row["key"])
        if values is not None:
            (base, head), paired = values
            found = seed_interval(base, head, paired=paired, method=seeds.method, confidence=confidence,
                                  name=row["key"])
            return _from_seeds(found)
    predictions = settings.predictions
    if not predictions:
        where = " or significance.seeds (no seed values hold this key)" if seeds else " or significance.seeds"
        raise UserError(f"metrics.{key}.significance: no evidence to judge it with: configure "
                        f"significance.predictions{where}")
    estimate = rule.estimate or _estimate_from_key(row["key"], predictions)
    evaluation = source.evaluation(predictions, estimate)
    found_b = bootstrap(evaluation, [estimate], resamples=settings.resamples, seed=settings.seed,
                        confidence=confidence, paired=predictions.paired)[estimate]
    return _from_bootstrap(found_b, predictions.file)


def _from_bootstrap(found: Interval, file: str) -> IntervalEvidence:
    return {"method": "bootstrap", "estimate": found.metric, "file": file, "base": found.base, "head": found.head,
            "change": found.change, "low": found.low, "high": found.high, "confidence": found.confidence,
            "significant": _excludes_zero(found.low, found.high), "n": found.n, "resamples": found.resamples}


def _from_seeds(found: SeedInterval) -> IntervalEvidence:
    if found.method == "t":
        test = "paired t-interval" if found.paired else "Welch t-interval"
    else:
        test = "Wilcoxon signed-rank interval" if found.paired else "Wilcoxon rank-sum interval"
    return {"method": "seeds", "test": test, "estimate": None, "base": found.base, "head": found.head, "change": found.estimate,
            "low": found.low, "high": found.high, "confidence": found.confidence,
            "significant": _excludes_zero(found.low, found.high), "n": found.n}


def _excludes_zero(low: float, high: float) -> bool:
    return low > 0 or high < 0


_ALIASES = {"accuracy": "accuracy", "acc": "accuracy", "precision": "precision", "prec": "precision",
            "recall": "recall", "f1": "f1", "f1score": "f1", "fscore": "f1", "rocauc": "roc_auc", "auc": "roc_auc",
            "auroc": "roc_auc", "logloss": "log_loss", "crossentropy": "log_loss", "mae": "mae", "rmse": "rmse",
            "r2": "r2", "rsquared": "r2"}


def _estimate_from_key(key: str, predictions: Predictions) -> str:
    """The bootstrap metric a gate key names: ``test.roc_auc`` -> roc_auc; a column name as itself."""
    from ci_mlops.significance.bootstrap import METRICS  # lazy: NumPy is slow to import

    segment = metric_segment(key)
    name = _ALIASES.get("".join(ch for ch in segment.lower() if ch.isalnum()))
    if name:
        return name
    if segment in (predictions.columns or ()):
        return segment
    raise UserError(f"metrics.{key}.estimate: cannot tell which metric '{key}' is from its name; set "
                    f"estimate: to one of {', '.join(METRICS)} or a per-example column listed in "
                    "significance.predictions.columns")


class _Source:
    """Files at the report's base and head revisions (git blobs, DVC cache, workspace)."""

    def __init__(self, root: Path, report: ReportDocument) -> None:
        self.repo = Repo.discover(root)
        self.root = self.repo.root
        base, head = report.get("base", _UNKNOWN), report.get("head", _UNKNOWN)
        self.revs = {"base": base.get("sha"), "head": None if head.get("ref") == WORKSPACE else head.get("sha")}
        self.labels = {"base": _label(base), "head": _label(head)}
        self.reader: BlobReader | None = None
        self.projects: dict[str, Any] = {}

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()

    def project(self, side: str) -> Any:
        """The DVC project at ``side``'s revision, loaded once."""
        if side not in self.projects:
            rev = self.revs[side]
            if rev is not None and self.reader is None:
                self.reader = BlobReader(self.root)
            self.projects[side] = load_project(self.root, rev, self.reader)
        return self.projects[side]

    def read(self, side: str, paths: list[str]) -> dict[str, bytes | None]:
        project = self.project(side)
        return read_files(self.root, self.revs[side], paths, project, self.reader, required=paths,
                          label=self.labels[side])

    def listing(self, side: str) -> list[str]:
        rev = self.revs[side]
        return self.repo.ls_files(rev) if rev is not None else self.repo.ls_files(None)

    # -- seeds -----------------------------------------------------------------------------------
    def seed_values(self, seeds: Seeds, key: str) -> tuple[tuple[list[float], list[float]], bool] | None:
        """Per-seed values of ``key`` at base and head, and whether the runs pair up; None if absent."""
        if seeds.file:
            per_side = [self._list_values(side, seeds.file, key) for side in ("base", "head")]
            if per_side[0] is None or per_side[1] is None:
                return None
            return (per_side[0], per_side[1]), len(per_side[0]) == len(per_side[1])
        pattern = seeds.files or ""  # the schema requires file or files
        named = [self._glob_values(side, pattern, key) for side in ("base", "head")]
        if not named[0] or not named[1]:
            return None
        paired = sorted(named[0]) == sorted(named[1])
        order_b, order_h = sorted(named[0]), sorted(named[1])
        return ([named[0][n] for n in order_b], [named[1][n] for n in order_h]), paired

    def _glob_values(self, side: str, pattern: str, key: str) -> dict[str, float]:
        paths = sorted(p for p in self._candidates(side) if fnmatch.fnmatchcase(p, pattern))
        out = {}
        for path, blob in self.read(side, paths).items():
            if blob is None:
                continue
            value = _lookup(_parse(blob, path, self.labels[side]), key)
            if value is None:
                continue
            if not _is_number(value):
                raise UserError(f"significance.seeds: {path} at {self.labels[side]}: {key} is not a number")
            out[path] = float(value)
        return out

    def _candidates(self, side: str) -> list[str]:
        """Files a seed glob may match: git's files, plus outputs dvc.lock records at that revision."""
        names = set(self.listing(side)) | set(self.project(side).metrics_paths)
        if self.revs[side] is None:  # the workspace: untracked files too, but not git's or DVC's own folders
            for folder, dirs, files in os.walk(self.root):
                dirs[:] = [d for d in dirs if d not in (".git", ".dvc")]
                base = Path(folder).relative_to(self.root)
                names |= {(base / f).as_posix() for f in files}
        return sorted(names)

    def _list_values(self, side: str, path: str, key: str) -> list[float] | None:
        blob = self.read(side, [path]).get(path)
        if blob is None:
            return None
        value = _lookup(_parse(blob, path, self.labels[side]), key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(_is_number(v) for v in value):
            raise UserError(f"significance.seeds.file: {path} at {self.labels[side]}: {key} is not a list of "
                            "numbers (one value per seed)")
        return [float(v) for v in value]

    # -- predictions -----------------------------------------------------------------------------
    def evaluation(self, spec: Predictions, estimate: str) -> Evaluation:
        import numpy as np  # lazy: NumPy is slow to import

        from ci_mlops.significance.bootstrap import Evaluation  # lazy: NumPy is slow to import

        file = spec.file
        frames = {side: self._frame(side, file, spec, estimate) for side in ("base", "head")}
        base, head = frames["base"], frames["head"]
        actual_col, id_col = spec.actual, spec.id
        paired = spec.paired
        if id_col:
            for side, frame in frames.items():
                dup = frame[id_col].duplicated()
                if dup.any():
                    raise UserError(f"significance.predictions.id: {file} at {self.labels[side]}: id "
                                    f"{frame[id_col][dup].iloc[0]!r} appears more than once")
        if paired:
            if id_col:
                only_b = set(base[id_col]) - set(head[id_col])
                only_h = set(head[id_col]) - set(base[id_col])
                if only_b or only_h:
                    raise UserError(
                        f"significance.predictions: {file}: base and head are not for the same examples "
                        f"({len(only_b)} ids only at {self.labels['base']}, {len(only_h)} only at "
                        f"{self.labels['head']}, e.g. {sorted(map(str, only_b or only_h))[0]!r}); "
                        "evaluate both on one set, or set paired: false")
                base = base.set_index(id_col).loc[head[id_col]].reset_index()
            elif len(base) != len(head):
                raise UserError(f"significance.predictions: {file} has {len(base)} rows at {self.labels['base']} "
                                f"and {len(head)} at {self.labels['head']}: not the same examples (set id: to pair "
                                "rows by an id column, or paired: false)")
            a_b, a_h = base[actual_col].to_numpy(), head[actual_col].to_numpy()
            differs = np.flatnonzero(a_b.astype(str) != a_h.astype(str))
            if len(differs):
                row = int(differs[0])
                raise UserError(f"significance.predictions: {file}: row {row + 1} has actual {a_b[row]!r} at "
                                f"{self.labels['base']} but {a_h[row]!r} at {self.labels['head']}: not the same "
                                "examples in the same order (set id: to pair rows by an id column)")
        return Evaluation(actual=head[actual_col].to_numpy(), base=_side(base, spec), head=_side(head, spec),
                          positive=spec.positive,
                          base_actual=None if paired else base[actual_col].to_numpy())

    def _frame(self, side: str, file: str, spec: Predictions, estimate: str) -> Any:
        from ci_mlops.significance.bootstrap import METRICS  # lazy: NumPy is slow to import

        blob = self.read(side, [file]).get(file)
        if blob is None:
            raise UserError(f"significance.predictions.file: {file} is not there at {self.labels[side]} "
                            "(no predictions to compare; did the evaluation stage write it?)")
        columns = [spec.actual, *(c for c in (spec.predicted, spec.score, spec.id) if c)]
        if estimate not in METRICS:
            columns.append(estimate)
        columns = list(dict.fromkeys(columns))
        suffix = "".join(Path(file).suffixes) or ".csv"
        import tempfile  # lazy: ~4 ms that only a predictions file needs (the report's path imports this module)

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"predictions{suffix}"
            path.write_bytes(blob)
            try:
                frame = read_table(path, columns=columns, fmt=spec.format)
            except UserError as exc:
                raise UserError(f"significance.predictions.file: {file} at {self.labels[side]}: "
                                f"{exc.message.split(': ', 1)[-1]}") from exc
        return frame


def _side(frame: Any, spec: Predictions) -> Side:
    from ci_mlops.significance.bootstrap import Side  # lazy: NumPy is slow to import

    columns = {c: frame[c].to_numpy() for c in frame.columns}
    return Side(predicted=columns.get(spec.predicted or ""), score=columns.get(spec.score or ""),
                columns=columns)


_UNKNOWN: Revision = {"ref": None, "sha": None}  # a side a hand-made report lacks


def _label(rev: Revision) -> str:
    ref, sha = rev.get("ref") or "", rev.get("sha") or ""
    if not ref and not sha:
        return "?"
    return ref if ref == WORKSPACE or not sha or sha.startswith(ref) else f"{ref} ({sha[:7]})"


def _parse(blob: bytes, path: str, label: str) -> Any:
    try:
        return parse(blob, path)
    except ParseError as exc:
        raise UserError(f"significance.seeds: cannot read {path} at {label}: {exc}") from exc


def _lookup(node: Any, key: str) -> Any:
    """A dotted key in a parsed document (keys may themselves contain dots)."""
    if not key:
        return node
    if not isinstance(node, dict):
        return None
    parts = key.split(".")
    for i in range(len(parts), 0, -1):
        head = ".".join(parts[:i])
        if head in node:
            found = _lookup(node[head], ".".join(parts[i:]))
            if found is not None:
                return found
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
