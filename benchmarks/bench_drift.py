"""Benchmark: `ci-mlops drift` (in-process and DuckDB) vs Evidently's DataDriftPreset vs a plain SciPy pass.

    .venv/bin/python benchmarks/bench_drift.py [--sizes 100k,1m,100m] [--skip-evidently]
        [--repeat N] [--duckdb-columns N] [--big-data /tmp/ci-mlops-drift-100m] [--keep]

Data: reference and current Parquet tables, seeded, generated row group by row group
(1M rows each, so generating 100M rows needs no more memory than 1M): 100k x 13
(9 numeric, 4 categorical), 1M x 20 and 100M x 20 (15 numeric, 5 categorical strings).
Some columns are shifted (mean, variance, category mix), some just below or above the
thresholds, some have missing values. The 100M pair (~24 GB: the numeric columns are
stored uncompressed, random floats do not compress) is written under --big-data
(default /tmp/ci-mlops-drift) and deleted afterwards unless --keep. With
--current-copies the current side is a Parquet glob of 100 links to the 1M current table
(the same empirical distribution, each row 100 times), which saves generating the second
table on a slow machine.

Every contender is a separate process, timed from start to exit (interpreter, imports,
reading both files, all the statistics), with its CPU time (user + system, all threads)
and its peak RSS (GNU time). Bytecode caching is on for every contender, as for an
installed package (PYTHONDONTWRITEBYTECODE would recompile ci-mlops' modules on every
run), and ci-mlops runs once untimed first so its .pyc files exist. The in-process engine
and the plain pass are timed --repeat times (default 3; the median is shown, and the
fastest wall time); DuckDB and Evidently once:

* ci-mlops:  `ci-mlops drift --format json` (the streaming in-process engine)
* DuckDB:    `ci-mlops drift --engine duckdb --format json` (at 100M only the first
             --duckdb-columns numeric and categorical columns: the exact Wasserstein
             distance sorts both samples in SQL, which takes DuckDB minutes per column at
             that size on 2 cores)
* plain:     pandas.read_parquet, then per column scipy.stats.wasserstein_distance /
             reference std and value_counts + scipy.spatial.distance.jensenshannon: what a
             careful user writes by hand. Not run at 100M: it needs both tables in memory
             (~35 GB as pandas holds them) on a 24 GB machine.
* Evidently: Report([DataDriftPreset()]) in its own venv, benchmarks/.work/evidently-venv,
             created on first use with `python -m venv benchmarks/.work/evidently-venv &&
             benchmarks/.work/evidently-venv/bin/pip install evidently "pandas<3" pyarrow`
             (Evidently 0.7 needs pandas < 3; this project uses pandas 3). Up to 1M rows.

"Compared columns" is the size of the compared columns as Arrow holds them in memory
(8 bytes per numeric value, the string bytes and offsets of the categorical ones).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
DATA = WORK / "drift"
EVIDENTLY_VENV = WORK / "evidently-venv"
SIZES = {"100k": (100_000, 9, 4), "1m": (1_000_000, 15, 5), "100m": (100_000_000, 15, 5)}
ROW_GROUP = 1_000_000


# -- data --------------------------------------------------------------------------------------


def make_pair(rows: int, numeric: int, categorical: int, folder: Path) -> tuple[Path, Path]:
    ref_path, cur_path = folder / "reference.parquet", folder / "current.parquet"
    if ref_path.exists() and cur_path.exists():
        return ref_path, cur_path
    folder.mkdir(parents=True, exist_ok=True)
    for path, shifted in ((ref_path, False), (cur_path, True)):
        write_table(path, rows, numeric, categorical, shifted)
    return ref_path, cur_path


def write_table(path: Path, rows: int, numeric: int, categorical: int, shifted: bool) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    # (mean shift in std units, scale factor) per numeric column; most unshifted
    shifts = [(0.0, 1.0)] * numeric
    if shifted:
        shifts[0] = (0.3, 1.0)    # clear mean shift
        shifts[1] = (0.0, 1.5)    # variance change
        shifts[2] = (0.05, 1.0)   # small shift, below the 0.1 threshold
        shifts[3] = (0.15, 1.0)   # above the threshold
        shifts[4] = (0.0, 1.08)   # small variance change, below
    sizes = [3, 5, 8, 12, 30][:categorical]
    partial = path.with_suffix(".partial")
    writer = None
    for start in range(0, rows, ROW_GROUP):
        n = min(ROW_GROUP, rows - start)
        rng = np.random.default_rng([2024, int(shifted), start])
        cols: dict[str, pa.Array] = {}
        for i, (shift, scale) in enumerate(shifts):
            kind = i % 3
            if kind == 0:
                values = rng.normal(10 + shift * 2, 2 * scale, n)
            elif kind == 1:
                values = rng.lognormal(1 + shift, 0.5 * scale, n)
            else:
                values = rng.uniform(0, 100 * scale, n) + shift * 28.9
            if i in (5, 6):
                values[rng.random(n) < 0.02] = np.nan
            cols[f"num_{i:02d}"] = pa.array(values)
        for j, k in enumerate(sizes):
            p = np.linspace(1, 2, k)
            if shifted and j == 0:
                p = p[::-1]   # category mix change
            if shifted and j == 1:
                p = p.copy()
                p[0] *= 1.15  # small change, below
            codes = rng.choice(k, n, p=p / p.sum()).astype(np.int32)
            mask = rng.random(n) < 0.01 if j == 2 else None
            labels = pa.array([f"cat{j}_{v}" for v in range(k)])
            cols[f"cat_{j}"] = pa.DictionaryArray.from_arrays(pa.array(codes, mask=mask), labels)
        table = pa.table(cols)
        if writer is None:  # random floats do not compress: only the categories are encoded
            writer = pq.ParquetWriter(partial, table.schema, compression="none",
                                      use_dictionary=[f"cat_{j}" for j in range(categorical)])
        writer.write_table(table, row_group_size=ROW_GROUP)
    assert writer is not None
    writer.close()
    partial.rename(path)


def compared_bytes(path: Path) -> int:
    """The compared columns' size in memory as Arrow arrays (first row group, scaled to all rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    first = pf.read_row_group(0)
    strings = [f.name for f in first.schema if str(f.type).startswith(("string", "dictionary"))]
    plain = first.select(strings).cast(pa.schema([(n, pa.string()) for n in strings])) if strings else None
    per_row = (sum(first.column(n).nbytes for n in first.column_names if n not in strings)
               + (plain.nbytes if plain is not None else 0)) / first.num_rows
    return int(per_row * pf.metadata.num_rows)


