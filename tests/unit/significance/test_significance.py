"""Confidence intervals for metric changes: the bootstrap engine, seeds, and gates that use them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ci_mlops.errors import UserError
from ci_mlops.significance import bootstrap as bootstrap_module
from ci_mlops.significance.bootstrap import Evaluation, Side, _arrangement, _counts, _roc_auc, bootstrap
from ci_mlops.significance.seeds import (
    _rank_sum_critical,
    _signed_rank_critical,
    seed_interval,
)
from tests.conftest import git, run_cli


def _binary(n: int = 2000, seed: int = 1, ties: bool = False) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    sb = np.clip(y * 0.3 + rng.random(n) * 0.7, 0, 1)
    sh = np.clip(y * 0.32 + rng.random(n) * 0.68, 0, 1)
    if ties:
        sb, sh = np.round(sb, 1), np.round(sh, 1)
    return y, sb, sh, (sb > 0.5).astype(int), (sh > 0.5).astype(int)


# -- the engine computes the metrics scikit-learn computes ----------------------------------------


@pytest.fixture(scope="module")
def skm():
    """scikit-learn's metrics, the reference (imported by the tests that compare with it: ~0.3 CPU-s over SciPy)."""
    from sklearn import metrics

    return metrics

@pytest.mark.parametrize("ties", [False, True])
def test_point_values_equal_scikit_learn_binary(skm, ties):
    y, sb, sh, pb, ph = _binary(ties=ties)
    ev = Evaluation(y, Side(pb, sb), Side(ph, sh))
    got = bootstrap(ev, ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"], resamples=100)
    for name, fn in [("accuracy", skm.accuracy_score), ("precision", skm.precision_score),
                     ("recall", skm.recall_score), ("f1", skm.f1_score)]:
        assert got[name].base == pytest.approx(fn(y, pb), abs=1e-12)
        assert got[name].head == pytest.approx(fn(y, ph), abs=1e-12)
    assert got["roc_auc"].base == pytest.approx(skm.roc_auc_score(y, sb), abs=1e-12)
    assert got["roc_auc"].head == pytest.approx(skm.roc_auc_score(y, sh), abs=1e-12)
    assert got["log_loss"].head == pytest.approx(skm.log_loss(y, sh), abs=1e-12)


def test_multiclass_is_macro_averaged_and_string_labels_work(skm):
    rng = np.random.default_rng(3)
    labels = np.array(["cat", "dog", "eel", "fox"])
    y = labels[rng.integers(0, 4, 1500)]
    pb = np.where(rng.random(1500) < 0.7, y, labels[rng.integers(0, 4, 1500)])
    ph = np.where(rng.random(1500) < 0.8, y, labels[rng.integers(0, 4, 1500)])
    got = bootstrap(Evaluation(y, Side(pb), Side(ph)), ["accuracy", "precision", "recall", "f1"], resamples=100)
    for name in ("precision", "recall", "f1"):
        fn = getattr(skm, f"{name}_score")
        assert got[name].base == pytest.approx(fn(y, pb, average="macro"), abs=1e-12)
        assert got[name].head == pytest.approx(fn(y, ph, average="macro"), abs=1e-12)
    assert got["accuracy"].change == pytest.approx(skm.accuracy_score(y, ph) - skm.accuracy_score(y, pb))


def test_regression_and_per_example_columns(skm):
    rng = np.random.default_rng(4)
    y = rng.normal(size=800)
    a, b = y + rng.normal(size=800) * 0.5, y + rng.normal(size=800) * 0.4
    loss_a, loss_b = rng.random(800), rng.random(800)
    ev = Evaluation(y, Side(a, columns={"loss": loss_a}), Side(b, columns={"loss": loss_b}))
    got = bootstrap(ev, ["mae", "rmse", "r2", "loss"], resamples=100)
    assert got["mae"].base == pytest.approx(skm.mean_absolute_error(y, a))
    assert got["rmse"].head == pytest.approx(np.sqrt(skm.mean_squared_error(y, b)))
    assert got["r2"].base == pytest.approx(skm.r2_score(y, a))
    assert got["loss"].change == pytest.approx(loss_b.mean() - loss_a.mean())


def test_resampled_auc_equals_weighted_auc(skm):
    """A resample's AUC is the AUC with each example weighted by how often it was drawn."""
    for ties in (False, True):
        y, sb, *_ = _binary(500, ties=ties)
        weights = _counts(np.random.default_rng(0), 4, len(y))
        got = _roc_auc(y == 1, sb)(weights)
        want = [skm.roc_auc_score(y, sb, sample_weight=w) for w in weights]
        assert got == pytest.approx(want, abs=1e-12)
        order = _arrangement(y, Side(score=sb), 1)  # negatives by score, then positives: read as views
        got = _roc_auc(y[order] == 1, sb[order])(weights)
        want = [skm.roc_auc_score(y[order], sb[order], sample_weight=w) for w in weights]
        assert got == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("n", [3, 4])
def test_resampling_counts_are_exactly_multinomial(n):
    """Every count vector over n examples turns up as often as Multinomial(n, 1/n) says."""
    import collections
    import math

    from scipy.stats import chi2

    rows = 100_000
    counts = _counts(np.random.default_rng(3), rows, n)
    seen = collections.Counter(map(tuple, counts.tolist()))
    assert len(seen) == math.comb(2 * n - 1, n)  # every composition of n into n parts occurs
    statistic = 0.0
    for vector, observed in seen.items():
        p = math.factorial(n) / math.prod(math.factorial(c) for c in vector) / n ** n
        statistic += (observed - rows * p) ** 2 / (rows * p)
    assert chi2.sf(statistic, len(seen) - 1) > 1e-3


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 50_000])
def test_every_resample_draws_n_examples(n):
    counts = _counts(np.random.default_rng(n), 30, n)
    assert (counts.sum(axis=1) == n).all()
    if n >= 1000:  # one example's count is Binomial(n, 1/n): about 37% zeros
        assert 0.33 < (counts == 0).mean() < 0.41


