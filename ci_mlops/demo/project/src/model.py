"""A small logistic-regression model in plain numpy, shared by train.py and evaluate.py."""

import csv
from pathlib import Path

import numpy as np


def load(path):
    """(features, labels, regions, feature names) of a prepared CSV split."""
    with Path(path).open() as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    names = header[:-2]
    x = np.array([[float(v) for v in r[:-2]] for r in rows])
    y = np.array([int(r[-1]) for r in rows])
    regions = [r[-2] for r in rows]
    return x, y, regions, names


def predict_proba(model, x):
    z = ((x - model["mean"]) / model["std"]) @ model["weights"] + model["bias"]
    return 1.0 / (1.0 + np.exp(-z))
