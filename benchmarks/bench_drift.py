"""Benchmark: `ci-mlops drift` engine vs Evidently's DataDriftPreset vs a plain SciPy/pandas pass.

    .venv/bin/python benchmarks/bench_drift.py [--rows 1000000] [--skip-evidently]

Data: reference and current tables of ROWS x 20 columns (15 numeric, 5 categorical
strings, some missing values), seeded, written once as Parquet under
benchmarks/.work/drift/. Some columns are shifted (mean, variance, category mix),
some shifted just below or above the thresholds.

Each contender runs in its own process (so peak RSS is its own) and times reading the
two Parquet files plus the drift computation:

* ours:      ci_mlops.drift.detect_drift (sorted arrays, merge-based Wasserstein, threads)
* plain:     per column scipy.stats.wasserstein_distance / reference std, and
             pandas value_counts + scipy.spatial.distance.jensenshannon
* Evidently: Report([DataDriftPreset()]) in its own venv (benchmarks/.work/evidently-venv,
             created with `pip install evidently "pandas<3" pyarrow` when missing: it needs
             pandas < 3, this project uses pandas 3)

It prints the times, the ratios, peak RSS against the in-memory data size, and
whether the per-column verdicts agree.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
DATA = WORK / "drift"
EVIDENTLY_VENV = WORK / "evidently-venv"
NUMERIC = 15
CATEGORICAL = 5


# -- data --------------------------------------------------------------------------------------


def make_data(rows: int) -> tuple[Path, Path]:
    import numpy as np
    import pandas as pd

    folder = DATA / str(rows)
    ref_path, cur_path = folder / "reference.parquet", folder / "current.parquet"
    if ref_path.exists() and cur_path.exists():
        return ref_path, cur_path
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2024)

    def table(shifted: bool) -> pd.DataFrame:
        cols: dict[str, object] = {}
        # (mean shift in std units, scale factor) per numeric column; most unshifted
        shifts = [(0.0, 1.0)] * NUMERIC
        if shifted:
            shifts[0] = (0.3, 1.0)    # clear mean shift
            shifts[1] = (0.0, 1.5)    # variance change
            shifts[2] = (0.05, 1.0)   # small shift, below the 0.1 threshold
            shifts[3] = (0.15, 1.0)   # above the threshold
            shifts[4] = (0.0, 1.08)   # small variance change, below
        for i, (shift, scale) in enumerate(shifts):
            kind = i % 3
            if kind == 0:
                values = rng.normal(10 + shift * 2, 2 * scale, rows)
            elif kind == 1:
                values = rng.lognormal(1 + shift, 0.5 * scale, rows)
            else:
                values = rng.uniform(0, 100 * scale, rows) + shift * 28.9
            if i in (5, 6):
                values[rng.random(rows) < 0.02] = np.nan
            cols[f"num_{i:02d}"] = values
        for j in range(CATEGORICAL):
            k = [3, 5, 8, 12, 30][j]
            labels = np.array([f"cat{j}_{v}" for v in range(k)])
            p = np.linspace(1, 2, k)
            if shifted and j == 0:
                p = p[::-1]   # category mix change
            if shifted and j == 1:
                p = p.copy()
                p[0] *= 1.15  # small change, below
            values = labels[rng.choice(k, rows, p=p / p.sum())].astype(object)
            if j == 2:
                values[rng.random(rows) < 0.01] = None
            cols[f"cat_{j}"] = values
        return pd.DataFrame(cols)

    table(False).to_parquet(ref_path, index=False)
    table(True).to_parquet(cur_path, index=False)
    return ref_path, cur_path


# -- workers (each runs in its own process) ----------------------------------------------------


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_ours(ref_path: str, cur_path: str, repeat: int) -> dict:
    import pandas as pd

    sys.path.insert(0, str(HERE.parent))
    from ci_mlops.drift import detect_drift
    from ci_mlops.drift.io import read_data

    import pyarrow.parquet  # noqa: F401 - imported up front so the baseline RSS includes the libraries
    import scipy.stats  # noqa: F401

    baseline_rss = peak_rss_mb()
    times, result, data_mb = [], None, 0.0
    for _ in range(repeat):
        started = time.perf_counter()
        ref, cur = read_data(Path(ref_path)), read_data(Path(cur_path))  # what `ci-mlops drift` does
        result = detect_drift(ref, cur)
        times.append(time.perf_counter() - started)
        del ref, cur
    peak_rss = peak_rss_mb()
    plain_ref, plain_cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    data_mb = (plain_ref.memory_usage(deep=True).sum() + plain_cur.memory_usage(deep=True).sum()) / 2**20
    verdicts = {c["name"]: [c["test"], c["statistic"], c["drifted"]] for c in result["columns"]}
    return {"seconds": min(times), "all_seconds": times, "verdicts": verdicts, "peak_rss_mb": peak_rss,
            "baseline_rss_mb": baseline_rss, "data_mb": data_mb, "dataset_drift": result["dataset_drift"]}


def worker_plain(ref_path: str, cur_path: str) -> dict:
    """What a careful user writes by hand: one SciPy / pandas call per column."""
    import numpy as np
    import pandas as pd
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import wasserstein_distance

    started = time.perf_counter()
    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    verdicts = {}
    for name in ref.columns:
        r, c = ref[name].dropna(), cur[name].dropna()
        if pd.api.types.is_float_dtype(r):
            score = wasserstein_distance(r, c) / max(float(np.std(r)), 0.001)
            verdicts[name] = ["wasserstein", score, bool(score >= 0.1)]
        else:
            rc, cc = r.value_counts(), c.value_counts()
            keys = rc.index.union(cc.index)
            p = rc.reindex(keys, fill_value=0).to_numpy() / len(r)
            q = cc.reindex(keys, fill_value=0).to_numpy() / len(c)
            score = float(jensenshannon(p, q))
            verdicts[name] = ["jensenshannon", score, bool(score >= 0.1)]
    return {"seconds": time.perf_counter() - started, "verdicts": verdicts, "peak_rss_mb": peak_rss_mb()}


EVIDENTLY_WORKER = r'''
import json, resource, sys, time
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
ref_path, cur_path = sys.argv[1], sys.argv[2]
started = time.perf_counter()
ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
read = time.perf_counter() - started
snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
verdicts = {}
for metric in snapshot.dict()["metrics"]:
    cfg = metric["config"]
    if not cfg["type"].endswith("ValueDrift"):
        continue
    method, threshold, value = cfg["method"], cfg["threshold"], metric["value"]
    if "p_value" in method:
        drifted = value <= threshold if method.startswith("K-S") else value < threshold
    else:
        drifted = value >= threshold
    verdicts[cfg["column"]] = [method, value, bool(drifted)]
import evidently
print(json.dumps({"seconds": time.perf_counter() - started, "read_seconds": read, "verdicts": verdicts,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "version": evidently.__version__}))
'''


def ensure_evidently() -> Path | None:
    python = EVIDENTLY_VENV / "bin" / "python"
    probe = [str(python), "-c", "import evidently, pyarrow, pandas; assert int(pandas.__version__.split('.')[0]) < 3"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print("installing Evidently into", EVIDENTLY_VENV, "(once)...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "evidently", "pandas<3", "pyarrow"], check=True,
                       capture_output=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"Evidently could not be installed ({exc}); skipping it.")
        return None
    return python if subprocess.run(probe, capture_output=True).returncode == 0 else None


def run_worker(args: list[str], python: str = sys.executable) -> dict:
    proc = subprocess.run([python, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- main --------------------------------------------------------------------------------------


def agreement(ours: dict, other: dict) -> tuple[int, int, list[str]]:
    same, diff = 0, []
    for name, (_, _, drifted) in ours.items():
        if name in other:
            if other[name][2] == drifted:
                same += 1
            else:
                diff.append(f"{name} (ours {drifted}, theirs {other[name][2]})")
    return same, len([n for n in ours if n in other]), diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours (best is reported)")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--worker", choices=["ours", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "ours":
        print(json.dumps(worker_ours(*args.paths, repeat=args.repeat)))
        return
    if args.worker == "plain":
        print(json.dumps(worker_plain(*args.paths)))
        return

    ref_path, cur_path = make_data(args.rows)
    print(f"data: {args.rows:,} rows x {NUMERIC + CATEGORICAL} columns ({NUMERIC} numeric, {CATEGORICAL} categorical), "
          f"reference and current, Parquet; machine: {os.cpu_count()} cores")
    me = [str(Path(__file__).resolve())]
    ours = run_worker([*me, "--worker", "ours", "--repeat", str(args.repeat), str(ref_path), str(cur_path)])
    print(f"ours:      {ours['seconds']:7.2f} s  (best of {len(ours['all_seconds'])}: "
          f"{', '.join(f'{t:.2f}' for t in ours['all_seconds'])}), peak RSS {ours['peak_rss_mb']:.0f} MiB, "
          f"{ours['peak_rss_mb'] - ours['baseline_rss_mb']:.0f} MiB above the {ours['baseline_rss_mb']:.0f} MiB after "
          f"imports = {(ours['peak_rss_mb'] - ours['baseline_rss_mb']) / ours['data_mb']:.1f}x the data as pandas "
          f"loads it ({ours['data_mb']:.0f} MiB)")
    plain = run_worker([*me, "--worker", "plain", str(ref_path), str(cur_path)])
    same, total, diff = agreement(ours["verdicts"], plain["verdicts"])
    print(f"plain:     {plain['seconds']:7.2f} s, peak RSS {plain['peak_rss_mb']:.0f} MiB; "
          f"ours takes {ours['seconds'] / plain['seconds']:.3f} of its time ({plain['seconds'] / ours['seconds']:.1f}x faster); "
          f"verdicts agree on {same}/{total}" + (f"; differ: {', '.join(diff)}" if diff else ""))
    if args.skip_evidently:
        print("Evidently: skipped (--skip-evidently)")
    else:
        python = ensure_evidently()
        if python is None:
            print("Evidently: not installed, no comparison")
        else:
            script = WORK / "evidently_worker.py"
            script.write_text(EVIDENTLY_WORKER)
            ev = run_worker([str(script), str(ref_path), str(cur_path)], python=str(python))
            same, total, diff = agreement(ours["verdicts"], ev["verdicts"])
            print(f"Evidently {ev['version']}: {ev['seconds']:7.2f} s (read {ev['read_seconds']:.2f} s), "
                  f"peak RSS {ev['peak_rss_mb']:.0f} MiB; ours is {ev['seconds'] / ours['seconds']:.1f}x faster; "
                  f"verdicts agree on {same}/{total}" + (f"; differ: {', '.join(diff)}" if diff else ""))
            worst = max(abs(ours["verdicts"][n][1] - ev["verdicts"][n][1]) for n in ours["verdicts"] if n in ev["verdicts"])
            print(f"           largest per-column score difference vs Evidently: {worst:.2e}")
    print("per column (ours): " + ", ".join(f"{n} {v[0]} {v[1]:.4f}{'*' if v[2] else ''}"
                                          for n, v in ours["verdicts"].items()))


if __name__ == "__main__":
    main()
