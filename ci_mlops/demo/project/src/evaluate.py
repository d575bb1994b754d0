"""Score the test split: metrics JSON, ROC and precision-recall curves, per-customer predictions."""

import csv
import json
import pickle
from pathlib import Path

import numpy as np
import yaml
from model import load, predict_proba

threshold = yaml.safe_load(Path("params.yaml").read_text())["evaluate"]["threshold"]
with open("models/model.pkl", "rb") as fh:
    model = pickle.load(fh)
x, y, regions, _ = load("data/prepared/test.csv")
proba = predict_proba(model, x)
pred = (proba >= threshold).astype(int)

tp = int(((pred == 1) & (y == 1)).sum())
fp = int(((pred == 1) & (y == 0)).sum())
fn = int(((pred == 0) & (y == 1)).sum())
precision = tp / (tp + fp) if tp + fp else 0.0
recall = tp / (tp + fn) if tp + fn else 0.0

# ROC and precision-recall curves over every distinct score.
order = np.argsort(-proba)
tps = np.cumsum(y[order])
fps = np.cumsum(1 - y[order])
tpr = np.concatenate([[0.0], tps / max(tps[-1], 1)])
fpr = np.concatenate([[0.0], fps / max(fps[-1], 1)])
auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
eps = 1e-12
log_loss = float(-np.mean(y * np.log(proba + eps) + (1 - y) * np.log(1 - proba + eps)))

metrics = {
    "test": {
        "accuracy": round(float((pred == y).mean()), 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        "roc_auc": round(auc, 4),
        "log_loss": round(log_loss, 4),
    }
}
Path("eval/plots").mkdir(parents=True, exist_ok=True)
Path("eval/metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

step = max(1, len(order) // 50)  # about 50 points per curve keeps the files small
with open("eval/plots/roc.csv", "w", newline="") as fh:
    writer = csv.writer(fh)
    writer.writerow(["fpr", "tpr"])
    writer.writerows([round(a, 4), round(b, 4)] for a, b in zip(fpr[::step], tpr[::step]))
with open("eval/plots/precision_recall.csv", "w", newline="") as fh:
    writer = csv.writer(fh)
    writer.writerow(["recall", "precision"])
    for k in range(step - 1, len(order), step):
        writer.writerow([round(tps[k] / max(tps[-1], 1), 4), round(tps[k] / (k + 1), 4)])
with open("eval/predictions.csv", "w", newline="") as fh:
    writer = csv.writer(fh)
    writer.writerow(["actual", "predicted", "probability", "region"])
    writer.writerows([int(a), int(p), round(float(q), 4), r] for a, p, q, r in zip(y, pred, proba, regions))
print(json.dumps(metrics["test"]))
