"""Model performance on labelled current data, against the value recorded at the last release.

``drift.performance`` names the label and prediction columns and the metric. The
baseline comes from a ``lineage.json`` (``--baseline FILE``; its ``metrics`` map of
``{file: {dotted.key: value}}``) or else from the metrics files committed at the newest
release tag (``v1.2.3`` or ``name@v1.2.3``). A worsening beyond ``max_drop`` (in the
metric's own units) is a degradation.

Classification metrics treat two-valued labels as binary with the larger value
(1, True, "yes" sorted last) as the positive class; with more classes, precision,
recall and F1 are macro averages.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ci_mlops.config.convert import build
from ci_mlops.config.records import DriftPerformance
from ci_mlops.deploy.tags import REGISTER, VERSION, parse_tag, version_key
from ci_mlops.dvc.project import load_project
from ci_mlops.dvc.values import ParseError, flatten, is_finite_number, metrics_values, parse
from ci_mlops.errors import UserError
from ci_mlops.git import BlobReader, Repo
from ci_mlops.safeload import load_json, read_limited

if TYPE_CHECKING:
    import pandas as pd

    from ci_mlops.drift.records import Performance

LOWER_IS_BETTER = frozenset({"error_rate", "rmse", "mae"})
REGRESSION = frozenset({"rmse", "mae"})
DEFAULT_METRIC = {"classification": "accuracy", "regression": "rmse"}


def compute_metric(actual: np.ndarray, predicted: np.ndarray, metric: str) -> float:
    """The metric of ``predicted`` against ``actual`` (rows where either is missing already dropped)."""
    if actual.size == 0:
        raise UserError("no rows with both a label and a prediction in the current data")
    if metric in REGRESSION:
        err = actual.astype(np.float64) - predicted.astype(np.float64)
        return float(np.sqrt(np.mean(err ** 2))) if metric == "rmse" else float(np.mean(np.abs(err)))
    correct = actual == predicted
    if metric == "accuracy":
        return float(np.mean(correct))
    if metric == "error_rate":
        return float(1.0 - np.mean(correct))
    labels = _sorted_labels(np.concatenate([actual, predicted]))
    classes = labels[-1:] if len(labels) <= 2 else labels
    scores = [_prf(actual, predicted, c, metric) for c in classes]
    return float(np.mean(scores))


def evaluate_performance(current: pd.DataFrame, spec: DriftPerformance | Mapping[str, Any],
                         baseline: float | None, baseline_source: str | None) -> Performance:
    """``{"metric", "value", "rows", "baseline", "baseline_source", "change", "max_drop", "degraded", "message"}``.

    ``spec`` is ``drift.performance`` (a record, or the mapping as written in the file)."""
    import pandas as pd  # lazy: pandas is slow to import

    if not isinstance(spec, DriftPerformance):
        spec = build(DriftPerformance, spec)
    actual_col, predicted_col = spec.actual, spec.predicted
    for col in (actual_col, predicted_col):
        if col not in current.columns:
            raise UserError(f"drift.performance: column '{col}' is not in the current data")
    task = spec.task
    metric = spec.metric or DEFAULT_METRIC[task]
    if (task == "classification" and metric in REGRESSION) or (task == "regression" and metric not in REGRESSION):
        raise UserError(f"drift.performance.metric: '{metric}' does not fit task '{task}'")
    both = current[[actual_col, predicted_col]].dropna()
    actual, predicted = both[actual_col].to_numpy(), both[predicted_col].to_numpy()
    if task == "regression" and not (pd.api.types.is_numeric_dtype(both[actual_col])
                                     and pd.api.types.is_numeric_dtype(both[predicted_col])):
        raise UserError(f"drift.performance: regression needs numeric '{actual_col}' and '{predicted_col}' columns")
    value = compute_metric(actual, predicted, metric)
    lower = metric in LOWER_IS_BETTER
    max_drop = spec.max_drop
    rows = int(both.shape[0])
    if baseline is None:
        return {"metric": metric, "value": value, "rows": rows, "baseline": None, "baseline_source": baseline_source,
                "change": None, "max_drop": max_drop, "degraded": False,
                "message": f"{metric} = {value:.4g} on {both.shape[0]} labelled rows (no release value to compare with)"}
    change = value - baseline
    worsening = change if lower else -change
    degraded = bool(max_drop is not None and worsening > max_drop + 1e-12)
    verdict = "degraded" if degraded else "within bounds"
    bound = f", allowed worsening {max_drop:g}" if max_drop is not None else ""
    return {"metric": metric, "value": value, "rows": rows, "baseline": baseline, "baseline_source": baseline_source,
            "change": change, "max_drop": max_drop, "degraded": degraded,
            "message": (f"{metric} = {value:.4g} on {both.shape[0]} labelled rows vs {baseline:.4g} at "
                        f"{baseline_source} ({change:+.4g}{bound}): {verdict}")}


def baseline_from_lineage(path: str | Path, key: str) -> float:
    """The value of metric ``key`` in a lineage record's ``metrics`` (``{file: {dotted.key: value}}``)."""
    path = Path(path)
    try:
        data = load_json(read_limited(path))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"{path}: not a readable lineage JSON file ({type(exc).__name__})") from None
    metrics = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(metrics, dict):
        raise UserError(f"{path}: no 'metrics' map in the lineage record")
    value = find_metric(metrics, key)
    if value is None:
        raise UserError(f"{path}: no numeric metric '{key}' in its metrics "
                        f"({', '.join(sorted({k for m in metrics.values() if isinstance(m, dict) for k in m})[:10])})")
    return value