def test_threads_do_not_change_the_interval(monkeypatch):
    y, sb, sh, pb, ph = _binary(3000)
    ev = Evaluation(y, Side(pb, sb, {"loss": sb}), Side(ph, sh, {"loss": sh}))
    metrics = ["accuracy", "roc_auc", "log_loss", "loss"]
    found = []
    for cpus in (1, 2, 3):
        monkeypatch.setattr(bootstrap_module, "_cpus", lambda c=cpus: c)
        monkeypatch.setattr(bootstrap_module, "_BLOCK_CELLS", 3000 * 17)  # several blocks
        found.append({m: (i.low, i.high) for m, i in bootstrap(ev, metrics, resamples=200, seed=5).items()})
    assert found[0] == found[1] == found[2]


def test_fixed_seed_is_deterministic_and_independent_of_other_metrics():
    y, sb, sh, pb, ph = _binary(600)
    ev = Evaluation(y, Side(pb, sb), Side(ph, sh))
    one = bootstrap(ev, ["roc_auc"], resamples=300, seed=7)["roc_auc"]
    two = bootstrap(ev, ["accuracy", "roc_auc", "log_loss"], resamples=300, seed=7)["roc_auc"]
    other_seed = bootstrap(ev, ["roc_auc"], resamples=300, seed=8)["roc_auc"]
    assert (one.low, one.high) == (two.low, two.high)
    assert (one.low, one.high) != (other_seed.low, other_seed.high)


# -- coverage: the 95% interval covers the true difference about 95% of the time ------------------

def _coverage(trials: int, draw, metric: str, truth: float, *, n: int, resamples: int) -> float:
    hits = 0
    for trial in range(trials):
        ev = draw(np.random.default_rng(1000 + trial), n)
        found = bootstrap(ev, [metric], resamples=resamples, seed=trial)[metric]
        hits += found.low <= truth <= found.high
    return hits / trials


