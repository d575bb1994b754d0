"""ci_mlops.dvc.diff: DVC's metrics/params diff JSON read, and report rows in its shape."""

from __future__ import annotations

import pytest

from ci_mlops.dvc.diff import as_dvc_diff, diff_commands, dvc_diffs, read_diff
from ci_mlops.dvc.run import DvcResult
from ci_mlops.errors import UserError


def test_rows_take_dvcs_shape_with_diff_only_where_there_is_a_change():
    rows = [{"file": "m.json", "key": "acc", "base": 0.5, "head": 0.75, "change": 0.25},
            {"file": "m.json", "key": "name", "base": "a", "head": "b", "change": None},
            {"file": "p.yaml", "key": "lr", "base": None, "head": 1, "change": None}]
    assert as_dvc_diff(rows) == {"m.json": {"acc": {"old": 0.5, "new": 0.75, "diff": 0.25},
                                            "name": {"old": "a", "new": "b"}},
                                 "p.yaml": {"lr": {"old": None, "new": 1}}}
    assert as_dvc_diff([]) == {}


def test_commands_follow_dvcs_revision_arguments():
    assert diff_commands("a", "b") == [["metrics", "diff", "a", "b", "--json", "--all"],
                                       ["params", "diff", "a", "b", "--json", "--all"]]
    assert diff_commands() == [["metrics", "diff", "--json", "--all"], ["params", "diff", "--json", "--all"]]


def test_reading_dvcs_answer():
    ok = DvcResult(("metrics", "diff"), 0, '{"m.json": {"acc": {"old": 1, "new": 2, "diff": 1}}}\n', "")
    assert read_diff(ok) == {"m.json": {"acc": {"old": 1, "new": 2, "diff": 1}}}
    assert read_diff(DvcResult(("params", "diff"), 0, "", "")) == {}  # DVC prints nothing for nothing
    with pytest.raises(UserError, match="`dvc metrics diff` printed no JSON"):
        read_diff(DvcResult(("metrics", "diff"), 0, "| table |", ""))
    with pytest.raises(UserError, match="printed list, not an object"):
        read_diff(DvcResult(("metrics", "diff"), 0, "[]", ""))


def test_dvc_diffs_outside_a_repository_names_the_command(tmp_path):
    """Outside a git repository DVC refuses; the error names the command and DVC's reason."""
    with pytest.raises(UserError, match=r"`dvc metrics diff --json --all` failed \(exit \d+\): ERROR: Only supported for Git"):
        dvc_diffs(tmp_path)