def baseline_from_release(root: str | Path, key: str) -> tuple[float, str] | None:
    """(value, tag) of metric ``key`` in the metrics files at the newest release tag, or None."""
    repo = Repo.discover(root)
    tag = newest_release_tag(repo)
    if tag is None:
        return None
    with BlobReader(repo.root) as reader:
        project = load_project(repo.root, rev=tag, reader=reader)
        paths = list(project.metrics_paths)
        blobs = reader.read_many([(tag, p) for p in paths])
    metrics = {p: _release_metrics(p, blob) for p, blob in zip(paths, blobs) if blob is not None}
    value = find_metric(metrics, key)
    return (value, tag) if value is not None else None


def newest_release_tag(repo: Repo, ref: str = "HEAD") -> str | None:
    """The release tag (``v1.2.3``, ``name@v1.2.3``) nearest to ``ref`` in its history.

    Walks commits in topological order, so tags made in the same second still come
    out in history order; several release tags on one commit: the highest version.
    """
    by_commit: dict[str, list[tuple[tuple[Any, ...], str]]] = {}
    listing = repo.git("for-each-ref", "refs/tags", "--format=%(objectname) %(*objectname) %(refname:short)")
    for line in listing.splitlines():
        parts = line.split(" ")
        if len(parts) != 3:
            continue
        obj, peeled, raw = parts
        try:
            tag = parse_tag(raw)
        except UserError:
            continue
        if tag.kind in (VERSION, REGISTER) and tag.version:
            by_commit.setdefault(peeled or obj, []).append((version_key(tag.version), raw))
    if not by_commit or repo.try_rev_parse(ref) is None:
        return None
    for sha in repo.git("rev-list", "--topo-order", ref).split():
        if sha in by_commit:
            return max(by_commit[sha])[1]
    return None


def find_metric(metrics: dict[str, Any], key: str) -> float | None:
    """``key`` ("test.accuracy" or "metrics.json:test.accuracy") in ``{file: {dotted.key: value}}``."""
    file, _, dotted = key.rpartition(":") if ":" in key else ("", "", key)
    for name, values in metrics.items():
        if (file and name != file) or not isinstance(values, dict):
            continue
        value = flatten(values).get(dotted)
        if is_finite_number(value):
            return float(value)
    return None


def _release_metrics(path: str, blob: bytes) -> dict[str, Any]:
    """A release's metrics file as DVC reads it; one that cannot be read holds no baseline."""
    try:
        return metrics_values(parse(blob, path))
    except ParseError:
        return {}


def _sorted_labels(values: np.ndarray) -> list[Any]:
    unique = list({v.item() if isinstance(v, np.generic) else v for v in values})
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=str)


def _prf(actual: np.ndarray, predicted: np.ndarray, positive: Any, metric: str) -> float:
    tp = float(np.sum((predicted == positive) & (actual == positive)))
    pred_pos = float(np.sum(predicted == positive))
    real_pos = float(np.sum(actual == positive))
    precision = tp / pred_pos if pred_pos else 0.0
    recall = tp / real_pos if real_pos else 0.0
    if metric == "precision":
        return precision
    if metric == "recall":
        return recall
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