def test_accuracy_interval_covers_the_true_difference():
    # Per example: base right with p 0.80, head right with p 0.83, correlated through a shared draw.
    def draw(rng, n):
        u, v = rng.random(n), rng.random(n)
        base_ok = u < 0.80
        head_ok = np.where(v < 0.7, u < 0.83, rng.random(n) < 0.83)  # mostly the same examples
        y = rng.integers(0, 2, n)
        return Evaluation(y, Side(np.where(base_ok, y, 1 - y)), Side(np.where(head_ok, y, 1 - y)))

    coverage = _coverage(300, draw, "accuracy", 0.03, n=400, resamples=500)
    # 300 trials: a binomial standard error of 1.3 points; a percentile bootstrap runs slightly narrow.
    assert 0.89 <= coverage <= 0.99, coverage


def test_mae_interval_covers_the_true_difference():
    # |error| ~ |N(0, s)|: E = s * sqrt(2/pi). Base s = 1.0, head s = 0.9 (paired through a shared noise).
    def draw(rng, n):
        y = rng.normal(size=n)
        shared = rng.normal(size=n)
        base = y + shared
        head = y + 0.9 * shared
        return Evaluation(y, Side(base), Side(head))

    truth = (0.9 - 1.0) * np.sqrt(2 / np.pi)
    coverage = _coverage(150, draw, "mae", truth, n=300, resamples=400)
    assert 0.87 <= coverage <= 0.99, coverage


def test_paired_interval_is_narrower_than_unpaired_on_correlated_predictions():
    rng = np.random.default_rng(5)
    y = rng.normal(size=1000)
    shared = rng.normal(size=1000)
    ev = Evaluation(y, Side(y + shared), Side(y + shared * 0.97 + rng.normal(size=1000) * 0.05))
    paired = bootstrap(ev, ["mae"], resamples=500)["mae"]
    unpaired = bootstrap(ev, ["mae"], resamples=500, paired=False)["mae"]
    assert paired.change == pytest.approx(unpaired.change)
    assert (paired.high - paired.low) * 3 < unpaired.high - unpaired.low


def test_unpaired_allows_different_example_sets():
    rng = np.random.default_rng(6)
    yb, yh = rng.integers(0, 2, 300), rng.integers(0, 2, 500)
    ev = Evaluation(yh, Side(yb.copy()), Side(np.where(rng.random(500) < 0.9, yh, 1 - yh)), base_actual=yb)
    got = bootstrap(ev, ["accuracy"], resamples=200, paired=False)["accuracy"]
    assert got.base == 1.0 and got.head < 1.0 and got.low < got.change < got.high


# -- what the data cannot define is an error, not a number ----------------------------------------

def test_single_class_has_no_auc_but_has_accuracy():
    y = np.ones(50, dtype=int)
    ev = Evaluation(y, Side(np.ones(50, int), np.full(50, 0.7)), Side(np.zeros(50, int), np.full(50, 0.4)))
    with pytest.raises(UserError, match="roc_auc needs both classes"):
        bootstrap(ev, ["roc_auc"], resamples=100)
    assert bootstrap(ev, ["accuracy"], resamples=100)["accuracy"].change == -1.0


@pytest.mark.parametrize("metrics, side, message", [
    (["roc_auc"], Side(np.zeros(10, int)), "needs the 'score' column"),
    (["mae"], Side(None), "needs the 'predicted' column"),
    (["bogus"], Side(np.zeros(10, int)), "unknown metric 'bogus'"),
    (["log_loss"], Side(np.zeros(10, int), np.full(10, 1.5)), "probabilities between 0 and 1"),
])
def test_unusable_inputs_are_one_line_errors(metrics, side, message):
    y = np.array([0, 1] * 5)
    with pytest.raises(UserError, match=message):
        bootstrap(Evaluation(y, side, side), metrics, resamples=100)


