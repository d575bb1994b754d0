"""drift.engine: duckdb gives the in-process engine's document, on disk and on a loopback S3 server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ci_mlops.cli import main
from ci_mlops.drift import sql
from ci_mlops.drift.stream import detect_drift_files
from ci_mlops.errors import UserError
from tests.unit.drift.test_stream import assert_same, mixed

duckdb = pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("duck")
    out = {}
    for size, rows in (("large", (6000, 5000)), ("small", (800, 12_000))):
        for side, n, seed in (("ref", rows[0], 1), ("cur", rows[1], 2)):
            frame = mixed(n, seed if size == "large" else seed + 10, side == "cur")
            frame.to_parquet(folder / f"{size}_{side}.parquet", index=False, row_group_size=1500)
            frame.to_csv(folder / f"{size}_{side}.csv", index=False)
            out[f"{size}_{side}"] = str(folder / f"{size}_{side}.parquet")
            out[f"{size}_{side}_csv"] = str(folder / f"{size}_{side}.csv")
    return out


@pytest.mark.parametrize("size", ["large", "small"])
@pytest.mark.parametrize("fmt", ["", "_csv"])
def test_duckdb_equals_in_process(files: dict[str, str], size: str, fmt: str) -> None:
    ref, cur = files[f"{size}_ref{fmt}"], files[f"{size}_cur{fmt}"]
    ours = sql.detect_drift_duckdb(ref, cur, columns=[], psi=True, progress=False)
    theirs = detect_drift_files(ref, cur, columns=[], psi=True, progress=False)
    if fmt:  # DuckDB and PyArrow sniff CSV dates alike, but name the type differently
        assert [s["name"] for s in ours["skipped"]] == [s["name"] for s in theirs["skipped"]]
        theirs["skipped"] = ours["skipped"]
    assert_same(ours, theirs)
    tests = {c["name"]: c["test"] for c in ours["columns"]}
    # The small reference is tested with K-S against a current side over 10,000 rows (the asymptotic p-value).
    assert tests["num"] == ("wasserstein" if size == "large" else "ks")


def test_overrides_and_few_values(files: dict[str, str]) -> None:
    overrides = {"num": {"test": "psi"}, "rounded": {"test": "jensenshannon"}, "few_float": {"test": "chisquare"},
                 "skewed": {"test": "ks"}, "wide_int": {"test": "ztest"}}
    ref, cur = files["large_ref"], files["large_cur"]
    ours = sql.detect_drift_duckdb(ref, cur, columns=list(overrides), tests=overrides, progress=False)
    theirs = detect_drift_files(ref, cur, columns=list(overrides), tests=overrides, progress=False)
    assert_same(ours, theirs)


def test_nan_without_infinities_in_parquet_is_missing(tmp_path: Path) -> None:
    # Parquet statistics leave NaN out: a comparison with infinity would be answered from them.
    rng = np.random.default_rng(3)
    values = rng.normal(size=3000)
    values[::10] = np.nan
    pd.DataFrame({"x": values}).to_parquet(tmp_path / "r.parquet", index=False)
    pd.DataFrame({"x": values[::-1] + 0.5}).to_parquet(tmp_path / "c.parquet", index=False)
    ours = sql.detect_drift_duckdb(str(tmp_path / "r.parquet"), str(tmp_path / "c.parquet"), columns=[],
                                   progress=False)
    theirs = detect_drift_files(str(tmp_path / "r.parquet"), str(tmp_path / "c.parquet"), columns=[],
                                progress=False)
    assert ours["columns"][0]["reference_missing"] == 300
    assert_same(ours, theirs)


def test_sql_keeps_to_the_portable_subset() -> None:
    text = " ".join([sql.pooled_sql("t1", "t2", 'we"ird', 10, 20), sql.values_sql("t1", "t2", "x"),
                     sql.below_sql("t", "x", [0.1, 2.5]), sql.order_sql("t", "x", [0.015]),
                     sql.side_summary_sql("t", ["x"], ["s"], with_std=True), sql.categories_sql("t", "s")])
    assert '"we""ird"' in text and "read_parquet" not in text
    for dialect_specific in ("QUANTILE", "::", "ISFINITE", "LIST", "QUALIFY", "COUNT_IF", "FILTER ("):
        assert dialect_specific not in text.upper()


def test_missing_file_and_bad_column_are_one_line(files: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        sql.detect_drift_duckdb(str(tmp_path / "nope.parquet"), files["large_cur"], columns=[], progress=False)
    with pytest.raises(UserError, match="no column 'zzz'"):
        sql.detect_drift_duckdb(files["large_ref"], files["large_cur"], columns=["zzz"], progress=False)
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(UserError, match="bad.parquet: DuckDB cannot read the data"):
        sql.detect_drift_duckdb(str(tmp_path / "bad.parquet"), files["large_cur"], columns=[], progress=False)



def test_a_row_format_is_read_once_and_parquet_where_it_is(files: dict[str, str], tmp_path: Path) -> None:
    """A CSV side is parsed once into a table (DuckDB would parse it again on every scan): the file can
    go once the sides are open; a Parquet side stays a scan of the file."""
    csv = tmp_path / "ref.csv"
    csv.write_bytes(Path(files["small_ref_csv"]).read_bytes())
    db = sql.Database(str(csv), files["small_cur"])
    try:
        csv.unlink()
        assert db.rows(f"SELECT COUNT(*) FROM {db.ref}") == [(800,)]
        assert db.cur.startswith("read_parquet(")
        assert db.columns(db.ref) == db.columns(f"read_csv({sql.literal(files['small_ref_csv'])}, header = true)")
    finally:
        db.close()
    assert not Path(db.spill).exists()


def test_an_unreadable_csv_is_one_line_and_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    real = sql.tempfile.mkdtemp
    monkeypatch.setattr(sql.tempfile, "mkdtemp", lambda **kw: made.append(real(**kw)) or made[-1])
    (tmp_path / "bad.csv").write_bytes(b"a,b\n" + b"1,2\n" * 3000 + b"x,y,z,w,v\n")  # a row of five fields
    (tmp_path / "ok.csv").write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match=r"bad\.csv: DuckDB cannot read the data"):
        sql.detect_drift_duckdb(str(tmp_path / "bad.csv"), str(tmp_path / "ok.csv"), columns=[], progress=False)
    assert made and not any(Path(folder).exists() for folder in made)


# -- S3, through DuckDB's httpfs, against a moto server on loopback ----------------------------


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="data")
    try:
        yield "data"
    finally:
        server.stop()


def test_s3_glob_through_httpfs_equals_local(files: dict[str, str], s3: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    import boto3

    client = boto3.client("s3")
    ref = pd.read_parquet(files["large_ref"])
    for i, part in enumerate(np.array_split(np.arange(len(ref)), 3)):
        path = tmp_path / f"part-{i}.parquet"
        ref.iloc[part].to_parquet(path, index=False)
        client.upload_file(str(path), s3, f"ref/day={i}/part.parquet")
    client.upload_file(files["large_cur"], s3, "cur/current.parquet")
    remote = sql.detect_drift_duckdb(f"s3://{s3}/ref/*/*.parquet", f"s3://{s3}/cur/current.parquet",
                                     columns=[], progress=False)
    local = detect_drift_files(files["large_ref"], files["large_cur"], columns=[], progress=False)
    assert_same(remote, local)
    # Through the CLI: drift.engine in the config, s3:// paths kept as URLs.
    config = tmp_path / "c.yml"
    config.write_text(f"drift:\n  engine: duckdb\n  reference: s3://{s3}/ref/*/*.parquet\n"
                      f"  current: s3://{s3}/cur/current.parquet\n  columns: [num, plan]\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["drift", "--config", str(config), "--format", "json"])
    assert exit_info.value.code == 1  # both columns drifted
    assert '"reference": "s3://data/ref/*/*.parquet"' in capsys.readouterr().out


def test_s3_missing_object_is_one_line(s3: str) -> None:
    with pytest.raises(UserError) as err:
        sql.detect_drift_duckdb(f"s3://{s3}/nothing.parquet", f"s3://{s3}/nothing.parquet", columns=[],
                                progress=False)
    assert err.value.message.startswith(f"s3://{s3}/nothing.parquet: DuckDB cannot read the data")
    assert "\n" not in err.value.message
