"""The demo's dataset: seeded synthetic customer-churn records, made with numpy (no downloads)."""

from __future__ import annotations

import io

REGIONS = ("north", "south", "east", "west")
CONTRACTS = ("monthly", "annual")
COLUMNS = ("customer_id", "tenure_months", "monthly_charges", "support_calls", "age", "region", "contract", "churned")


def customers_csv(rows: int = 3000, seed: int = 20240607) -> str:
    """CSV text of ``rows`` customers; ``churned`` follows a noisy logistic model of the other columns."""
    import numpy as np  # lazy: NumPy is slow to import

    rng = np.random.default_rng(seed)
    tenure = rng.gamma(2.0, 12.0, rows).clip(1, 72).round().astype(int)
    charges = rng.normal(70.0, 20.0, rows).clip(18, 130).round(2)
    calls = rng.poisson(1.5, rows)
    age = rng.normal(45, 14, rows).clip(18, 90).round().astype(int)
    region = rng.choice(REGIONS, rows, p=[0.4, 0.3, 0.2, 0.1])
    contract = rng.choice(CONTRACTS, rows, p=[0.6, 0.4])
    logit = (
        -1.5
        - 0.05 * (tenure - 24)
        + 0.03 * (charges - 70)
        + 0.45 * (calls - 1.5)
        - 0.01 * (age - 45)
        + 1.0 * (contract == "monthly")
        + 0.3 * (region == "west")
        + rng.normal(0, 0.6, rows)  # what the features cannot explain
    )
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    out = io.StringIO()
    out.write(",".join(COLUMNS) + "\n")
    for i in range(rows):
        out.write(f"C{i + 1:05d},{tenure[i]},{charges[i]:.2f},{calls[i]},{age[i]},{region[i]},{contract[i]},{churned[i]}\n")
    return out.getvalue()