def test_too_few_resamples_and_empty_sets_are_refused():
    y = np.array([0, 1])
    with pytest.raises(UserError, match="too few"):
        bootstrap(Evaluation(y, Side(y), Side(y)), ["accuracy"], resamples=10)
    with pytest.raises(UserError, match="no rows"):
        bootstrap(Evaluation(y[:0], Side(y[:0]), Side(y[:0])), ["accuracy"], resamples=100)


# -- several seeds ----------------------------------------------------------------------------------

def test_t_intervals_equal_scipy():
    from scipy import stats

    base, head = [0.81, 0.80, 0.83, 0.82, 0.80], [0.84, 0.82, 0.85, 0.83, 0.84]
    paired = seed_interval(base, head, paired=True)
    want = stats.ttest_rel(head, base).confidence_interval(0.95)
    assert (paired.low, paired.high) == pytest.approx((want.low, want.high))
    welch = seed_interval(base, head[:4], paired=False)
    want = stats.ttest_ind(head[:4], base, equal_var=False).confidence_interval(0.95)
    assert (welch.low, welch.high) == pytest.approx((want.low, want.high))
    assert paired.n == 5 and paired.paired and not welch.paired


def test_wilcoxon_critical_values_match_the_tables():
    # Two-sided 5% tables: signed-rank n=10 rejects T <= 8; rank-sum m=n=10 rejects U <= 23.
    assert _signed_rank_critical(10, 0.05) == 9
    assert _rank_sum_critical(10, 10, 0.05) == 24
    assert _signed_rank_critical(5, 0.05) == 0  # five runs can never reach 5% two-sided


def test_wilcoxon_interval_brackets_the_hodges_lehmann_estimate():
    base = [0.80, 0.81, 0.79, 0.82, 0.80, 0.81, 0.80, 0.79, 0.82, 0.81]
    head = [b + d for b, d in zip(base, [0.02, 0.01, 0.03, 0.02, 0.015, 0.025, 0.02, 0.01, 0.03, 0.02])]
    got = seed_interval(base, head, paired=True, method="wilcoxon")
    assert 0 < got.low <= got.estimate <= got.high
    unpaired = seed_interval(base, head, paired=False, method="wilcoxon")
    assert unpaired.high - unpaired.low > got.high - got.low


@pytest.mark.parametrize("base, head, paired, message", [
    ([0.8], [0.9, 0.91], False, "at least 2 runs"),
    ([0.8, 0.81, 0.82], [0.9, 0.91], True, "as many base runs"),
    ([0.8, float("nan")], [0.9, 0.91], False, "not a finite number"),
])
def test_seed_inputs_that_cannot_give_an_interval(base, head, paired, message):
    with pytest.raises(UserError, match=message):
        seed_interval(base, head, paired=paired)


# -- end to end: gates judged on intervals, through the CLI -----------------------------------------

def _predictions(path: Path, y, pred, score=None, ids=None) -> None:
    lines = ["id,label,pred,proba"]
    for i, (a, p) in enumerate(zip(y, pred)):
        s = "" if score is None else f"{score[i]:.6f}"
        lines.append(f"{ids[i] if ids is not None else i},{a},{p},{s}")
    path.write_text("\n".join(lines) + "\n")


def _project(repo: Path, gates: dict, significance: dict) -> None:
    config = {"version": 1, "report": {"metrics_files": ["metrics.json"]}, "metrics": gates,
              "significance": significance}
    import yaml

    (repo / ".ci-mlops.yml").write_text(yaml.safe_dump(config, sort_keys=False))


