"""Split the raw customers into train/test and one-hot encode the categorical columns."""

import csv
from pathlib import Path

import numpy as np
import yaml

params = yaml.safe_load(Path("params.yaml").read_text())["prepare"]
rows = list(csv.DictReader(Path("data/customers.csv").open()))

NUMERIC = ["tenure_months", "monthly_charges", "support_calls", "age"]
CATEGORIES = {"region": ["north", "south", "east", "west"], "contract": ["monthly", "annual"]}
header = NUMERIC + [f"{col}_{v}" for col, values in CATEGORIES.items() for v in values] + ["region", "churned"]


def encode(row):
    onehot = [int(row[col] == v) for col, values in CATEGORIES.items() for v in values]
    return [row[c] for c in NUMERIC] + onehot + [row["region"], row["churned"]]


rng = np.random.default_rng(params["seed"])
order = rng.permutation(len(rows))
n_test = int(len(rows) * params["test_size"])
out = Path("data/prepared")
out.mkdir(parents=True, exist_ok=True)
for name, idx in (("test", order[:n_test]), ("train", order[n_test:])):
    with (out / f"{name}.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(encode(rows[i]) for i in sorted(idx))
print(f"prepared {len(rows) - n_test} training and {n_test} test rows")
