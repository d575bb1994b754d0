"""ci_mlops.datafiles: the one reader of tabular data files (headers, tables, text cells)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ci_mlops.datafiles import SEPARATORS, Nested, read_header, read_table, read_text_cells
from ci_mlops.errors import UserError


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    frame = pd.DataFrame({"id": ["007", "008", "009"], "city": ["a", "b", "a"], "x": [1.5, 2.0, None]})
    out = {}
    for kind, sep in SEPARATORS.items():
        out[kind] = tmp_path / f"d.{kind}"
        frame.to_csv(out[kind], sep=sep, index=False)
    out["parquet"] = tmp_path / "d.parquet"
    frame.to_parquet(out["parquet"], index=False)
    out["jsonl"] = tmp_path / "d.jsonl"
    frame.to_json(out["jsonl"], orient="records", lines=True)
    return out


@pytest.mark.parametrize("kind", ["csv", "tsv", "parquet"])
def test_header_without_reading_the_data(files, kind):
    assert read_header(files[kind]) == ["id", "city", "x"]


def test_header_is_unknown_for_json_lines_and_unparsable_files(files, tmp_path):
    assert read_header(files["jsonl"]) is None
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    assert read_header(broken) is None
    with pytest.raises(UserError, match=r"broken.parquet: cannot read as parquet: "):
        read_table(broken)
    with pytest.raises(UserError, match=r"missing.csv: no such file \(is it tracked by DVC\?"):
        read_header(tmp_path / "missing.csv")


@pytest.mark.parametrize("kind", ["csv", "tsv", "parquet", "jsonl"])
def test_every_format_reads_the_same_table(files, kind):
    frame = read_table(files[kind], columns=["city", "x"])
    assert list(frame.columns) == ["city", "x"] and list(frame["city"]) == ["a", "b", "a"]
    assert frame["x"].iloc[0] == 1.5 and pd.isna(frame["x"].iloc[2])


def test_parquet_strings_as_categories_for_drift(files):
    frame = read_table(files["parquet"], columns=["city"], categories=True)
    assert isinstance(frame["city"].dtype, pd.CategoricalDtype) and list(frame["city"]) == ["a", "b", "a"]
    csv = read_table(files["csv"], columns=["city"], categories=True)["city"]
    assert not isinstance(csv.dtype, pd.CategoricalDtype)  # Parquet only
    with pytest.raises(UserError, match=r"d.parquet: no column 'nope' \(columns: id, city, x\)"):
        read_table(files["parquet"], columns=["nope"], categories=True)


def test_text_cells_as_written(files):
    assert list(read_text_cells(files["csv"], ["id"], "csv")["id"]) == ["007", "008", "009"]
    assert list(read_table(files["csv"], columns=["id"])["id"]) == [7, 8, 9]  # the typed read
    with pytest.raises(UserError, match=r"d.tsv: cannot read as tsv: "):
        read_text_cells(files["tsv"], ["nope"], "tsv")


def test_nested_cells_compare_by_content(tmp_path):
    path = tmp_path / "n.jsonl"
    path.write_text('{"tags": ["a", "b"]}\n{"tags": ["a", "b"]}\n{"tags": {"k": 1}}\n')
    cells = list(read_table(path)["tags"])
    assert all(isinstance(c, Nested) for c in cells) and cells[0] == cells[1] != cells[2]
    assert str(cells[2]) == '{"k": 1}' and len(set(cells)) == 2
