"""The streaming engine gives the same document as the pandas engine, chunk size and format aside."""

from __future__ import annotations

import io
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ci_mlops.drift import detect_drift, sources, stats, stream
from ci_mlops.drift.progress import Progress
from ci_mlops.drift.stream import detect_drift_files
from ci_mlops.errors import UserError


def mixed(rows: int, seed: int, shifted: bool) -> pd.DataFrame:
    """Every kind of column the engine tells apart, some shifted, with missing values and infinities."""
    rng = np.random.default_rng(seed)
    shift = 1.0 if shifted else 0.0
    num = rng.normal(10 + shift, 2, rows)
    num[rng.random(rows) < 0.03] = np.nan
    num[rng.random(rows) < 0.005] = np.inf
    frame = pd.DataFrame({
        "num": num,
        "skewed": rng.lognormal(0.2 * shift, 0.7, rows),
        "rounded": np.round(rng.normal(0, 1 + shift, rows), 1),  # ties, more than 20 distinct
        "few_float": rng.choice([0.5, 1.5, 2.5], rows, p=[0.2, 0.3, 0.5] if shifted else [0.5, 0.3, 0.2]),
        "small_int": rng.integers(0, 4 + int(shifted), rows),  # categorical (<= 10 values), new value when shifted
        "wide_int": rng.integers(0, 500, rows),
        "int_with_gaps": pd.array(rng.integers(0, 3, rows), dtype="Int64"),
        "flag": rng.random(rows) < (0.7 if shifted else 0.5),
        "plan": rng.choice(["basic", "pro", "team"] + (["new"] if shifted else []), rows),
        "city": pd.Series(rng.choice(["a", "b", None], rows), dtype=object),
        "user": [f"u{seed}-{i}" for i in range(rows)],
        "when": pd.date_range("2024-01-01", periods=rows, freq="min"),
    })
    frame.loc[::7, "int_with_gaps"] = pd.NA
    return frame


