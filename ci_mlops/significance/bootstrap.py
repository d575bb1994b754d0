"""Paired bootstrap of metric changes on one evaluation set, vectorised with NumPy.

Resampling ``n`` examples with replacement is the same as drawing a count per example
(how often it was picked). Every supported metric is a function of a few weighted sums
``sum_i w_i x_i`` over per-example quantities ``x`` (correct or not, a class's true
positive, an absolute error, a log-loss term ...), so one resample costs one row of a
matrix product ``W @ X``: a block of resamples is one BLAS call. ROC AUC needs the
weights in score order too (a cumulative sum per resample), computed on the same
blocks. The point estimate goes through the same code with all weights 1, so the
reported value and its interval can never disagree about what the metric is.

Intervals are percentile intervals of ``head - base`` (two-sided, at ``confidence``).
Each resample picks the *same* examples for base and head (paired); with
``paired=False`` base and head are resampled independently (for evaluation sets that
differ). Deterministic: a fixed ``seed`` gives the same interval on every run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ci_mlops.errors import UserError

# Metrics computed from labels, scores or numeric predictions; any other name is a
# per-example column whose mean is the metric.
LABEL_METRICS = ("accuracy", "precision", "recall", "f1")
SCORE_METRICS = ("roc_auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse", "r2")
METRICS = (*LABEL_METRICS, *SCORE_METRICS, *REGRESSION_METRICS)

_BLOCK_CELLS = 4_000_000  # weights per block of resamples (32 MB of float64)
_LOG_EPS = np.finfo(np.float64).eps  # scikit-learn's clipping of probabilities for log loss


@dataclass
class Side:
    """One model's outputs on the evaluation set: labels, scores, numeric predictions, columns."""

    predicted: np.ndarray | None = None
    score: np.ndarray | None = None
    columns: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Evaluation:
    """The examples (true values) with the base and the head model's outputs on them."""

    actual: np.ndarray
    base: Side
    head: Side
    positive: object = 1
    base_actual: np.ndarray | None = None  # only for unpaired evaluations with their own examples


@dataclass(frozen=True)
class Interval:
    """``head - base`` for one metric, with its percentile interval."""

    metric: str
    base: float
    head: float
    low: float
    high: float
    confidence: float
    resamples: int  # resamples that gave a defined value
    n: int  # examples

    @property
    def change(self) -> float:
        return self.head - self.base


def bootstrap(evaluation: Evaluation, metrics: list[str], *, resamples: int = 2000, seed: int = 0,
              confidence: float = 0.95, paired: bool = True) -> dict[str, Interval]:
    """The change of each metric from base to head with a bootstrap interval.

    ``metrics`` are names from :data:`METRICS` or per-example columns present on both
    sides. Raises :class:`UserError` for a metric the data cannot define (ROC AUC with a
    single class, a score-based metric without scores, ...).

    Label metrics (accuracy, precision, recall, F1) depend on an example only through
    its (actual, base label, head label) cell, so their resamples are multinomial draws
    over the few distinct cells: exactly the distribution of resampling examples, at a
    fraction of the cost. The other metrics resample the examples themselves. Each
    family has its own random stream derived from ``seed``, so a metric's interval does
    not depend on which other metrics were asked for.
    """
    if not 0 < confidence < 1:
        raise UserError(f"significance: confidence {confidence} must be between 0 and 1")
    if resamples < 100:
        raise UserError(f"significance.resamples: {resamples} is too few for an interval (use at least 100)")
    if len(evaluation.actual) == 0:
        raise UserError("significance: the predictions file has no rows")
    if not paired and evaluation.base_actual is not None and len(evaluation.base_actual) == 0:
        raise UserError("significance: the base predictions file has no rows")
    labels = [m for m in metrics if m in LABEL_METRICS]
    others = [m for m in metrics if m not in LABEL_METRICS]
    diffs: dict[str, np.ndarray] = {}
    points: dict[str, tuple[float, float]] = {}
    for family, names in (("cells", labels), ("examples", others)):
        if names:
            rng = np.random.default_rng([seed, _FAMILY_SEED[family]])
            d, p = _resample(evaluation, names, rng, resamples, paired, compress=family == "cells")
            diffs.update(d)
            points.update(p)

    alpha = 1.0 - confidence
    out = {}
    for m in metrics:
        values = diffs[m][np.isfinite(diffs[m])]
        if len(values) < resamples // 2:
            raise UserError(f"significance: {m} is undefined in most resamples (too few examples of a class?)")
        low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
        out[m] = Interval(m, points[m][0], points[m][1], float(low), float(high), confidence, len(values),
                          len(evaluation.actual))
    return out


_FAMILY_SEED = {"cells": 1, "examples": 2}


