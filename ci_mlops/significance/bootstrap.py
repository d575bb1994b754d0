"""Paired bootstrap of metric changes on one evaluation set, vectorised with NumPy.

Resampling ``n`` examples with replacement is the same as drawing a count per example
(how often it was picked). Every supported metric is a function of a few weighted sums
``sum_i w_i x_i`` over per-example quantities ``x`` (correct or not, a class's true
positive, an absolute error, a log-loss term ...), so one resample costs one row of a
matrix product ``W @ X``: a block of resamples is one BLAS call. ROC AUC needs the
weights in score order too (a prefix sum per resample), computed on the same blocks.
The counts themselves come from a Poisson table completed to an exact multinomial
(:func:`_counts`), and blocks run on all cores, each with its own random stream. The point
estimate goes through the same code with all weights 1, so the reported value and its interval
can never disagree about what the metric is.

Intervals are percentile intervals of ``head - base`` (two-sided, at ``confidence``).
Each resample picks the *same* examples for base and head (paired); with
``paired=False`` base and head are resampled independently (for evaluation sets that
differ). Deterministic: a fixed ``seed`` gives the same interval on every run.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
            d, p = _resample(evaluation, names, [seed, _FAMILY_SEED[family]], resamples, paired,
                             compress=family == "cells")
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

    def __init__(self, actual: np.ndarray, sides: list[Side], compress: bool, positive: object = 1) -> None:
        self.n = len(actual)
        self.actual, self.sides, self.freq = actual, sides, None
        order = None if compress else _arrangement(actual, sides[-1], positive)
        if order is not None:  # the last side is the head (or the only one): its ROC AUC reads views
            self.actual, self.sides = actual[order], [_permuted(s, order) for s in sides]
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


def _resample(ev: Evaluation, metrics: list[str], seed: list[int], resamples: int, paired: bool,
              *, compress: bool) -> tuple[dict[str, np.ndarray], dict[str, tuple[float, float]]]:
    if paired:
        rows = _Rows(ev.actual, [ev.base, ev.head], compress, ev.positive)
        base_rows, head_rows = rows, rows
        base_side, head_side = rows.sides
    else:
        base_rows = _Rows(ev.base_actual if ev.base_actual is not None else ev.actual, [ev.base], compress,
                          ev.positive)
        head_rows = _Rows(ev.actual, [ev.head], compress, ev.positive)
        base_side, head_side = base_rows.sides[0], head_rows.sides[0]
    base_fn = {m: _metric(m, base_rows.actual, base_side, ev.positive, "base") for m in metrics}
    head_fn = {m: _metric(m, head_rows.actual, head_side, ev.positive, "head") for m in metrics}
    points = {m: (float(base_fn[m](base_rows.ones())[0]), float(head_fn[m](head_rows.ones())[0]))
              for m in metrics}
    diffs = {m: np.empty(resamples) for m in metrics}
    block = max(1, min(resamples, _BLOCK_CELLS // max(head_rows.width, base_rows.width, 1)))

    def run(start: int) -> None:
        # Each block has its own random stream, so the result is the same however many
        # threads share the blocks. NumPy releases the GIL in the passes that matter.
        rng = np.random.default_rng([*seed, start])
        size = min(block, resamples - start)
        head_w = head_rows.draw(rng, size)
        base_w = head_w if paired else base_rows.draw(rng, size)
        for m in metrics:
            diffs[m][start:start + size] = head_fn[m](head_w) - base_fn[m](base_w)

    starts = range(0, resamples, block)
    workers = min(_cpus(), len(starts))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, starts))
    else:
        for start in starts:
            run(start)
    return diffs, points


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _counts(rng: np.random.Generator, size: int, n: int) -> np.ndarray:
    """``size`` rows of resampling counts over ``n`` examples: each row is Multinomial(n, 1/n each).

    Drawing ``n`` indices per row and counting them (``integers`` + ``bincount``) costs
    17 random bits and a scattered write per example. Instead each row starts as
    independent Poisson(lam) counts with ``lam`` a little below 1, read from a table with
    16 random bits per example (16 more for the few that fall on a boundary), and is then
    completed: given their sum ``S``, independent Poisson counts are exactly
    Multinomial(S, 1/n each), so adding ``n - S`` balls to uniformly chosen examples
    gives Multinomial(n, 1/n each) exactly. A row whose sum passes ``n`` (``lam`` makes
    that rare) is drawn again. The only approximation is the table's: each Poisson
    probability is rounded to 2**-32.
    """
    if n >= 2 ** 24:
        raise UserError(f"significance: {n:,} examples are more than the bootstrap takes (16.7 million)")
    counts = np.empty((size, n), dtype=np.uint16)
    pending = np.arange(size)
    while len(pending):
        counts[pending] = _poisson_rows(rng, len(pending), n)
        totals = counts[pending].sum(axis=1, dtype=np.int64)
        fits = totals <= n
        _complete(rng, counts, pending[fits], n - totals[fits])
        pending = pending[~fits]
    return counts


def _complete(rng: np.random.Generator, counts: np.ndarray, rows: np.ndarray, missing: np.ndarray) -> None:
    """Adds ``missing[i]`` balls to uniformly chosen examples of row ``rows[i]``, in one draw for all rows.

    The numbers are those of one ``rng.integers(0, n, missing[i])`` per row in turn: NumPy's
    bounded integers read the bit generator's stream in order (a 32-bit half left over stays
    in the generator's state), so consecutive draws are one draw cut into pieces
    (`tests/unit/significance/test_counts.py` holds it to the row-by-row completion).
    """
    total = int(missing.sum())
    if not total:
        return
    n = counts.shape[1]
    picked = np.repeat(rows.astype(np.int64) * n, missing) + rng.integers(0, n, total)
    cells, times = np.unique(picked, return_counts=True)
    counts[cells // n, cells % n] += times.astype(np.uint16)


_REFINE = np.iinfo(np.uint16).max  # table entry: look the whole 32-bit number up in the thresholds


def _poisson_rows(rng: np.random.Generator, rows: int, n: int) -> np.ndarray:
    table, thresholds = _poisson_table(n)
    high = rng.bit_generator.random_raw((rows * n + 3) // 4).view(np.uint16)[:rows * n]  # 4 per 64-bit draw
    counts = table[high]
    refine = np.flatnonzero(counts == _REFINE)  # a threshold inside the bucket: 16 more bits decide
    if len(refine):
        low = rng.integers(0, 2 ** 16, len(refine), dtype=np.uint64)
        counts[refine] = np.searchsorted(thresholds, (high[refine].astype(np.uint64) << np.uint64(16)) | low,
                                         side="right")
    return counts.reshape(rows, n)


@functools.lru_cache(maxsize=8)
def _poisson_table(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Poisson(lam) by inversion of a 32-bit uniform: the thresholds, and a table on the top 16 bits.

    ``lam = n / (n + 3 sqrt(n))`` puts the row sum three standard deviations below ``n``,
    so about one row in 700 is drawn again.
    """
    lam = n / (n + 3.0 * np.sqrt(n))
    k = np.arange(40)
    pmf = np.exp(-lam + k * np.log(lam) - np.cumsum(np.log(np.maximum(k, 1))))
    thresholds = np.floor(np.cumsum(pmf) * 2.0 ** 32)  # thresholds[j]: P(X <= j), scaled
    thresholds = thresholds[thresholds < 2.0 ** 32].astype(np.uint64)  # counts no 32-bit number reaches: out
    low = np.arange(2 ** 16, dtype=np.uint64) << np.uint64(16)
    first = np.searchsorted(thresholds, low, side="right")
    last = np.searchsorted(thresholds, low + np.uint64(2 ** 16 - 1), side="right")
    return np.where(first == last, first, _REFINE).astype(np.uint16), thresholds


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
    same: np.ndarray
    if values.dtype.kind in "iufb" and isinstance(positive, (int, float, bool)):
        same = values == positive
    else:
        same = values.astype(str) == str(positive)
    return same


