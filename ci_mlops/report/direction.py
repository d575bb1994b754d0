"""Which way a metric improves, from its name: one function for ``report`` and ``check``.

``infer_direction("roc_auc.test")`` -> ``"higher"``; ``infer_direction("eval.loss")`` ->
``"lower"``; None when the name does not tell (then a drop gate needs ``direction:``).
The name's last dotted segment decides, unless it only names a data split (DVC's own
examples write ``roc_auc.test``, ``avg_prec.train``) or an aggregate (``f1.weighted``):
then the segment before it does.
``is_counter`` picks out DVCLive's ``step``/``epoch``: context, never a change or a gate.
"""

from __future__ import annotations

import re

SPLITS = frozenset({"train", "training", "test", "testing", "val", "valid", "validation", "eval",
                    "evaluation", "dev", "holdout", "heldout"})
COUNTERS = frozenset({"step", "epoch", "global_step"})
# Segments that qualify a metric rather than name it: "loss.mean", "f1.weighted", "acc.best".
QUALIFIERS = frozenset({"mean", "avg", "average", "macro", "micro", "weighted", "median", "total", "overall",
                        "value", "final", "best", "last", "min", "max", "std", "all"})
_SPLITS_AND_QUALIFIERS = SPLITS | QUALIFIERS

# Whole-name or token matches (the name lower-cased and split on non-alphanumerics).
LOWER_IS_BETTER = frozenset({
    # error family
    "error", "errors", "err", "rmse", "mse", "mae", "mape", "smape", "rmsle", "msle", "wape", "medae",
    "wer", "cer", "ter", "fpr", "fnr", "far", "frr", "eer", "hamming", "missrate", "fallout", "residual",
    "residuals", "misclassification", "regret",
    # loss family
    "loss", "losses", "logloss", "nll", "crossentropy", "xent", "perplexity", "ppl", "brier", "ece", "mce",
    "kl", "divergence", "distance", "deviance",
    # latency / cost family
    "latency", "time", "duration", "seconds", "secs", "sec", "ms", "millis", "runtime", "walltime",
    "memory", "mem", "size", "bytes", "cost", "p50", "p90", "p95", "p99",
})
HIGHER_IS_BETTER = frozenset({
    "accuracy", "acc", "balancedaccuracy", "f1", "fscore", "f2", "fbeta", "auc", "roc", "rocauc", "auroc",
    "auprc", "prauc", "ap", "avgprec", "averageprecision", "map", "precision", "prec", "recall", "r2",
    "rsquared", "ndcg", "mrr", "iou", "miou", "jaccard", "dice", "bleu", "sacrebleu", "rouge", "meteor",
    "chrf", "bertscore", "score", "tpr", "tnr", "specificity", "sensitivity", "throughput", "kappa", "mcc",
    "hit", "hits", "hitrate", "coverage", "gain", "lift", "ks", "gini", "sharpe", "reward", "return",
    "likelihood", "explained", "quality", "top1", "top5", "fps", "qps",
})
# Name stems with a variable tail: rouge1, rougeL, bleu4, top3, map10, ndcg5, p95 latency... (string
# tests, not patterns: a name's candidates are lower-case letters and digits, and a report's start-up
# would compile the patterns for every run).
_NUMBERED_HIGHER = frozenset({"top", "map", "ndcg", "recall", "precision", "hit", "hits", "hitrate", "mrr", "f"})
_TOKEN = re.compile(r"[a-z0-9]+")


def _lower_stem(name: str) -> bool:
    """``latency…``, ``error…``, ``p95``, ``p999`` (``name`` of lower-case letters and digits)."""
    return name.startswith(("latency", "error")) or (name[:1] == "p" and 3 <= len(name) <= 4 and name[1:].isdigit())


def _higher_stem(name: str) -> bool:
    """``rouge…``, ``bleu`` and ``bleu4``, a numbered ``top5``, ``map10``, ``ndcg5``, ``hits10``, ``f1``..."""
    if name.startswith("rouge"):
        return True
    stem = name.rstrip("0123456789")
    return stem == "bleu" or (stem != name and stem in _NUMBERED_HIGHER)


def _segment(key: str) -> str:
    """The dotted segment that names the metric: the last one, or the one before a split name."""
    last = key.rpartition(".")[2]
    if last and last.lower() not in _SPLITS_AND_QUALIFIERS:
        return last  # most keys ("group0.metric_1_acc"): what the loop below would return
    parts = [p for p in key.split(".") if p]
    while len(parts) > 1 and parts[-1].lower() in _SPLITS_AND_QUALIFIERS:
        parts.pop()
    return parts[-1] if parts else ""


def metric_segment(key: str) -> str:
    """The part of a dotted metric key that names the metric (``roc_auc.test`` -> ``roc_auc``)."""
    return _segment(key)


def infer_direction(key: str) -> str | None:
    """``"higher"``, ``"lower"`` or None from a metric's dotted key."""
    segment = _segment(key)
    lowered = segment.lower()
    if not segment or lowered in COUNTERS:  # is_counter(key), without a second _segment
        return None
    words = _TOKEN.findall(lowered)
    joined = "".join(words)
    if lowered != segment:  # camelCase -> camel_case, so "valLoss" and "rougeL" split like "val_loss"
        words = _TOKEN.findall(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", segment).lower())
    tokens = [t for t in words if t not in SPLITS]
    for candidate in [joined, *reversed(tokens)]:
        if candidate in LOWER_IS_BETTER or _lower_stem(candidate):
            return "lower"
        if candidate in HIGHER_IS_BETTER or _higher_stem(candidate):
            return "higher"
    return None


def is_counter(key: str) -> bool:
    """DVCLive's ``step`` / ``epoch`` (at any nesting): how far training ran, not a quality measure."""
    return _segment(key).lower() in COUNTERS