class _Rows:
    """The rows one side's metrics are computed on, and how to draw resampling weights for them.

    Plain rows are the examples (weights: how often each is picked). Compressed rows are
    the distinct (actual, base, head) label cells, weighted by their frequency.
    """

    def __init__(self, actual: np.ndarray, sides: list[Side], compress: bool) -> None:
        self.n = len(actual)
        self.actual, self.sides, self.freq = actual, sides, None
        if compress:
            keys = [actual.astype(str)] + [np.asarray(s.predicted).astype(str) for s in sides
                                           if s.predicted is not None]
            codes = np.column_stack([np.unique(k, return_inverse=True)[1].reshape(-1) for k in keys])
            unique, first, counts = np.unique(codes, axis=0, return_index=True, return_counts=True)
            if len(unique) <= _MAX_CELLS:
                self.actual = actual[first]
                self.sides = [Side(predicted=None if s.predicted is None else np.asarray(s.predicted)[first])
                              for s in sides]
                self.freq = counts.astype(np.float64)

    def ones(self) -> np.ndarray:
        return (self.freq if self.freq is not None else np.ones(self.n))[None, :]

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if self.freq is not None:
            return rng.multinomial(self.n, self.freq / self.n, size=size).astype(np.float64)
        return _counts(rng, size, self.n)

    @property
    def width(self) -> int:
        return len(self.actual)


_MAX_CELLS = 4096  # more distinct label cells than this (many classes): resample the examples