def _weighted_mean(columns: np.ndarray, finish: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Metric:
    """A metric computed from weighted sums of ``columns`` (n x k) and the total weight."""
    columns = np.asarray(columns, dtype=np.float64)

    def compute(weights: np.ndarray) -> np.ndarray:
        sums = np.asarray(weights, dtype=np.float64) @ columns  # one BLAS call for the block
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
        mean: np.ndarray = per_class.mean(axis=1)
        return mean
    return _weighted_mean(matrix, finish)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0 where ``den`` is 0 (scikit-learn's zero_division default)."""
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _same(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    same: np.ndarray
    if actual.dtype.kind in "iufb" and predicted.dtype.kind in "iufb":
        same = actual == predicted
    else:
        same = actual.astype(str) == predicted.astype(str)
    return same


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
    """Weighted Mann-Whitney AUC: P(score_pos > score_neg) + P(tie) / 2, per resample.

    Per resample: a prefix sum of the negatives' weights in score order, read at each
    positive's rank among the negatives, dotted with the positives' weights. The ranks
    are found once (``searchsorted``); a resample then costs a few passes over one row
    that stays in cache. When the rows are arranged as the head's score order (see
    :func:`_arrangement`) the head's negatives and all positives are contiguous and are
    read without a copy.
    """
    if is_positive.all() or not is_positive.any():
        raise UserError("significance: roc_auc needs both classes among the actual values; there is only one")
    if not np.isfinite(score).all():
        raise UserError("significance: roc_auc: the score column has missing or non-finite values")
    negatives = np.flatnonzero(~is_positive)
    negatives = negatives[np.argsort(score[negatives], kind="stable")]
    positives = np.flatnonzero(is_positive)
    ranked = score[negatives]
    below = np.searchsorted(ranked, score[positives], side="left")  # negatives scored strictly lower
    at_or_below = np.searchsorted(ranked, score[positives], side="right")
    ties = bool((at_or_below != below).any())
    neg, pos = _index(negatives), _index(positives)

    def compute(weights: np.ndarray) -> np.ndarray:
        out = np.empty(len(weights))
        whole = weights.dtype.kind in "ui"  # resampling counts: exact integer sums
        prefix = np.zeros(len(negatives) + 1, dtype=np.int64 if whole else np.float64)
        for r, row in enumerate(weights):
            wp = row[pos].astype(prefix.dtype)
            np.cumsum(row[neg], out=prefix[1:])  # prefix[k]: weight of the k lowest-scored negatives
            wins = float(np.dot(wp, prefix[below]))
            if ties:  # a tied positive-negative pair counts one half
                wins = 0.5 * (wins + float(np.dot(wp, prefix[at_or_below])))
            pairs = float(prefix[-1]) * float(wp.sum())
            out[r] = wins / pairs if pairs > 0 else np.nan
        return out
    return compute


def _index(rows: np.ndarray) -> np.ndarray | slice:
    """``rows`` as a slice when they are a contiguous ascending run (a view instead of a copy)."""
    if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and (len(rows) == 1 or (np.diff(rows) == 1).all()):
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


def _arrangement(actual: np.ndarray, side: Side, positive: object) -> np.ndarray | None:
    """The row order that makes ROC AUC cheap: negatives by score, then positives.

    Resampling is the same whatever the order of the rows, so every metric of the
    resampled family is computed on the rows in this order. It depends only on the data,
    never on which metrics were asked for, so each metric's interval stays the same.
    """
    if side.score is None:
        return None
    score = np.asarray(side.score)
    if score.dtype.kind not in "iufb":
        return None  # not numeric: roc_auc reports it
    is_positive = _is(actual, positive)
    negatives = np.flatnonzero(~is_positive)
    return np.concatenate([negatives[np.argsort(score[negatives], kind="stable")], np.flatnonzero(is_positive)])


def _permuted(side: Side, order: np.ndarray) -> Side:
    def take(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else np.asarray(values)[order]
    return Side(take(side.predicted), take(side.score), {k: np.asarray(v)[order] for k, v in side.columns.items()})