# -- contenders ----------------------------------------------------------------------------------


TIME = shutil.which("time") or "/usr/bin/time"


def child_env() -> dict[str, str]:
    """This environment with bytecode caching on and this checkout first on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(HERE.parent) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_process(argv: list[str], cwd: Path | None = None, ok: tuple[int, ...] = (0,)) -> tuple[float, float, float, str]:
    """(seconds, CPU seconds, peak RSS in MiB, stdout) of one process, timed from spawn to exit.

    The CPU time (user + system, all threads) is the steadier number on a shared machine.
    Peak RSS comes from GNU time run as a small intermediate process: a child forked from
    this benchmark would inherit its resident size at the fork (Linux keeps the high-water
    mark across exec), and this process holds a row group of each table."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        proc = subprocess.Popen([TIME, "-f", "%M", "-o", rss_file.name, *argv], stdout=out, stderr=err, cwd=cwd,
                                env=child_env())
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode not in ok:
            raise RuntimeError(f"{argv[:3]} exited {proc.returncode}: {err.read().decode()[-2000:]}")
        peak_kib = int(rss_file.read().strip().splitlines()[-1])
        return seconds, usage.ru_utime + usage.ru_stime, peak_kib / 1024, out.read().decode()


def median_of(runs: list[dict]) -> dict:
    """The median wall time, CPU time and peak RSS of repeated runs (verdicts of the first),
    with the fastest wall time and every run's times."""
    def median(key: str) -> float:
        values = sorted(r[key] for r in runs)
        mid = len(values) // 2
        return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2

    return {**runs[0], "seconds": median("seconds"), "cpu": median("cpu"), "peak_rss_mb": median("peak_rss_mb"),
            "fastest": min(r["seconds"] for r in runs), "runs": [(r["seconds"], r["cpu"]) for r in runs]}


