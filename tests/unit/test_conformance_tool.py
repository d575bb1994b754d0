"""tools/conformance.py: ci-mlops vs DVC on git bundles, run here on bundles this test builds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.support.dvc_factory import git, metrics_commit

TOOL = Path(__file__).resolve().parents[2] / "tools" / "conformance.py"


@pytest.fixture(scope="module")
def conformance():
    spec = importlib.util.spec_from_file_location("conformance", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules["conformance"] = module
    spec.loader.exec_module(module)
    return module


def test_compare_counts_wrong_numbers_and_silent_skips(conformance):
    tally = conformance.Tally("r")
    pair = conformance.Pair("a", "b", "commits")
    theirs = {"m.json": {"acc": {"old": 0.5, "new": 0.6, "diff": 0.1}, "loss": {"old": 1, "new": 2, "diff": 1},
                         "flag": {"old": True, "new": True, "diff": 0}}}
    ours = {"m.json": {"acc": {"old": 0.5, "new": 0.6, "diff": 0.1}, "loss": {"old": 1, "new": 3, "diff": 2},
                       "flag": {"old": 1, "new": True, "diff": 0}}}
    conformance.compare(tally, pair, "metrics", ours, theirs, set(), "r a..b")
    assert tally.compared == 6
    assert len(tally.wrong) == 3  # loss new, loss diff, flag old (1 is not true)
    conformance.compare(tally, pair, "metrics", {}, theirs, set(), "r a..b")
    assert len(tally.skips) == 6
    # DVC failed to load the base: its nulls are not compared; what ci-mlops read there is counted apart
    tally = conformance.Tally("r")
    conformance.compare(tally, pair, "metrics", {"m.json": {"acc": {"old": 0.5, "new": 0.6}}},
                        {"m.json": {"acc": {"old": None, "new": 0.6}}}, {"old"}, "r a..b")
    assert (tally.compared, tally.wrong, tally.skips, tally.beyond_dvc) == (1, [], [], 1)


def test_failed_sides_from_dvc_warnings(conformance):
    pair = conformance.Pair("v1", "v2", "tags")
    stderr = ("WARNING: failed to load metrics in revision 'workspace', x\n"
              "WARNING: failed to load metrics in revision 'v1', './dvc.lock' validation failed\n")
    assert conformance.failed_sides(stderr, pair) == {"old"}
    # a directory output the remote cannot provide: DVC prints only the summary line
    assert conformance.failed_sides("DVC failed to load some metrics for following revisions: 'v1, v2'.", pair) \
        == {"old", "new"}


def test_end_to_end_on_a_bundle(conformance, tmp_path, dvc_layouts):
    repo = dvc_layouts.copy(tmp_path / "src" / "repo", monorepo=True)
    git(repo, "tag", "v1")
    metrics_commit(repo, "tune", **{"train.lr": 0.4})
    git(repo, "tag", "v2")
    metrics_commit(repo, "tune again", **{"train.epochs": 2})
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    git(repo, "bundle", "create", str(bundles / "factory.bundle"), "--all")
    out = tmp_path / "conformance.md"
    code = conformance.main(["--repos", str(bundles), "--workdir", str(tmp_path / "work"), "--sample", "2",
                             "--markdown", str(out)])
    text = out.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| factory"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "3 (1 + 2)", row
    assert int(cells[2]) > 20, row  # values compared
    assert cells[3:7] == ["0", "0", "0", "0"], text
    assert code == 0
