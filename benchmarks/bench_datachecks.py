"""Data checks on a million rows: ci-mlops vs pandera vs a plain row-by-row Python loop.

Run: .venv/bin/python benchmarks/bench_datachecks.py [--rows N] [--repeat R]

The same rules (non-null, ranges, allowed set, unique id, regex, max null share,
strict schema, no duplicate rows) are checked three ways on the same data:

* ci-mlops: ``ci_mlops.checks.data.check_frame`` on the loaded DataFrame;
* pandera (what a team would otherwise write): a ``DataFrameSchema`` with the
  equivalent checks, ``validate(lazy=True)`` so it reports every failure as we do.
  pandera runs in its own venv under benchmarks/.work/ (created on first run with
  pip) so it cannot disturb ci-mlops's dependencies;
* a row-by-row loop over ``csv.DictReader``, the script people write by hand.

Loading the file is timed separately; the check times exclude it. Best of --repeat.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ci_mlops.checks.data import check_frame

WORK = Path(__file__).resolve().parent / ".work"
PANDERA_VENV = WORK / "pandera-venv"

SPEC = {
    "schema": "strict",
    "rows": {"min": 1000},
    "columns": {
        "id": {"dtype": "int", "unique": True, "nullable": False},
        "age": {"min": 0, "max": 120, "nullable": False},
        "income": {"min": 0, "max_null_fraction": 0.05},
        "color": {"allowed": ["red", "green", "blue"]},
        "email": {"regex": r"[a-z0-9.]+@example\.(com|org)"},
        "label": {"allowed": [0, 1], "nullable": False},
    },
    "duplicates": {"max": 0},
}

PANDERA_SCRIPT = r'''
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
import pandera.pandas as pa
frame = pd.read_parquet(sys.argv[1])
repeat = int(sys.argv[2])
schema = pa.DataFrameSchema({
    "id": pa.Column(int, unique=True, nullable=False),
    "age": pa.Column(float, [pa.Check.ge(0), pa.Check.le(120)], nullable=False),
    "income": pa.Column(float, [pa.Check.ge(0), pa.Check(lambda s: s.isna().mean() <= 0.05, element_wise=False,
                                                        ignore_na=False)], nullable=True),
    "color": pa.Column(str, pa.Check.isin(["red", "green", "blue"]), nullable=True),
    "email": pa.Column(str, pa.Check.str_matches(r"^[a-z0-9.]+@example\.(com|org)$"), nullable=True),
    "label": pa.Column(int, pa.Check.isin([0, 1]), nullable=False),
}, strict=True, unique=list(frame.columns), checks=[pa.Check(lambda df: len(df) >= 1000)])
best, failures = None, None
for _ in range(repeat):
    start = time.perf_counter()
    try:
        schema.validate(frame, lazy=True)
        failures = 0
    except pa.errors.SchemaErrors as exc:
        failures = len(exc.failure_cases)
    took = time.perf_counter() - start
    best = took if best is None else min(best, took)
import pandera
print(json.dumps({"seconds": best, "failure_cases": failures, "version": pandera.__version__}))
'''


def make_data(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "id": np.arange(rows, dtype=np.int64),
        "age": rng.integers(18, 90, rows).astype(float),
        "income": np.round(rng.lognormal(10, 1, rows), 2),
        "color": rng.choice(["red", "green", "blue"], rows),
        "email": pd.Series(rng.integers(0, 10**9, rows)).astype(str) + "@example.com",
        "label": rng.integers(0, 2, rows),
    })
    # A realistic handful of problems, so every check has something to report.
    bad = rng.choice(rows, 60, replace=False)
    frame.loc[bad[:10], "age"] = 150
    frame.loc[bad[10:20], "income"] = np.nan
    frame.loc[bad[20:30], "color"] = "purple"
    frame.loc[bad[30:40], "email"] = "not-an-email"
    frame.loc[bad[40:45], "id"] = frame.loc[bad[45:50], "id"].to_numpy()
    return frame


def best_of(repeat: int, fn):
    best, value = None, None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        took = time.perf_counter() - start
        best = took if best is None else min(best, took)
    return best, value


def row_loop(path: Path) -> int:
    """The hand-written script: one pass over csv.DictReader, rule by rule per row."""
    failures = 0
    seen_ids: set[str] = set()
    seen_rows: set[tuple] = set()
    nulls = rows = 0
    pattern = re.compile(r"[a-z0-9.]+@example\.(com|org)")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        expected = {"id", "age", "income", "color", "email", "label"}
        failures += len(set(reader.fieldnames or []) - expected)
        for row in reader:
            rows += 1
            if row["id"] in seen_ids:
                failures += 1
            seen_ids.add(row["id"])
            if row["age"] == "" or not 0 <= float(row["age"]) <= 120:
                failures += 1
            if row["income"] == "":
                nulls += 1
            elif float(row["income"]) < 0:
                failures += 1
            if row["color"] and row["color"] not in ("red", "green", "blue"):
                failures += 1
            if row["email"] and not pattern.fullmatch(row["email"]):
                failures += 1
            if row["label"] not in ("0", "1"):
                failures += 1
            key = tuple(row.values())
            if key in seen_rows:
                failures += 1
            seen_rows.add(key)
    failures += nulls / max(rows, 1) > 0.05
    return failures


def ensure_pandera() -> Path | None:
    python = PANDERA_VENV / "bin" / "python"
    if python.exists():
        return python
    print("creating benchmarks/.work/pandera-venv (pip install pandera pandas pyarrow) ...", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PANDERA_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "pandera", "pandas", "pyarrow"], check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"pandera unavailable ({exc}); skipping it", file=sys.stderr)
        return None
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    WORK.mkdir(exist_ok=True)
    frame = make_data(args.rows)
    csv_path, parquet_path = WORK / "bench.csv", WORK / "bench.parquet"
    frame.to_csv(csv_path, index=False)
    frame.to_parquet(parquet_path)
    print(f"{args.rows:,} rows x {frame.shape[1]} columns; {len(SPEC['columns'])} columns checked, "
          f"strict schema, duplicates; best of {args.repeat}")

    from ci_mlops.datafiles import read_table

    load_s, loaded = best_of(args.repeat, lambda: read_table(csv_path))
    ours_s, results = best_of(args.repeat, lambda: check_frame(loaded, SPEC, name="bench.csv"))
    failed = [r for r in results if not r["passed"]]
    print(f"  ci-mlops check_frame     {ours_s:8.3f} s   ({len(failed)} failed checks, "
          f"{sum(r['failing_rows'] for r in failed)} failing rows; CSV load {load_s:.3f} s)")

    python = ensure_pandera()
    if python is not None:
        proc = subprocess.run([str(python), "-c", PANDERA_SCRIPT, str(parquet_path), str(args.repeat)],
                              capture_output=True, text=True)
        if proc.returncode == 0:
            pandera = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"  pandera {pandera['version']:<8} validate {pandera['seconds']:8.3f} s   "
                  f"({pandera['failure_cases']} failure cases)")
            print(f"  ratio pandera / ci-mlops: {pandera['seconds'] / ours_s:.1f}x")
        else:
            print(f"  pandera failed: {proc.stderr.strip().splitlines()[-1:]}")

    loop_s, loop_failures = best_of(1, lambda: row_loop(csv_path))
    print(f"  row-by-row csv loop      {loop_s:8.3f} s   ({loop_failures} failures; includes reading, 1 run)")
    print(f"  ratio row loop / (ci-mlops load + checks): {loop_s / (load_s + ours_s):.1f}x")


if __name__ == "__main__":
    main()