def ours(ref: Path, cur: Path, engine: str, columns: list[str] | None = None) -> dict:
    out = Path(tempfile.mkdtemp()) / "drift.json"
    argv = [sys.executable, "-m", "ci_mlops", "drift", "--reference", str(ref), "--current", str(cur),
            "--format", "json", "-o", str(out), "--no-progress", "--engine", engine]
    if columns:
        argv += ["--columns", ",".join(columns)]
    seconds, cpu, rss, _ = run_process(argv, ok=(0, 1))
    result = json.loads(out.read_text())
    shutil.rmtree(out.parent)
    verdicts = {c["name"]: [c["test"], c["statistic"], c["drifted"]] for c in result["columns"]}
    return {"seconds": seconds, "cpu": cpu, "peak_rss_mb": rss, "verdicts": verdicts}


PLAIN = r'''
import json, sys, time
import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance
ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
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
print(json.dumps(verdicts))
'''

EVIDENTLY = r'''
import json, sys
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
import evidently
ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
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
print(json.dumps({"version": evidently.__version__, "verdicts": verdicts}))
'''


def script(name: str, text: str) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / name
    path.write_text(text)
    return path


def plain(ref: Path, cur: Path) -> dict:
    seconds, cpu, rss, out = run_process([sys.executable, str(script("plain_worker.py", PLAIN)), str(ref), str(cur)])
    return {"seconds": seconds, "cpu": cpu, "peak_rss_mb": rss, "verdicts": json.loads(out.strip().splitlines()[-1])}


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


def evidently(python: Path, ref: Path, cur: Path) -> dict:
    seconds, cpu, rss, out = run_process([str(python), str(script("evidently_worker.py", EVIDENTLY)), str(ref), str(cur)])
    found = json.loads(out.strip().splitlines()[-1])
    return {"seconds": seconds, "cpu": cpu, "peak_rss_mb": rss, "verdicts": found["verdicts"], "version": found["version"]}


# -- report --------------------------------------------------------------------------------------


def agreement(mine: dict, other: dict) -> str:
    common = [n for n in mine if n in other]
    differ = [n for n in common if mine[n][2] != other[n][2]]
    worst = max((abs(mine[n][1] - other[n][1]) for n in common), default=0.0)
    text = f"verdicts agree on {len(common) - len(differ)}/{len(common)}, largest statistic difference {worst:.1e}"
    return text + (f"; differ: {', '.join(differ)}" if differ else "")


def _time(run: dict) -> str:
    text = f"{run['seconds']:8.2f} s wall ({run['cpu']:7.2f} s CPU)"
    if len(run.get("runs", ())) > 1:
        text += (f" [median of {len(run['runs'])}, fastest {run['fastest']:.2f} s; runs: "
                 + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in run["runs"]) + "]")
    return text


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def _ratio(a: dict, b: dict, inverse: bool = False) -> str:
    """a/b by wall time and by CPU time, as "N.Nx" (a share with three decimals when ``inverse``)."""
    wall, cpu = a["seconds"] / b["seconds"], a["cpu"] / b["cpu"]
    digits = 3 if inverse else 1
    return f"{wall:.{digits}f}x (CPU {cpu:.{digits}f}x)"