def assert_same(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Equal documents; floats equal to 1e-9 (sums in another order)."""
    assert ours.keys() == theirs.keys()
    for key in ours:
        _same(ours[key], theirs[key], key)


def _same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (where, a, b)
    else:
        assert a == b, (where, a, b)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return {"large_ref": mixed(6000, 1, False), "large_cur": mixed(5000, 2, True),
            "small_ref": mixed(800, 3, False), "small_cur": mixed(900, 4, True)}


def _write(frame: pd.DataFrame, path: Path) -> str:
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False, row_group_size=1000)
    else:
        frame.to_csv(path, index=False, sep="\t" if path.suffix == ".tsv" else ",")
    return str(path)


@pytest.mark.parametrize("size", ["large", "small"])
@pytest.mark.parametrize("fmt", [".parquet", ".csv", ".tsv"])
def test_streaming_equals_pandas_engine(frames: dict[str, pd.DataFrame], tmp_path: Path, size: str, fmt: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ref, cur = frames[f"{size}_ref"], frames[f"{size}_cur"]
    ref_path, cur_path = _write(ref, tmp_path / f"ref{fmt}"), _write(cur, tmp_path / f"cur{fmt}")
    # Small chunks and blocks, so every state is merged across many of them.
    monkeypatch.setattr(sources, "BATCH_ROWS", 700)
    monkeypatch.setattr(sources, "CSV_BLOCK_BYTES", 4096)
    monkeypatch.setattr(stats, "BLOCK", 256)
    monkeypatch.setattr(stats.wasserstein_sorted, "__defaults__", (256,))
    monkeypatch.setattr(stats.std_sorted, "__defaults__", (256,))
    monkeypatch.setattr(stats.count_distinct_sorted, "__defaults__", (256,))
    ours = detect_drift_files(ref_path, cur_path, columns=[], psi=True, progress=False)
    # What pandas reads from the same files is the reference implementation's input.
    read = pd.read_parquet if fmt == ".parquet" else (lambda p: pd.read_csv(p, sep="\t" if fmt == ".tsv" else ","))
    theirs = detect_drift(read(ref_path), read(cur_path), psi=True)
    assert [(s["name"], s["type"]) for s in ours["skipped"]] == [("user", "text"), ("when", "datetime")]
    if fmt != ".parquet":  # pandas reads CSV dates as strings (text); PyArrow knows them as dates
        theirs["skipped"] = ours["skipped"]
    assert_same(ours, theirs)
    kinds = {c["name"]: (c["type"], c["test"]) for c in ours["columns"]}
    large = size == "large"
    assert kinds["num"] == ("numeric", "wasserstein" if large else "ks")
    # Parquet keeps a nullable integer column's type; CSV has floats once a cell is empty (pandas' reading)
    assert kinds["small_int"][0] == "categorical"
    assert kinds["int_with_gaps"][0] == ("categorical" if fmt == ".parquet" else "numeric")
    assert kinds["plan"] == ("categorical", "jensenshannon" if large else "chisquare")
    drifted = {c["name"] for c in ours["columns"] if c["drifted"]}
    assert {"num", "rounded", "plan", "flag", "few_float", "small_int"} <= drifted
    assert "wide_int" not in drifted and "city" not in drifted


def test_workers_and_memory_budget_do_not_change_results(frames: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    ref = _write(frames["large_ref"], tmp_path / "r.parquet")
    cur = _write(frames["large_cur"], tmp_path / "c.parquet")
    two = detect_drift_files(ref, cur, columns=[], progress=False, workers=2)
    one_at_a_time = detect_drift_files(ref, cur, columns=[], progress=False, memory_budget=1)
    three = detect_drift_files(ref, cur, columns=[], progress=False, workers=3)
    assert two == one_at_a_time == three  # exactly: every column's sums run in the same order on any thread


def test_parquet_glob_is_one_table(frames: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    ref, cur = frames["large_ref"], frames["large_cur"]
    (tmp_path / "ref").mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(ref)), 3)):
        ref.iloc[part].to_parquet(tmp_path / "ref" / f"part-{i}.parquet", index=False)
    cur_path = _write(cur, tmp_path / "cur.parquet")
    whole = detect_drift_files(_write(ref, tmp_path / "ref.parquet"), cur_path, columns=[], progress=False)
    parts = detect_drift_files(str(tmp_path / "ref" / "*.parquet"), cur_path, columns=[], progress=False)
    assert_same(parts, whole)
    with pytest.raises(UserError, match="no file matches"):
        detect_drift_files(str(tmp_path / "nothing" / "*.parquet"), cur_path, columns=[], progress=False)


def test_csv_column_that_turns_decimal_late_is_widened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "CSV_BLOCK_BYTES", 256)
    rows = [str(i % 50) for i in range(3000)] + ["2.5", "oops"]
    (tmp_path / "ref.csv").write_text("x,y\n" + "".join(f"{v},{i}\n" for i, v in enumerate(rows)))
    (tmp_path / "cur.csv").write_text("x,y\n" + "".join(f"{i % 50},{i}\n" for i in range(3000)))
    ours = detect_drift_files(str(tmp_path / "ref.csv"), str(tmp_path / "cur.csv"), columns=["y"], progress=False)
    assert [c["name"] for c in ours["columns"]] == ["y"]
    # x ends as strings (an int, then a decimal, then a word): categorical, like pandas reads it
    ours = detect_drift_files(str(tmp_path / "ref.csv"), str(tmp_path / "ref.csv"), columns=["x"], progress=False)
    assert ours["columns"][0]["type"] == "categorical" and ours["columns"][0]["reference_distinct"] == 52


def test_text_column_stops_counting_early(tmp_path: Path) -> None:
    ids = pd.DataFrame({"id": [f"id{i}" for i in range(5000)], "x": np.arange(5000.0)})
    path = _write(ids, tmp_path / "ids.parquet")
    result = detect_drift_files(path, path, columns=[], progress=False)
    assert result["skipped"][0]["name"] == "id" and result["skipped"][0]["type"] == "text"


@pytest.mark.parametrize(("setup", "message"), [
    (lambda p: p.joinpath("e.csv").write_text(""), "e.csv: the file is empty"),
    (lambda p: p.joinpath("e.parquet").write_bytes(b"nope"), "e.parquet: cannot read as parquet"),
])
def test_unreadable_files_are_one_line(tmp_path: Path, setup: Any, message: str) -> None:
    setup(tmp_path)
    name = next(tmp_path.iterdir())
    with pytest.raises(UserError, match=message):
        detect_drift_files(str(name), str(name), columns=[], progress=False)


def test_s3_paths_need_the_duckdb_engine() -> None:
    with pytest.raises(UserError, match="needs the DuckDB engine"):
        detect_drift_files("s3://bucket/ref.parquet", "s3://bucket/cur.parquet", columns=[], progress=False)


def test_progress_bar_on_a_terminal_and_lines_in_ci() -> None:
    now = [0.0]

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream_, expected in ((Tty(), "\rci-mlops drift ["), (io.StringIO(), "ci-mlops: drift: ")):
        now[0] = 0.0
        meter = Progress(100, 4, stream=stream_, clock=lambda: now[0])
        meter.advance(10)
        assert stream_.getvalue() == ""  # quiet during the first seconds
        now[0] = 30.0
        meter.advance(40, column_done=True)
        now[0] = 31.0
        meter.advance(10)  # too soon after the last line in CI; a terminal bar redraws
        meter.finish()
        text = stream_.getvalue()
        assert text.startswith(expected) and "1/4 columns" in text and "100%" in text
        if expected.startswith("ci-mlops:"):
            assert text.splitlines() == ["ci-mlops: drift: 50% (1/4 columns, 50 of 100 values) after 30.0s",
                                         "ci-mlops: drift: 100% (4/4 columns, 100 of 100 values) after 31.0s"]
    silent = io.StringIO()
    meter = Progress(10, 1, stream=silent, enabled=False, clock=lambda: 100.0)
    meter.advance(10)
    meter.finish()
    assert silent.getvalue() == ""


def test_one_sided_columns_and_columns_option(frames: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    ref = _write(frames["small_ref"].assign(gone=1.0), tmp_path / "r.parquet")
    cur = _write(frames["small_cur"].assign(fresh=2.0, label=1), tmp_path / "c.parquet")
    result = detect_drift_files(ref, cur, columns=[], progress=False, ignore_in_current=("label",))
    assert result["only_in_reference"] == ["gone"] and result["only_in_current"] == ["fresh"]
    picked = detect_drift_files(ref, cur, columns=["num", "plan"], progress=False)
    assert [c["name"] for c in picked["columns"]] == ["num", "plan"]
    with pytest.raises(UserError, match="no column 'zzz'"):
        detect_drift_files(ref, cur, columns=["zzz"], progress=False)


def test_memory_is_one_numeric_column_per_side(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The largest array the engine allocates is one side of one column, whatever the column count.
    sizes: list[int] = []
    real_empty = np.empty

    def counting_empty(shape: Any, *args: Any, **kwargs: Any) -> np.ndarray:
        sizes.append(int(np.prod(shape)))
        return real_empty(shape, *args, **kwargs)

    frame = pd.DataFrame({f"c{i}": np.random.default_rng(i).normal(size=3000) for i in range(8)})
    path = _write(frame, tmp_path / "wide.parquet")
    monkeypatch.setattr(stream.np, "empty", counting_empty)
    detect_drift_files(path, path, columns=[], progress=False, workers=1)
    assert max(sizes) == 3000 and len(sizes) == 2  # one array per side, reused column after column


def test_streaming_run_imports_no_pandas(frames: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    # pandas is half a second and tens of MB: Arrow buffers are read as NumPy views instead.
    ref = _write(frames["small_ref"], tmp_path / "r.parquet")
    cur = _write(frames["small_cur"], tmp_path / "c.parquet")
    code = ("import sys; from ci_mlops.drift.stream import detect_drift_files\n"
            f"r = detect_drift_files({ref!r}, {cur!r}, columns=[], progress=False)\n"
            "print(len(r['columns']), 'pandas' in sys.modules, 'pyarrow.dataset' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["10", "False", "False"]


def test_buffer_values_with_offsets_and_nulls() -> None:
    import pyarrow as pa

    array = pa.array([1.5, None, 3.0, 4.0, None, 6.0]).slice(1, 4)
    values, valid = stream.buffer_values(array)
    assert valid.tolist() == [False, True, True, False]
    assert values[valid].tolist() == [3.0, 4.0]
    ints, none = stream.buffer_values(pa.array([7, 8, 9], type=pa.uint16()).slice(1))
    assert ints.tolist() == [8, 9] and none is None


def test_parquet_chunks_do_not_hold_the_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Reading a column batch by batch holds about one batch: PyArrow's default pre-buffering
    # would load every chunk of the column up front (800 MB per side at 100M rows).
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, group = 2_000_000, 200_000
    pq.write_table(pa.table({"x": np.random.default_rng(0).normal(size=rows), "y": np.zeros(rows)}),
                   tmp_path / "t.parquet", row_group_size=group, compression="none")
    monkeypatch.setattr(sources, "BATCH_ROWS", group)
    source = sources.open_source(str(tmp_path / "t.parquet"), "reference")
    before = pa.total_allocated_bytes()
    held = []
    for chunk in source.chunks("x"):
        held.append(pa.total_allocated_bytes() - before)
        del chunk
    assert len(held) == rows // group
    assert max(held) < 8 * rows / 2  # a few MB for a batch (1.6 MB) and its reads, not the 16 MB column


@pytest.mark.parametrize("dtype", ["float64", "float32", "Int64", "Int32", "UInt32"])
def test_sorted_values_drop_nulls_nan_and_infinities_across_chunks(tmp_path: Path, dtype: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # float32 and 32-bit integers are sorted in their own type and widened: the same array
    rng = np.random.default_rng(5)
    values = pd.Series(rng.normal(0, 100, 5000).round(), dtype="float64")
    if dtype.startswith(("Int", "UInt")):
        values = values.abs().astype(dtype)
        values[rng.random(5000) < 0.1] = pd.NA
    else:
        values[rng.random(5000) < 0.05] = np.nan
        values[rng.random(5000) < 0.01] = np.inf
        values[rng.random(5000) < 0.01] = -np.inf
        values = values.astype(dtype)
    path = tmp_path / "t.parquet"
    if dtype.startswith("float"):  # NaN stored as NaN values (pandas would store nulls), and some nulls
        import pyarrow as pa
        import pyarrow.parquet as pq

        mask = rng.random(5000) < 0.03
        column = pa.array(values.to_numpy(), mask=mask, from_pandas=False)
        values[mask] = np.nan
        pq.write_table(pa.table({"x": column}), path, row_group_size=700)
        assert pq.read_table(path).column("x").null_count == mask.sum()
    else:
        pd.DataFrame({"x": values}).to_parquet(path, index=False, row_group_size=700)
    monkeypatch.setattr(sources, "BATCH_ROWS", 300)  # chunks end inside row groups too
    source = sources.open_source(str(path), "reference")
    buffer = np.full(source.rows, 12345.0)
    got = stream._sorted_values(source, "x", Progress(1, 1, enabled=False), buffer)
    plain = values.to_numpy(dtype="float64", na_value=np.nan)
    expected = np.sort(plain[np.isfinite(plain)])
    assert got.dtype == np.float64 and got.size == expected.size < 5000
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint32])
@pytest.mark.parametrize("count", [0, 1, 2, 3, 17, 1001])
@pytest.mark.parametrize("block", [1, 3, 1 << 16])
def test_widen_in_place_equals_astype(dtype: Any, count: int, block: int) -> None:
    rng = np.random.default_rng(count)
    narrow = rng.integers(0, 2**31 - 1, count).astype(dtype) * (1 if dtype != np.float32 else -1.5)
    narrow = narrow.astype(dtype)
    values = np.full(count + 2, 7.5)
    values.view(dtype)[:count] = narrow
    stream.widen(values, count, np.dtype(dtype), block)
    assert np.array_equal(values[:count], narrow.astype(np.float64))
    assert values[count:].tolist() == [7.5, 7.5]


def test_glob_of_float32_and_float64_files_sorts_all_values(tmp_path: Path) -> None:
    # One file stores the column as float32, the next as float64: what was copied narrow is widened first.
    rng = np.random.default_rng(8)
    parts = [rng.normal(size=400).astype(np.float32), rng.normal(size=300), rng.normal(size=200).astype(np.float32)]
    (tmp_path / "ref").mkdir()
    for i, part in enumerate(parts):
        pd.DataFrame({"x": part}).to_parquet(tmp_path / "ref" / f"part-{i}.parquet", index=False)
    source = sources.open_source(str(tmp_path / "ref" / "*.parquet"), "reference")
    got = stream._sorted_values(source, "x", Progress(1, 1, enabled=False), np.empty(source.rows))
    assert np.array_equal(got, np.sort(np.concatenate([p.astype(np.float64) for p in parts])))
