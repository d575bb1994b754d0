"""drift and check at the input boundary: high-cardinality text within a memory cap, out-of-memory told
honestly, list/struct Parquet columns and nested JSON lines as data, not crashes."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pc = pytest.importorskip("pyarrow.compute")

ROOT = Path(__file__).resolve().parents[2]


def capped(args: list[str], cwd: Path, cap_mib: int) -> subprocess.CompletedProcess:
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap_mib << 20, cap_mib << 20))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run([sys.executable, "-m", "ci_mlops", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600, preexec_fn=cap)


def test_high_cardinality_text_is_recognised_within_a_memory_cap(tmp_path: Path):
    rows = 200_000
    # f"id-{i}-{j:09d}-padding-padding" for j < rows, built by Arrow (1.2 M Python strings cost a second)
    numbers = pc.utf8_lpad(pc.cast(pa.array(range(rows), pa.int64()), pa.string()), width=9, padding="0")
    table = pa.table({**{f"t{i}": pc.binary_join_element_wise(f"id-{i}-", numbers, "-padding-padding", "")
                         for i in range(6)},
                      "label": [j % 3 for j in range(rows)]})
    pq.write_table(table, tmp_path / "ref.parquet")
    pq.write_table(table, tmp_path / "cur.parquet")
    out = capped(["drift", "--reference", "ref.parquet", "--current", "cur.parquet", "--no-progress",
                  "--format", "json"], tmp_path, 3072)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    skipped = {c["name"]: c["type"] for c in result["skipped"]}
    assert all(skipped.get(f"t{i}") == "text" for i in range(6)), skipped
    assert [c["type"] for c in result["columns"] if c["name"] == "label"] == ["categorical"]


@pytest.mark.parametrize("error", [
    lambda: MemoryError(),
    lambda: pa.ArrowMemoryError("malloc of size 33554432 failed"),
    lambda: RuntimeError("can't start new thread"),
    lambda: OSError("Failed to launch worker thread: Resource temporarily unavailable"),
])
def test_out_of_memory_is_told_honestly(monkeypatch, tmp_path: Path, capsys, error):
    from ci_mlops import app as cli
    from ci_mlops.commands import drift as drift_command

    def boom(*args, **kwargs):
        raise error()

    monkeypatch.setattr(drift_command, "compare_files", boom)  # where the command looks it up
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text("x\n1\n")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["drift", "--reference", "a.csv", "--current", "a.csv"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1, err
    assert "out of memory" in err and "internal error" not in err and "cannot read" not in err


def test_a_reader_running_out_of_memory_is_not_cannot_read(tmp_path: Path):
    from ci_mlops.datafiles import reader_reason

    for exc in (pa.ArrowMemoryError("realloc of size 16384 failed"),
                OSError("Unknown error: Failed to launch worker thread: Resource temporarily unavailable")):
        with pytest.raises(MemoryError):
            reader_reason(exc)
    assert reader_reason(ValueError("Parquet magic bytes not found")) == "Parquet magic bytes not found"


# -- nested values -------------------------------------------------------------------------------------


@pytest.fixture
def nested(tmp_path: Path) -> Path:
    table = pa.table({"x": [1, 2, 3, 4] * 25, "l": [[1, 2], [3], [], None] * 25,
                      "s": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}] * 50})
    pq.write_table(table, tmp_path / "ref.parquet")
    pq.write_table(table, tmp_path / "cur.parquet")
    with open(tmp_path / "ref.jsonl", "w") as fh:
        for i in range(100):
            fh.write(json.dumps({"x": i % 10, "n": {"a": i % 5, "b": [1, 2]}, "l": [i % 3, {"z": 1}]}) + "\n")
    (tmp_path / "cur.jsonl").write_text((tmp_path / "ref.jsonl").read_text())
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    return tmp_path


CHECKS = ["duplicates: {max: 0}", "leakage: {with: OTHER}", "columns: {C: {unique: true}}",
          "columns: {C: {allowed: [1]}}", "columns: {C: {regex: 'a'}}", "columns: {C: {dtype: string}}",
          "columns: {C: {min: 0}}", "columns: {C: {nullable: false}}"]


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("file,column", [("ref.parquet", "l"), ("ref.parquet", "s"), ("ref.jsonl", "n"),
                                         ("ref.jsonl", "l")])
def test_data_checks_on_nested_columns_give_verdicts(nested: Path, check, file, column):
    other = file.replace("ref", "cur")
    rule = check.replace("OTHER", other).replace("C:", f"{column}:")
    (nested / ".ci-mlops.yml").write_text(f"data:\n  {file}:\n    {rule}\n")
    out = run_cli("check", cwd=nested)
    assert out.returncode in (0, 1), (out.returncode, out.stderr)
    assert "internal error" not in out.stderr
    if "dtype: string" in rule or "allowed" in rule or "min" in rule:
        assert out.returncode == 1, out.stdout  # a list is not a string, not 1, not a number


def test_nested_duplicates_compare_by_content(nested: Path):
    (nested / ".ci-mlops.yml").write_text("data:\n  ref.jsonl:\n    duplicates: {max: 0}\n")
    out = run_cli("check", "--format", "json", cwd=nested)
    data = json.loads(out.stdout)["data"]
    dup = next(d for d in data if d["check"] == "duplicates")
    assert dup["value"] == 100 - 30  # (x, n, l) repeats every 30 rows (lcm of 10, 5, 3)


@pytest.mark.parametrize("ref,cur", [("ref.parquet", "cur.parquet"), ("ref.jsonl", "cur.jsonl")])
def test_drift_on_nested_columns(nested: Path, ref: str, cur: str):
    out = run_cli("drift", "--reference", ref, "--current", cur, "--no-progress", "--format", "json", cwd=nested)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert [c["type"] for c in result["columns"] if c["name"] == "x"] in (["categorical"], ["numeric"])
    assert {c["name"] for c in result["skipped"]} >= ({"l", "s"} if ref.endswith("parquet") else {"n", "l"})
