"""Fit the churn model by full-batch gradient descent and save it to models/model.pkl."""

import pickle
from pathlib import Path

import numpy as np
import yaml
from model import load, predict_proba

params = yaml.safe_load(Path("params.yaml").read_text())["train"]
x, y, _, names = load("data/prepared/train.csv")

mean, std = x.mean(axis=0), x.std(axis=0)
std[std == 0] = 1.0
model = {"features": names, "mean": mean, "std": std, "weights": np.zeros(x.shape[1]), "bias": 0.0}
sample_weight = np.where(y == 1, params["class_weight"], 1.0)
for _ in range(params["epochs"]):
    error = (predict_proba(model, x) - y) * sample_weight
    xs = (x - mean) / std
    model["weights"] -= params["learning_rate"] * (xs.T @ error / len(y) + params["l2"] * model["weights"])
    model["bias"] -= params["learning_rate"] * error.mean()

Path("models").mkdir(exist_ok=True)
with open("models/model.pkl", "wb") as fh:
    pickle.dump(model, fh)
print(f"trained on {len(y)} rows, {len(names)} features")