def _resample(ev: Evaluation, metrics: list[str], rng: np.random.Generator, resamples: int, paired: bool,
              *, compress: bool) -> tuple[dict[str, np.ndarray], dict[str, tuple[float, float]]]:
    if paired:
        rows = _Rows(ev.actual, [ev.base, ev.head], compress)
        base_rows, head_rows = rows, rows
        base_side, head_side = rows.sides
    else:
        base_rows = _Rows(ev.base_actual if ev.base_actual is not None else ev.actual, [ev.base], compress)
        head_rows = _Rows(ev.actual, [ev.head], compress)
        base_side, head_side = base_rows.sides[0], head_rows.sides[0]
    base_fn = {m: _metric(m, base_rows.actual, base_side, ev.positive, "base") for m in metrics}
    head_fn = {m: _metric(m, head_rows.actual, head_side, ev.positive, "head") for m in metrics}
    points = {m: (float(base_fn[m](base_rows.ones())[0]), float(head_fn[m](head_rows.ones())[0]))
              for m in metrics}
    diffs = {m: np.empty(resamples) for m in metrics}
    block = max(1, min(resamples, _BLOCK_CELLS // max(head_rows.width, base_rows.width, 1)))
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        head_w = head_rows.draw(rng, size)
        base_w = head_w if paired else base_rows.draw(rng, size)
        for m in metrics:
            diffs[m][start:start + size] = head_fn[m](head_w) - base_fn[m](base_w)
    return diffs, points


def _counts(rng: np.random.Generator, size: int, n: int) -> np.ndarray:
    """``size`` rows of resampling counts over ``n`` examples (each row sums to ``n``).

    float32 holds every count exactly (a count is at most ``n`` < 2**24 in practice) and
    halves the memory traffic of the passes that follow; sums are taken in float64.
    """
    if n >= 2 ** 24:
        raise UserError(f"significance: {n:,} examples are more than the bootstrap takes (16.7 million)")
    picks = rng.integers(0, n, size=(size, n), dtype=np.int32)
    out = np.empty((size, n), dtype=np.float32)
    for row in range(size):  # one row at a time: the counts stay in cache while they are written
        out[row] = np.bincount(picks[row], minlength=n)
    return out


Metric = Callable[[np.ndarray], np.ndarray]


def _metric(name: str, actual: np.ndarray, side: Side, positive: object, label: str) -> Metric:
    """A function from a (resamples x n) weight matrix to the metric's value per resample."""
    if name in LABEL_METRICS:
        return _label_metric(name, actual, _need(side.predicted, name, "predicted", label), positive)
    if name == "roc_auc":
        return _roc_auc(_is(actual, positive), _need(side.score, name, "score", label).astype(np.float64))
    if name == "log_loss":
        return _log_loss(_is(actual, positive), _need(side.score, name, "score", label).astype(np.float64))
    if name in REGRESSION_METRICS:
        predicted = _numeric(_need(side.predicted, name, "predicted", label), "predicted")
        return _regression(name, _numeric(actual, "actual"), predicted)
    if name in side.columns:
        column = _numeric(side.columns[name], name)
        return _weighted_mean(column[:, None], lambda s, total: s[:, 0] / total)
    raise UserError(f"significance: unknown metric '{name}' (use one of {', '.join(METRICS)}, "
                    "or a per-example column of the predictions file)")


def _need(values: np.ndarray | None, metric: str, column: str, label: str) -> np.ndarray:
    if values is None:
        raise UserError(f"significance: {metric} needs the '{column}' column of the predictions "
                        f"(set significance.predictions.{column}); the {label} file has none")
    return values


def _numeric(values: np.ndarray, name: str) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UserError(f"significance: column '{name}' is not numeric") from exc
    if not np.isfinite(out).all():
        raise UserError(f"significance: column '{name}' has missing or non-finite values")
    return out


def _is(values: np.ndarray, positive: object) -> np.ndarray:
    if values.dtype.kind in "iufb" and isinstance(positive, (int, float, bool)):
        return values == positive
    return values.astype(str) == str(positive)


def _weighted_mean(columns: np.ndarray, finish: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Metric:
    """A metric computed from weighted sums of ``columns`` (n x k) and the total weight."""
    columns = np.asarray(columns, dtype=np.float64)

    def compute(weights: np.ndarray) -> np.ndarray:
        sums = weights @ columns  # float64 products and sums, whatever the weights' dtype
        return finish(sums, weights.sum(axis=1, dtype=np.float64))
    return compute


def _label_metric(name: str, actual: np.ndarray, predicted: np.ndarray, positive: object) -> Metric:
    """Accuracy, and precision/recall/F1: of ``positive`` for two classes, macro-averaged for more."""
    correct = _same(actual, predicted)
    if name == "accuracy":
        return _weighted_mean(correct[:, None].astype(np.float64), lambda s, total: s[:, 0] / total)
    labels = np.unique(np.concatenate([actual.astype(str), predicted.astype(str)]))
    if len(labels) <= 2:
        classes = [(_is(actual, positive), _is(predicted, positive))]
    else:
        a, p = actual.astype(str), predicted.astype(str)
        classes = [(a == c, p == c) for c in labels]
    cols = []
    for is_actual, is_predicted in classes:
        cols += [is_actual & is_predicted, is_predicted, is_actual]
    matrix = np.column_stack(cols).astype(np.float64)

    def finish(sums: np.ndarray, total: np.ndarray) -> np.ndarray:
        tp, pred, act = sums[:, 0::3], sums[:, 1::3], sums[:, 2::3]
        if name == "precision":
            per_class = _ratio(tp, pred)
        elif name == "recall":
            per_class = _ratio(tp, act)
        else:
            per_class = _ratio(2 * tp, pred + act)
        return per_class.mean(axis=1)
    return _weighted_mean(matrix, finish)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0 where ``den`` is 0 (scikit-learn's zero_division default)."""
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _same(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    if actual.dtype.kind in "iufb" and predicted.dtype.kind in "iufb":
        return actual == predicted
    return actual.astype(str) == predicted.astype(str)


def _regression(name: str, actual: np.ndarray, predicted: np.ndarray) -> Metric:
    error = predicted - actual
    if name == "mae":
        return _weighted_mean(np.abs(error)[:, None], lambda s, total: s[:, 0] / total)
    if name == "rmse":
        return _weighted_mean((error ** 2)[:, None], lambda s, total: np.sqrt(s[:, 0] / total))
    centre = actual.mean()  # shifting y keeps the sums of squares well conditioned
    shifted = actual - centre
    columns = np.column_stack([error ** 2, shifted, shifted ** 2])

    def r2(sums: np.ndarray, total: np.ndarray) -> np.ndarray:
        ss_tot = sums[:, 2] - sums[:, 1] ** 2 / total
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(ss_tot > 0, 1.0 - sums[:, 0] / np.where(ss_tot > 0, ss_tot, 1.0), np.nan)
    return _weighted_mean(columns, r2)


def _log_loss(is_positive: np.ndarray, score: np.ndarray) -> Metric:
    if ((score < 0) | (score > 1)).any() or not np.isfinite(score).all():
        raise UserError("significance: log_loss needs scores that are probabilities between 0 and 1")
    p = np.clip(score, _LOG_EPS, 1 - _LOG_EPS)
    terms = -np.where(is_positive, np.log(p), np.log1p(-p))
    return _weighted_mean(terms[:, None], lambda s, total: s[:, 0] / total)


def _roc_auc(is_positive: np.ndarray, score: np.ndarray) -> Metric:
    """Weighted Mann-Whitney AUC: P(score_pos > score_neg) + P(tie) / 2, per resample."""
    if is_positive.all() or not is_positive.any():
        raise UserError("significance: roc_auc needs both classes among the actual values; there is only one")
    if not np.isfinite(score).all():
        raise UserError("significance: roc_auc: the score column has missing or non-finite values")
    order = np.argsort(score, kind="stable")
    sorted_score = score[order]
    pos = is_positive[order].astype(np.float64)
    neg = 1.0 - pos
    starts = np.flatnonzero(np.r_[True, sorted_score[1:] != sorted_score[:-1]])
    ties = len(starts) < len(score)

    pos, neg = pos.astype(np.float32), neg.astype(np.float32)

    def compute(weights: np.ndarray) -> np.ndarray:
        w = np.take(weights, order, axis=1)  # counts in score order
        wp, wn = w * pos, w * neg
        if ties:  # one row per distinct score: a tied positive-negative pair counts one half
            wp, wn = np.add.reduceat(wp, starts, axis=1), np.add.reduceat(wn, starts, axis=1)
        # Negative weight at or below each score. Counts are whole numbers, so float32
        # prefix sums are exact below 2**24; the products are summed in float64.
        below = np.cumsum(wn, axis=1, dtype=np.float32 if len(score) < 2 ** 24 else np.float64)
        wins = np.einsum("ij,ij->i", wp, below, dtype=np.float64)
        if ties:
            wins -= 0.5 * np.einsum("ij,ij->i", wp, wn, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return wins / (wp.sum(axis=1, dtype=np.float64) * wn.sum(axis=1, dtype=np.float64))
    return compute