def bench(size: str, args: argparse.Namespace, python_ev: Path | None) -> list[str]:
    rows, numeric, categorical = SIZES[size]
    big = rows > 10_000_000
    folder = (Path(args.big_data) if big else DATA) / f"{rows}x{numeric + categorical}"
    started = time.perf_counter()
    if big and args.current_copies:
        ref = folder / "reference.parquet"
        if not ref.exists():
            folder.mkdir(parents=True, exist_ok=True)
            write_table(ref, rows, numeric, categorical, False)
        one, _ = (DATA / f"{ROW_GROUP}x{numeric + categorical}" / "current.parquet"), None
        if not one.exists():
            make_pair(ROW_GROUP, numeric, categorical, one.parent)
        copies = folder / "current"
        copies.mkdir(exist_ok=True)
        for i in range(rows // ROW_GROUP):
            link = copies / f"part-{i:03d}.parquet"
            if not link.exists():
                link.symlink_to(one.resolve())
        cur = copies / "*.parquet"
    else:
        ref, cur = make_pair(rows, numeric, categorical, folder)
    made = time.perf_counter() - started
    cur_files = sorted(cur.parent.glob(cur.name))
    data_mb = (compared_bytes(ref) + compared_bytes(cur_files[0]) * len(cur_files)) / 2**20
    disk_mb = sum(p.stat().st_size for p in [ref, *sorted(cur.parent.glob(cur.name))]) / 2**20
    lines = [(f"\n== {rows:,} rows x {numeric + categorical} columns ({numeric} numeric, {categorical} categorical); "
             f"compared columns {data_mb:,.0f} MiB in memory, {disk_mb:,.0f} MiB of Parquet on disk "
             f"(generated in {made:.0f} s)")]
    print(lines[-1], flush=True)

    def say(text: str) -> None:
        lines.append(text)
        print(text, flush=True)

    if not big:
        ours(ref, cur, "python")  # untimed: writes the .pyc files and reads the files into the page cache
    before = _load()
    mine = median_of([ours(ref, cur, "python") for _ in range(1 if big else args.repeat)])
    say(f"ci-mlops (in-process): {_time(mine)}, peak RSS {mine['peak_rss_mb']:7.0f} MiB "
        f"= {mine['peak_rss_mb'] / data_mb:.2f}x the compared columns ({before}, {_load()} after)")
    columns = None
    if big and args.duckdb_columns:
        columns = [f"num_{i:02d}" for i in range(min(args.duckdb_columns, numeric))] + \
                  [f"cat_{j}" for j in range(min(args.duckdb_columns, categorical))]
    if args.duckdb_columns != 0 or not big:
        duck = ours(ref, cur, "duckdb", columns)
        part = f" ({len(columns)} of {numeric + categorical} columns: {', '.join(columns)})" if columns else ""
        say(f"ci-mlops (DuckDB):     {_time(duck)}, peak RSS {duck['peak_rss_mb']:7.0f} MiB{part}; "
            f"vs in-process: {agreement(duck['verdicts'], mine['verdicts'])}")
    if big:
        say("plain SciPy pass:      not run (it holds both tables in memory: more than this machine has)")
    else:
        base = median_of([plain(ref, cur) for _ in range(args.repeat)])
        say(f"plain SciPy pass:      {_time(base)}, peak RSS {base['peak_rss_mb']:7.0f} MiB; ci-mlops takes "
            f"{_ratio(mine, base, inverse=True)} of its time; {agreement(mine['verdicts'], base['verdicts'])}")
    if python_ev is not None and rows <= 1_000_000:
        before = _load()
        ev = evidently(python_ev, ref, cur)
        say(f"Evidently {ev['version']}:      {_time(ev)}, peak RSS {ev['peak_rss_mb']:7.0f} MiB ({before}, "
            f"{_load()} after); ci-mlops is {_ratio(ev, mine)} faster (by its fastest run "
            f"{ev['seconds'] / mine.get('fastest', mine['seconds']):.1f}x); {agreement(mine['verdicts'], ev['verdicts'])}")
    say("per column (ci-mlops): " + ", ".join(f"{n} {v[0]} {v[1]:.4f}{'*' if v[2] else ''}"
                                            for n, v in mine["verdicts"].items()))
    if big and not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1m,100m", help="comma-separated: 100k, 1m, 100m")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the in-process engine and the plain pass below 100M (the median is shown)")
    parser.add_argument("--duckdb-columns", type=int, default=2,
                        help="at 100M, DuckDB compares this many numeric and categorical columns (0: none)")
    parser.add_argument("--big-data", default=str(Path(tempfile.gettempdir()) / "ci-mlops-drift"),
                        help="folder for the 100M pair")
    parser.add_argument("--keep", action="store_true", help="keep the 100M pair")
    parser.add_argument("--current-copies", action="store_true",
                        help="at 100M, the current side is a glob of 100 links to the 1M current table "
                             "(the same distribution; saves generating a second 100M table)")
    args = parser.parse_args()
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}")
    python_ev = None if args.skip_evidently else ensure_evidently()
    if python_ev is None:
        print("Evidently: skipped")
    for size in sizes:
        bench(size, args, python_ev)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
