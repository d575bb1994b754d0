"""Data checks: pure checks on DataFrames, and reading files from the workspace or the DVC cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ci_mlops.checks.data import check_column, check_frame, load_data, load_text_columns, required_columns
from ci_mlops.errors import UserError


def one(results, check, column=None):
    found = [r for r in results if r["check"] == check and r["column"] == column]
    assert len(found) == 1, results
    return found[0]


@pytest.fixture
def people():
    return pd.DataFrame({
        "id": [1, 2, 3, 4, 4, 6],
        "age": [34, None, 150, -1, 20, 41],
        "color": ["red", "blue", "purple", "red", None, "teal"],
        "code": ["AB-1", "AB-2", "x", "AB-4", "AB-5", "AB-6"],
    })


def test_nulls_range_allowed_unique_regex_with_row_numbers(people):
    spec = {"columns": {
        "age": {"nullable": False, "min": 0, "max": 120, "max_null_fraction": 0.1},
        "color": {"allowed": ["red", "blue"]},
        "id": {"unique": True},
        "code": {"regex": r"AB-\d+"},
    }}
    out = check_frame(people, spec, name="people.csv")
    nullable = one(out, "nullable", "age")
    assert not nullable["passed"] and nullable["failing_rows"] == 1 and nullable["examples"] == [2]
    assert not one(out, "max_null_fraction", "age")["passed"]
    low, high = one(out, "min", "age"), one(out, "max", "age")
    assert (low["failing_rows"], low["examples"], low["value"]) == (1, [4], -1)
    assert (high["failing_rows"], high["examples"], high["value"]) == (1, [3], 150)
    assert "1 row above max 120" in high["message"] and "150" in high["message"]
    allowed = one(out, "allowed", "color")
    assert allowed["failing_rows"] == 2 and allowed["examples"] == [3, 6]  # None is not "unknown"
    assert "'purple'" in allowed["message"] and "'teal'" in allowed["message"]
    unique = one(out, "unique", "id")
    assert unique["failing_rows"] == 1 and unique["examples"] == [5]
    regex = one(out, "regex", "code")
    assert regex["examples"] == [3] and "'x'" in regex["message"]
    assert all(r["file"] == "people.csv" for r in out)


def test_all_passing(people):
    spec = {"rows": {"min": 1, "max": 10}, "columns": {"id": {"dtype": "int", "min": 1}, "color": {"dtype": "string"}}}
    out = check_frame(people, spec, name="p")
    assert all(r["passed"] for r in out), out


def test_rows_bounds():
    frame = pd.DataFrame({"a": range(5)})
    assert one(check_frame(frame.head(1), {"rows": {"min": 5}}, name="f"), "rows")["message"] == "1 row (outside min 5)"
    assert one(check_frame(frame, {"rows": {"min": 5}}, name="f"), "rows")["message"] == "5 rows (within min 5)"
    assert not one(check_frame(frame, {"rows": {"min": 10}}, name="f"), "rows")["passed"]
    assert not one(check_frame(frame, {"rows": {"max": 4}}, name="f"), "rows")["passed"]
    assert one(check_frame(frame, {"rows": {"min": 5, "max": 5}}, name="f"), "rows")["passed"]


def test_strict_schema_names_unexpected_columns(people):
    out = check_frame(people, {"schema": "strict", "columns": {"id": {}, "age": {}}}, name="f")
    schema = one(out, "schema")
    assert not schema["passed"] and "color, code" in schema["message"]


def test_duplicates(people):
    frame = pd.concat([people, people.iloc[[0, 2]]], ignore_index=True)
    dup = one(check_frame(frame, {"duplicates": {"max": 1}}, name="f"), "duplicates")
    assert not dup["passed"] and dup["failing_rows"] == 2 and dup["examples"] == [7, 8]
    assert one(check_frame(frame, {"duplicates": {"max": 2}}, name="f"), "duplicates")["passed"]


def test_leakage_on_keys_and_on_common_columns():
    train = pd.DataFrame({"id": [1, 2, 3, 4], "x": [0.1, 0.2, 0.3, 0.4]})
    test = pd.DataFrame({"id": [3, 4, 9], "x": [9.0, 0.4, 0.9]})
    on_id = check_frame(train, {"leakage": {"with": "test.csv", "on": ["id"]}}, name="train.csv", other=test)
    leak = one(on_id, "leakage")
    assert not leak["passed"] and leak["failing_rows"] == 2 and leak["examples"] == [3, 4]
    assert "also in test.csv" in leak["message"]
    whole_row = one(check_frame(train, {"leakage": {"with": "test.csv"}}, name="train.csv", other=test), "leakage")
    assert whole_row["failing_rows"] == 1 and whole_row["examples"] == [4]
    allowed = one(check_frame(train, {"leakage": {"with": "t", "on": ["id"], "max": 2}}, name="f", other=test), "leakage")
    assert allowed["passed"]


def test_leakage_compares_ids_across_dtypes():
    train = pd.DataFrame({"id": [1, 2, 3]})
    test = pd.DataFrame({"id": ["3", "7"]})
    leak = one(check_frame(train, {"leakage": {"with": "t", "on": ["id"]}}, name="f", other=test), "leakage")
    assert leak["failing_rows"] == 1


def test_leakage_key_column_missing_is_user_error():
    with pytest.raises(UserError, match=r"test\.csv: no column 'id'"):
        check_frame(pd.DataFrame({"id": [1]}), {"leakage": {"with": "test.csv", "on": ["id"]}}, name="train.csv",
                    other=pd.DataFrame({"x": [1]}))


def test_configured_column_missing_is_user_error(people):
    with pytest.raises(UserError, match=r"people\.csv: no column 'agee'.*columns; the file has: id, age"):
        check_frame(people, {"columns": {"agee": {"min": 0}}}, name="people.csv")


@pytest.mark.parametrize("want,values,passed,failing", [
    ("int", [1, 2, None], True, 0),            # ints with a gap load as float: still ints
    ("int", [1, 2.5, None], False, 1),
    ("int", ["1", "x", None], False, 1),
    ("number", ["1", "x", "2"], False, 1),
    ("float", [1.5, 2.0], True, 0),
    ("string", ["a", 3, None], False, 1),
    ("string", ["a", "b", None], True, 0),
    ("bool", [True, False, None], True, 0),
    ("bool", ["true", "maybe"], False, 1),
    ("datetime", ["2024-01-01", "2024-02-03 10:00", "not a date"], False, 1),
    ("datetime", ["2024-01-01", "2024-02-03"], True, 0),
    ("category", ["a", "b"], True, 0),
    ("category", [0.5, 1.5], False, 2),
])
def test_dtype(want, values, passed, failing):
    result = check_column(pd.Series(values), {"dtype": want}, name="f", column="c")[0]
    assert result["passed"] is passed, result
    assert result["failing_rows"] == failing


def test_allowed_matches_numbers_written_as_text():
    result = check_column(pd.Series([0, 1, 1, 2]), {"allowed": ["0", "1"]}, name="f", column="label")[0]
    assert result["failing_rows"] == 1 and result["examples"] == [4]


def test_regex_uses_python_re_for_lookarounds():
    result = check_column(pd.Series(["ab", "ac"]), {"regex": r"a(?!c)."}, name="f", column="c")[0]
    assert result["failing_rows"] == 1 and result["examples"] == [2]


def test_invalid_regex_is_user_error():
    with pytest.raises(UserError, match="regex"):
        check_column(pd.Series(["a"]), {"regex": "("}, name="f", column="c")


def test_min_max_on_text_counts_non_numbers():
    result = check_column(pd.Series(["1", "x", "5"]), {"max": 3}, name="f", column="c")[0]
    assert result["failing_rows"] == 2 and result["examples"] == [2, 3] and "not a number" in result["message"]


def test_required_columns():
    assert required_columns({"columns": {"a": {}}, "leakage": {"with": "t", "on": ["b"]}}) == ["a", "b"]
    assert required_columns({"columns": {"a": {}}, "schema": "strict"}) is None
    assert required_columns({"columns": {"a": {}}, "duplicates": {"max": 0}}) is None
    assert required_columns({"rows": {"min": 1}}) is None


def test_million_rows_all_checks_vectorised():
    # Correctness at scale (timings live in benchmarks/bench_datachecks.py, never in tests).
    n = 1_000_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": np.arange(n), "x": rng.normal(size=n), "cat": rng.choice(["a", "b"], size=n)})
    frame.loc[[10, 999_999], "x"] = 100.0
    out = check_frame(frame, {"columns": {"id": {"unique": True}, "x": {"max": 50},
                                          "cat": {"allowed": ["a", "b"], "regex": "[ab]"}},
                              "duplicates": {"max": 0}}, name="big")
    assert one(out, "max", "x")["examples"] == [11, 1_000_000]
    assert all(r["passed"] for r in out if r["check"] != "max")


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.integers(-50, 50)), max_size=40),
       low=st.integers(-20, 0), high=st.integers(0, 20))
def test_range_counts_match_a_plain_loop(values, low, high):
    out = check_column(pd.Series(values, dtype="float64"), {"min": low, "max": high}, name="f", column="c")
    below = [i + 1 for i, v in enumerate(values) if v is not None and v < low]
    above = [i + 1 for i, v in enumerate(values) if v is not None and v > high]
    assert (out[0]["failing_rows"], out[0]["examples"]) == (len(below), below[:5])
    assert (out[1]["failing_rows"], out[1]["examples"]) == (len(above), above[:5])


@settings(max_examples=50, deadline=None)
@given(left=st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["a", "b", None])), max_size=30),
       right=st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["a", "b", None])), max_size=30))
def test_leakage_and_duplicates_match_plain_sets(left, right):
    a = pd.DataFrame(left or [(0, "a")], columns=["k", "s"])
    b = pd.DataFrame(right or [(9, "z")], columns=["k", "s"])
    out = check_frame(a, {"duplicates": {"max": 0}, "leakage": {"with": "b"}}, name="a", other=b)
    keys_b = set(map(tuple, b.astype(object).where(b.notna(), None).itertuples(index=False)))
    rows_a = list(map(tuple, a.astype(object).where(a.notna(), None).itertuples(index=False)))
    assert one(out, "leakage")["failing_rows"] == sum(r in keys_b for r in rows_a)
    assert one(out, "duplicates")["failing_rows"] == len(rows_a) - len(set(rows_a))


# -- files: formats, unparsable input, the DVC cache -----------------------------------------


def test_load_formats_and_text_columns(tmp_path: Path):
    frame = pd.DataFrame({"zip": ["00123", "4567"], "n": [1, 2]})
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.to_csv(tmp_path / "a.tsv", sep="\t", index=False)
    frame.to_parquet(tmp_path / "a.parquet")
    frame.to_json(tmp_path / "a.jsonl", orient="records", lines=True)
    for name in ("a.csv", "a.tsv", "a.parquet", "a.jsonl"):
        assert len(load_data(tmp_path, name)) == 2
    assert load_data(tmp_path, "a.csv")["zip"].tolist() == [123, 4567]  # what pandas makes of it...
    assert load_text_columns(tmp_path, "a.csv", ["zip"])["zip"].tolist() == ["00123", "4567"]  # ...and the text
    assert load_text_columns(tmp_path, "a.parquet", ["zip"]) is None


def test_unparsable_and_missing_files_are_user_errors(tmp_path: Path):
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(UserError, match=r"^bad\.parquet: cannot read as parquet"):
        load_data(tmp_path, "bad.parquet")
    with pytest.raises(UserError, match=r"^nope\.csv: no such file"):
        load_data(tmp_path, "nope.csv")


@pytest.fixture(scope="module")
def dvc_repo(tmp_path_factory, shared_dvc_repo):
    from tests.support.dvc_factory import copy_repo

    return copy_repo(shared_dvc_repo, tmp_path_factory.mktemp("dc") / "repo")


def test_reads_dvc_tracked_files_from_the_cache(dvc_repo: Path, tmp_path: Path):
    from tests.support.dvc_factory import copy_repo

    repo = copy_repo(dvc_repo, tmp_path / "repo")
    expected_raw = pd.read_csv(repo / "data" / "raw.csv")
    expected_train = pd.read_csv(repo / "data" / "prepared" / "train.csv")
    (repo / "data" / "raw.csv").unlink()  # a .dvc-tracked file
    shutil.rmtree(repo / "data" / "prepared")  # a file inside a stage's output directory
    pd.testing.assert_frame_equal(load_data(repo, "data/raw.csv"), expected_raw)
    pd.testing.assert_frame_equal(load_data(repo, "data/prepared/train.csv"), expected_train)
    assert not (repo / "data" / "raw.csv").exists()  # read in place, not checked out


def test_pulls_from_the_remote_when_not_cached(dvc_repo: Path, tmp_path: Path):
    from tests.support.dvc_factory import copy_repo

    repo = copy_repo(dvc_repo, tmp_path / "repo")
    expected = pd.read_csv(repo / "data" / "raw.csv")
    (repo / "data" / "raw.csv").unlink()
    shutil.rmtree(repo / ".dvc" / "cache")
    pd.testing.assert_frame_equal(load_data(repo, "data/raw.csv"), expected)

    shutil.rmtree(repo / ".dvc" / "cache")
    (repo / "data" / "raw.csv").unlink()
    shutil.rmtree(tmp_path / "remote")  # copy_repo points the copy at its own remote
    with pytest.raises(UserError, match=r"^data/raw\.csv: not in the workspace or the DVC cache, and `dvc pull.*failed"):
        load_data(repo, "data/raw.csv")


def test_data_missing_everywhere_says_which_file_and_how_to_fix(dvc_repo: Path, tmp_path: Path):
    from tests.support.dvc_factory import copy_repo

    repo = copy_repo(dvc_repo, tmp_path / "repo")
    (repo / "data" / "raw.csv").unlink()
    shutil.rmtree(repo / ".dvc" / "cache")
    shutil.rmtree(tmp_path / "remote")
    with pytest.raises(UserError) as info:
        load_data(repo, "data/raw.csv")
    message = info.value.message
    assert "\n" not in message and not message.endswith(":"), message  # not DVC's "Checkout failed for ...:"
    assert "the DVC remote 'local' does not have data/raw.csv" in message and "`dvc push`" in message, message

    (repo / ".dvc" / "config").write_text("[core]\n    autostage = true\n")
    with pytest.raises(UserError, match=r"failed: no DVC remote is configured; add one \(`dvc remote add -d"):
        load_data(repo, "data/raw.csv")


@pytest.mark.parametrize("stderr, expected", [
    ("ERROR: failed to pull data from the cloud - Access denied\n", "failed to pull data from the cloud - Access denied"),
    ("ERROR: unexpected error - these:\nfoo\n<https://error.dvc.org/x>\n", "unexpected error - these: foo"),
    ("", "exit 1"),
    # a DVC 1 dvc.lock (cml_dvc_case's layout): no ERROR line, a warning first, DVC's excerpt after
    (("WARNING: failed to collect 'workspace', skipping\n'./dvc.lock' validation failed: 2 errors.\n\n"
      "extra keys not allowed, in mystage, line 2, column 3\n   1 mystage:\n   2   cmd: python train.py\n"),
     "'./dvc.lock' validation failed: 2 errors. extra keys not allowed, in mystage, line 2, column 3"),
])
def test_pull_problem_keeps_other_dvc_errors(stderr, expected):
    from ci_mlops.checks.data import pull_problem

    assert pull_problem(stderr, "d.csv") == expected


def test_a_dvc1_lock_that_stops_dvc_pull_is_named_not_its_warning(tmp_path: Path):
    """cml_dvc_case's layout: data.dvc tracks a directory that is in no cache, and dvc.lock is DVC 1's
    (stage names at the top), which DVC 3 refuses before it pulls anything."""
    import subprocess

    repo = tmp_path / "repo"
    (repo / ".dvc").mkdir(parents=True)
    (repo / ".dvc" / "config").write_text(f"[core]\n    remote = store\n['remote \"store\"']\n    url = {tmp_path / 'store'}\n")
    (repo / "data.dvc").write_text("outs:\n- md5: c5a2bbc6820f83da3788d7dceb32c42d.dir\n  path: data\n")
    (repo / "dvc.yaml").write_text("stages:\n  mystage:\n    cmd: python train.py\n    deps: [data]\n"
                                   "    metrics:\n    - metrics.json:\n        cache: false\n")
    (repo / "dvc.lock").write_text("mystage:\n  cmd: python train.py\n  deps:\n  - path: data\n"
                                   "    md5: c5a2bbc6820f83da3788d7dceb32c42d.dir\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    with pytest.raises(UserError) as info:
        load_data(repo, "data/train.csv")
    message = info.value.message
    assert message.startswith("data/train.csv: not in the workspace or the DVC cache, and `dvc pull data/train.csv` "
                              "failed: "), message
    assert "dvc.lock' validation failed" in message and "WARNING" not in message and "\n" not in message, message


# -- the DVC project as dvc/project.py reads it (hand-built: no DVC process) ---------------------


def _object(root: Path, content: bytes, *, legacy: bool = False) -> str:
    import hashlib

    md5 = hashlib.md5(content).hexdigest()
    where = root / ".dvc" / "cache" / ("" if legacy else "files/md5") / md5[:2] / md5[2:]
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_bytes(content)
    return md5


def _no_pull(root: Path, path: str) -> None:
    raise AssertionError(f"pulled {path}: the cache has it")


def test_a_stage_output_in_its_wdir_and_a_dvc2_lock_are_found_in_the_cache(git_repo: Path):
    from conftest import git

    content = b"a,b\n1,2\n"
    md5 = _object(git_repo, content, legacy=True)  # DVC 2 wrote no `hash: md5`: the legacy layout
    (git_repo / "dvc.yaml").write_text("stages:\n  prep:\n    wdir: sub\n    cmd: python prep.py\n    outs: [out.csv]\n")
    (git_repo / "dvc.lock").write_text(f"schema: '2.0'\nstages:\n  prep:\n    cmd: python prep.py\n"
                                       f"    outs:\n    - path: out.csv\n      md5: {md5}\n      size: 8\n")
    git(git_repo, "add", "-A")
    assert load_data(git_repo, "sub/out.csv", pull=_no_pull)["b"].tolist() == [2]  # the lock's paths are the wdir's
    with pytest.raises(UserError, match=r"^out\.csv: no such file in the workspace or the DVC cache"):
        load_data(git_repo, "out.csv", pull=_no_pull)


def test_a_dvc_file_in_a_folder_and_a_file_its_directory_does_not_hold(git_repo: Path):
    import json

    member = _object(git_repo, b"x\n7\n")
    listing = json.dumps([{"md5": member, "relpath": "part.csv"}]).encode()
    import hashlib

    dir_md5 = hashlib.md5(listing).hexdigest() + ".dir"
    target = git_repo / ".dvc" / "cache" / "files" / "md5" / dir_md5[:2] / dir_md5[2:]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(listing)
    (git_repo / "data").mkdir()
    (git_repo / "data" / "parts.dvc").write_text(f"outs:\n- md5: {dir_md5}\n  hash: md5\n  path: parts\n")
    assert load_data(git_repo, "data/parts/part.csv", pull=_no_pull)["x"].tolist() == [7]
    with pytest.raises(UserError, match=r"^data/parts/other\.csv: no such file in the workspace or the DVC cache"):
        load_data(git_repo, "data/parts/other.csv", pull=_no_pull)  # the manifest says it is not there: no pull
    pulled: list[str] = []
    target.unlink()  # without the manifest only `dvc pull` can tell
    with pytest.raises(UserError, match=r"no such file"):
        load_data(git_repo, "data/parts/part.csv", pull=lambda root, path: pulled.append(path))
    assert pulled == ["data/parts/part.csv"]


def test_a_dvc_project_without_git(tmp_path: Path):
    (tmp_path / ".dvc").mkdir()
    md5 = _object(tmp_path, b"n\n3\n")
    (tmp_path / "raw.csv.dvc").write_text(f"outs:\n- md5: {md5}\n  hash: md5\n  path: raw.csv\n")
    assert load_data(tmp_path, "raw.csv", pull=_no_pull)["n"].tolist() == [3]


def test_a_dvc_file_linked_from_outside_the_repository_is_not_followed(git_repo: Path, tmp_path: Path):
    md5 = _object(git_repo, b"n\n3\n")
    outside = tmp_path / "elsewhere.dvc"
    outside.write_text(f"outs:\n- md5: {md5}\n  hash: md5\n  path: raw.csv\n")
    (git_repo / "raw.csv.dvc").symlink_to(outside)
    with pytest.raises(UserError, match=r"raw\.csv\.dvc: resolves to .*outside the repository"):
        load_data(git_repo, "raw.csv", pull=_no_pull)