def _eval_pair(n: int, base_acc: float, head_acc: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    u = rng.random(n)
    return y, np.where(u < base_acc, y, 1 - y), np.where(u < head_acc, y, 1 - y)


def _write_eval(repo: Path, y, pred, accuracy: float | None = None, ids=None) -> None:
    """What an evaluation stage writes: the predictions and metrics.json (accuracy from them by default)."""
    _predictions(repo / "predictions.csv", y, pred, ids=ids)
    value = float((np.asarray(pred) == np.asarray(y)).mean()) if accuracy is None else accuracy
    (repo / "metrics.json").write_text(json.dumps({"test": {"accuracy": value}}))


def _commit_base(repo: Path, y, pred, accuracy: float | None = None) -> None:
    _write_eval(repo, y, pred, accuracy)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")


SIG = {"predictions": {"file": "predictions.csv", "actual": "label", "predicted": "pred", "id": "id"},
       "resamples": 500}


def test_check_fails_a_significant_drop_and_warns_on_an_inconclusive_one(git_repo):
    y, pb, ph = _eval_pair(4000, 0.90, 0.85)  # a 5-point drop on 4,000 examples: clearly real
    _project(git_repo, {"test.accuracy": {"max_drop": 0.01, "significance": 0.95}}, SIG)
    _commit_base(git_repo, y, pb)
    _write_eval(git_repo, y, ph)
    out = run_cli("check", "--base", "main", "--format", "json", cwd=git_repo)
    assert out.returncode == 1, out.stderr
    gate = json.loads(out.stdout)["gates"][0]
    assert gate["verdict"] == "fail" and "at 95% confidence: over max_drop 0.01" in gate["message"]
    assert gate["interval"]["significant"] is True

    # A 0.5-point drop on 400 examples against a 1-point bound: the interval straddles it.
    y, pb, ph = _eval_pair(400, 0.900, 0.895, seed=2)
    _commit_base(git_repo, y, pb)
    _write_eval(git_repo, y, ph)
    out = run_cli("check", "--base", "main", cwd=git_repo)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "WARN" in out.stdout and "inconclusive" in out.stdout


def test_inconclusive_can_be_made_to_fail(git_repo):
    y, pb, ph = _eval_pair(400, 0.900, 0.895, seed=2)
    _project(git_repo, {"test.accuracy": {"max_drop": 0.01, "significance": 0.95}},
             {**SIG, "inconclusive": "fail"})
    _commit_base(git_repo, y, pb)
    _write_eval(git_repo, y, ph)
    out = run_cli("check", "--base", "main", cwd=git_repo)
    assert out.returncode == 1 and "inconclusive" in out.stdout


def test_report_shows_the_interval_and_claims_no_improvement_within_noise(git_repo):
    y, pb, _ = _eval_pair(300, 0.90, 0.90, seed=3)
    ph = pb.copy()
    wrong, right = np.flatnonzero(pb != y), np.flatnonzero(pb == y)
    ph[wrong[:12]] = y[wrong[:12]]  # 12 fixed, 10 broken: +2 of 300, well within noise
    ph[right[:10]] = 1 - y[right[:10]]
    _project(git_repo, {"test.accuracy": {"max_drop": 0.05, "significance": 0.95}}, SIG)
    _commit_base(git_repo, y, pb)
    _write_eval(git_repo, y, ph)
    out = run_cli("report", "--base", "main", "--format", "json", cwd=git_repo)
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)["metrics"][0]
    assert row["significant"] is False and row["ci_low"] < 0 < row["ci_high"] and row["confidence"] == 0.95
    assert row["status"] == "unchanged" and row["unchanged_reason"] == "not significant"
    md = run_cli("report", "--base", "main", cwd=git_repo).stdout
    assert "95% CI −" in md and "not significant" in md and "paired bootstrap over 300 examples" in md
    assert "improved" not in md.split("####")[0]  # the headline claims nothing


def test_a_significance_gate_without_evidence_fails(git_repo):
    y, pb, ph = _eval_pair(200, 0.9, 0.9)
    _project(git_repo, {"test.accuracy": {"max_drop": 0.01, "significance": 0.95}}, {"resamples": 500})
    _commit_base(git_repo, y, pb, 0.9)
    (git_repo / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.95}}))
    out = run_cli("check", "--base", "main", cwd=git_repo)
    assert out.returncode in (1, 2)
    assert "no evidence" in out.stdout + out.stderr


@pytest.mark.parametrize("change, message", [
    ("fewer_rows", "not the same examples"),
    ("other_ids", "ids only at"),
    ("duplicate_id", "appears more than once"),
])
def test_mismatched_example_sets_are_a_clear_error(git_repo, change, message):
    y, pb, ph = _eval_pair(100, 0.9, 0.9)
    sig = SIG if change != "fewer_rows" else {**SIG, "predictions": {**SIG["predictions"], "id": None}}
    sig = json.loads(json.dumps(sig))
    if sig["predictions"]["id"] is None:
        del sig["predictions"]["id"]
    _project(git_repo, {"test.accuracy": {"max_drop": 0.01, "significance": 0.95}}, sig)
    _commit_base(git_repo, y, pb, 0.9)
    ids = list(range(100))
    if change == "fewer_rows":
        y, ph = y[:90], ph[:90]
    elif change == "other_ids":
        ids = [i + 1000 for i in ids]
    else:
        ids[5] = ids[6]
    _write_eval(git_repo, y, ph, accuracy=0.91, ids=ids)
    out = run_cli("check", "--base", "main", cwd=git_repo)
    assert out.returncode in (1, 2)
    assert message in out.stdout + out.stderr
    assert "Traceback" not in out.stderr


def test_rows_paired_by_id_in_any_order(git_repo):
    y, pb, ph = _eval_pair(1000, 0.9, 0.8)
    _project(git_repo, {"test.accuracy": {"max_drop": 0.01, "significance": 0.95}}, SIG)
    _commit_base(git_repo, y, pb)
    order = np.random.default_rng(0).permutation(1000)
    _write_eval(git_repo, y[order], ph[order], ids=order)
    out = run_cli("check", "--base", "main", "--format", "json", cwd=git_repo)
    gate = json.loads(out.stdout)["gates"][0]
    assert gate["verdict"] == "fail"


def test_seed_files_mode(git_repo):
    _project(git_repo, {"test.accuracy": {"max_drop": 0.005, "significance": 0.95}},
             {"seeds": {"files": "metrics/seed_*.json"}})
    (git_repo / "metrics").mkdir()
    base = [0.850, 0.852, 0.848, 0.851, 0.849]
    for i, v in enumerate(base):
        (git_repo / "metrics" / f"seed_{i}.json").write_text(json.dumps({"test": {"accuracy": v}}))
    (git_repo / "metrics.json").write_text(json.dumps({"test": {"accuracy": float(np.mean(base))}}))
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "base")
    head = [0.830, 0.833, 0.829, 0.831, 0.832]
    for i, v in enumerate(head):
        (git_repo / "metrics" / f"seed_{i}.json").write_text(json.dumps({"test": {"accuracy": v}}))
    (git_repo / "metrics.json").write_text(json.dumps({"test": {"accuracy": float(np.mean(head))}}))
    out = run_cli("check", "--base", "main", "--format", "json", cwd=git_repo)
    assert out.returncode == 1, out.stdout + out.stderr
    gate = json.loads(out.stdout)["gates"][0]
    assert gate["verdict"] == "fail" and gate["interval"]["test"] == "paired t-interval"
    md = run_cli("report", "--base", "main", cwd=git_repo).stdout
    assert "paired t-interval over 5 seeds" in md


def test_seed_list_mode(git_repo):
    _project(git_repo, {"test.accuracy": {"max_drop": 0.05, "significance": 0.95}},
             {"seeds": {"file": "seeds.json", "method": "wilcoxon"}})
    (git_repo / "seeds.json").write_text(json.dumps({"test": {"accuracy": [0.85, 0.86, 0.84, 0.85, 0.86, 0.85]}}))
    (git_repo / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.85}}))
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "base")
    (git_repo / "seeds.json").write_text(json.dumps({"test": {"accuracy": [0.86, 0.85, 0.85, 0.86, 0.84, 0.85]}}))
    (git_repo / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.852}}))
    out = run_cli("check", "--base", "main", "--format", "json", cwd=git_repo)
    assert out.returncode == 0, out.stdout + out.stderr
    gate = json.loads(out.stdout)["gates"][0]
    assert gate["verdict"] == "pass" and gate["interval"]["test"] == "Wilcoxon signed-rank interval"
