"""Real-world layouts DVC fails to load, rebuilt here: ci-mlops shows the right values or says why.

DVC-2 `live:` dvc.yaml, a nested DVC project, a DVC 1 dvc.lock, a declared metrics file at a
commit without dvc.lock, and "no metrics found" only when nothing declares any.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from ci_mlops.dvc.project import load_project
from ci_mlops.errors import UserError
from ci_mlops.report import build_report, render_markdown
from tests.support.dvc_factory import commit_all, run_dvc_batch
from tests.unit.report.test_report_dvc import as_dvc, assert_same, dvc_diffs


def _dvc_init(repo: Path, folder: str = "") -> None:
    dvc = repo / folder / ".dvc"
    dvc.mkdir(parents=True)
    (dvc / "config").write_text("")
    (dvc / ".gitignore").write_text("/config.local\n/tmp\n/cache\n")


DVC2_LIVE = """\
stages:
  train:
    cmd: python train.py
    deps:
    - train.py
    outs:
    - model.pt:
        checkpoint: true
    live:
      dvclive:
        summary: true
        html: true
"""


def test_dvc2_live_section_is_an_error_naming_file_and_key(git_repo):
    repo = git_repo
    _dvc_init(repo)
    (repo / "dvc.yaml").write_text(DVC2_LIVE)
    commit_all(repo, "dvc 2 pipeline")
    with pytest.raises(UserError) as info:
        build_report(repo, "HEAD~1", "HEAD")
    message = info.value.message
    assert message.startswith("dvc.yaml at HEAD (") and "stages.train.live: not a stage key DVC 3 accepts" in message
    assert "DVCLive" in message and "dvclive/metrics.json" in message
    proc = run_cli("report", "--base", "HEAD~1", "--head", "HEAD", cwd=repo)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "stages.train.live" in proc.stderr
    # DVC agrees that it cannot load this file
    out = run_dvc_batch(repo, [["metrics", "diff", "HEAD~1", "HEAD", "--json"]])
    assert "validation failed" in out.stderr


@pytest.mark.parametrize("text, key", [
    ("stages:\n  s:\n    cmd: x\n    metric: [m.json]\n", "stages.s.metric"),
    ("stages:\n  s:\n    deps: [a]\n", "stages.s.cmd: missing"),
    ("stage:\n  s:\n    cmd: x\n", "stage: not a dvc.yaml key"),
    ("stages:\n  s:\n    foreach: [1, 2]\n    do:\n      cmd: x\n      live: {}\n", "stages.s.live"),
])
def test_other_keys_dvc3_rejects(git_repo, text, key):
    _dvc_init(git_repo)
    (git_repo / "dvc.yaml").write_text(text)
    with pytest.raises(UserError, match="DVC cannot read this file either") as info:
        load_project(git_repo)
    assert key in info.value.message


NESTED_ROOT = "stages:\n  s:\n    cmd: echo\n    metrics:\n    - m.json:\n        cache: false\n"


def test_nested_project_is_separate_as_in_dvc(git_repo):
    repo = git_repo
    _dvc_init(repo)
    (repo / "dvc.yaml").write_text(NESTED_ROOT)
    (repo / "m.json").write_text('{"acc": 0.5}')
    _dvc_init(repo, "sub")
    (repo / "sub" / "dvc.yaml").write_text(NESTED_ROOT)
    (repo / "sub" / "m.json").write_text('{"acc": 0.1}')
    (repo / "sub" / "params.yaml").write_text("lr: 1\n")
    commit_all(repo, "nested")
    (repo / "m.json").write_text('{"acc": 0.6}')
    (repo / "sub" / "m.json").write_text('{"acc": 0.2}')
    commit_all(repo, "both change")
    project = load_project(repo, "HEAD")
    assert project.subprojects == ["sub"] and project.dvcyaml_paths == ["dvc.yaml"]
    report = build_report(repo, "HEAD~1", "HEAD")
    metrics, params = dvc_diffs(repo, "HEAD~1", "HEAD")
    assert_same(as_dvc(report["metrics"]), metrics)
    assert_same(as_dvc(report["params"]), params)
    assert any(n.startswith("sub/ is a separate DVC project") for n in report["notes"])
    assert "separate DVC project" in render_markdown(report)
    assert load_project(repo).subprojects == ["sub"]  # the workspace too


DVC1_LOCK = """\
train:
  cmd: python train.py
  deps:
  - path: train.py
    md5: c909a2d22ced09b274103fdae5684766
  outs:
  - path: metrics.json
    md5: 0955b6cb503d807426bab33d28358988
"""


def test_dvc1_lock_keeps_git_values_and_says_dvc_cannot_read_it(git_repo):
    repo = git_repo
    _dvc_init(repo)
    (repo / "dvc.yaml").write_text("stages:\n  train:\n    cmd: python train.py\n    metrics:\n"
                                   "    - metrics.json:\n        cache: false\n")
    (repo / "dvc.lock").write_text(DVC1_LOCK)
    (repo / "metrics.json").write_text('{"accuracy": 0.8}')
    commit_all(repo, "dvc 1")
    (repo / "metrics.json").write_text('{"accuracy": 0.9}')
    commit_all(repo, "better")
    report = build_report(repo, "HEAD~1", "HEAD")
    [row] = report["metrics"]
    assert (row["base"], row["head"], row["status"]) == (0.8, 0.9, "improved")
    notes = [n for n in report["notes"] if "DVC 1 lock file" in n]
    assert len(notes) == 2 and notes[0].startswith("dvc.lock at HEAD~1 (")
    out = run_dvc_batch(repo, [["metrics", "diff", "HEAD~1", "HEAD", "--json"]])
    assert json.loads(out.stdout) == {} and "dvc.lock' validation failed" in out.stderr


def test_declared_metrics_absent_without_dvc_lock_is_said(git_repo):
    repo = git_repo
    _dvc_init(repo)
    (repo / "dvc.yaml").write_text(NESTED_ROOT)
    commit_all(repo, "pipeline declared, never run")
    (repo / "m.json").write_text('{"acc": 0.5}')
    (repo / "dvc.lock").write_text("schema: '2.0'\nstages:\n  s:\n    cmd: echo\n    outs:\n    - path: m.json\n"
                                   "      hash: md5\n      md5: 0123456789abcdef0123456789abcdef\n      size: 13\n")
    commit_all(repo, "ran it")
    report = build_report(repo, "HEAD~1", "HEAD")
    assert [r["status"] for r in report["metrics"]] == ["new"]
    [note] = report["notes"]
    assert note.startswith("m.json is declared in dvc.yaml at HEAD~1 (") and "no dvc.lock" in note
    assert "no dvc.lock" in render_markdown(report)


def test_no_metrics_found_only_when_nothing_declares_any(git_repo):
    repo = git_repo
    _dvc_init(repo)
    (repo / "dvc.yaml").write_text(NESTED_ROOT)
    commit_all(repo, "declared")
    commit_all(repo, "still not run")
    report = build_report(repo, "HEAD~1", "HEAD")
    assert report["metrics"] == [] and report["metrics_files"] == ["m.json"]
    text = render_markdown(report)
    assert "no metrics found" not in text and "no metric values: m.json absent at both revisions" in text
    (repo / "dvc.yaml").write_text("stages:\n  s:\n    cmd: echo\n")
    commit_all(repo, "nothing declared")
    report = build_report(repo, "HEAD", "HEAD")
    assert report["metrics_files"] == [] and "no metrics found" in render_markdown(report)


DIR_PLOTS = """\
stages:
  train:
    cmd: echo
    plots:
    - training/plots:
        cache: false
    - importance.png:
        cache: false
    - never/written.csv:
        cache: false
"""


def _tsv(path: Path, name: str, values: list[float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"step\t{name}\n" + "".join(f"{i}\t{v}\n" for i, v in enumerate(values)))


def test_directory_plots_expand_to_each_file_like_dvc_plots_diff(git_repo):
    repo = git_repo
    _dvc_init(repo)
    (repo / "dvc.yaml").write_text(DIR_PLOTS)
    plots = repo / "training" / "plots" / "metrics"
    _tsv(plots / "dice.tsv", "dice", [0.1, 0.2])
    _tsv(plots / "train" / "loss.tsv", "loss", [1.0, 0.5])
    (repo / "importance.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)
    commit_all(repo, "base")
    _tsv(plots / "dice.tsv", "dice", [0.1, 0.3])
    _tsv(plots / "eval" / "loss.tsv", "loss", [0.9, 0.6])
    (repo / "importance.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x01" * 16)
    commit_all(repo, "head")
    report = build_report(repo, "HEAD~1", "HEAD")
    entries = {p["id"]: p for p in report["plots"]}
    out = run_dvc_batch(repo, [["plots", "diff", "HEAD~1", "HEAD", "--json"]])
    listed = set(json.loads(out.stdout)["data"])
    assert listed <= set(entries), listed - set(entries)  # every plot DVC lists is in the report
    assert {"training/plots/metrics/dice.tsv", "training/plots/metrics/train/loss.tsv",
            "training/plots/metrics/eval/loss.tsv"} <= set(entries)
    dice = entries["training/plots/metrics/dice.tsv"]
    assert dice["changed"] and dice["directory"] == "training/plots" and dice["head"]["series"]["dice"]["y"] == [0.1, 0.3]
    assert entries["training/plots/metrics/eval/loss.tsv"]["base"] is None
    assert entries["importance.png"]["reason"].startswith("an image") and entries["importance.png"]["changed"]
    assert entries["never/written.csv"]["missing"] and "at neither revision" in entries["never/written.csv"]["reason"]
    text = render_markdown(report)
    for plot_id in entries:
        assert plot_id in text, plot_id
    assert "_Not drawn: an image: not rendered in the report yet._" in text
    assert "_Not drawn: never/written.csv at neither revision" in text


def test_directory_plots_in_the_workspace(git_repo):
    repo = git_repo
    _dvc_init(repo)
    (repo / "dvc.yaml").write_text(DIR_PLOTS)
    _tsv(repo / "training" / "plots" / "a.tsv", "acc", [0.1, 0.2])
    commit_all(repo, "base")
    _tsv(repo / "training" / "plots" / "b.tsv", "acc", [0.3])  # untracked, as a pipeline run leaves it
    entries = {p["id"]: p for p in build_report(repo, "HEAD", None)["plots"]}
    assert entries["training/plots/b.tsv"]["head"] and entries["training/plots/b.tsv"]["base"] is None


def test_dvc2_lock_objects_are_read_from_the_legacy_cache_location(git_repo):
    """A lock without `hash: md5` (DVC 2) names objects DVC 3 keeps in the cache root, not files/md5/."""
    import hashlib

    repo = git_repo
    _dvc_init(repo)
    (repo / "dvc.yaml").write_text("stages:\n  s:\n    cmd: echo\n    outs:\n    - eval\nmetrics:\n- eval/m.json\n")
    blob = b'{"acc": 0.75}'
    md5 = hashlib.md5(blob).hexdigest()
    manifest = json.dumps([{"md5": md5, "relpath": "m.json"}]).encode()
    dir_md5 = hashlib.md5(manifest).hexdigest() + ".dir"
    for name, data in ((md5, blob), (dir_md5, manifest)):
        target = repo / ".dvc" / "cache" / name[:2] / name[2:]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (repo / "dvc.lock").write_text(f"schema: '2.0'\nstages:\n  s:\n    cmd: echo\n    outs:\n    - path: eval\n"
                                   f"      md5: {dir_md5}\n      size: 13\n      nfiles: 1\n")
    (repo / ".gitignore").write_text("/eval\n")
    commit_all(repo, "dvc 2 lock")
    [row] = build_report(repo, "HEAD", "HEAD")["metrics"]
    assert (row["file"], row["key"], row["base"], row["head"]) == ("eval/m.json", "acc", 0.75, 0.75)
    from ci_mlops.dvc import cache as dvc_cache

    location = dvc_cache.locate(load_project(repo, "HEAD"), "eval/m.json")
    assert location.hash_name == dvc_cache.LEGACY and dvc_cache.read_cached(repo, location) == blob


def test_params_inside_a_cached_directory(git_repo):
    """Top-level `params: [cfg/params.yaml]` inside `outs: [cfg]`: read through the manifest, an error when unreadable."""
    import hashlib

    repo = git_repo
    _dvc_init(repo)
    (repo / "dvc.yaml").write_text("stages:\n  s:\n    cmd: echo\n    outs:\n    - cfg\nparams:\n- cfg/params.yaml\n")
    blob = b"lr: 0.25\n"
    md5 = hashlib.md5(blob).hexdigest()
    manifest = json.dumps([{"md5": md5, "relpath": "params.yaml"}]).encode()
    dir_md5 = hashlib.md5(manifest).hexdigest() + ".dir"
    (repo / "dvc.lock").write_text(f"schema: '2.0'\nstages:\n  s:\n    cmd: echo\n    outs:\n    - path: cfg\n"
                                   f"      hash: md5\n      md5: {dir_md5}\n      size: 9\n      nfiles: 1\n")
    (repo / ".gitignore").write_text("/cfg\n")
    commit_all(repo, "params in a cached directory")
    with pytest.raises(UserError, match=r"cannot read cfg/params.yaml at HEAD \(.*no DVC remote is configured"):
        build_report(repo, "HEAD", "HEAD")
    for name, data in ((md5, blob), (dir_md5, manifest)):
        target = repo / ".dvc" / "cache" / "files" / "md5" / name[:2] / name[2:]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    [row] = build_report(repo, "HEAD", "HEAD")["params"]
    assert (row["file"], row["key"], row["base"], row["head"]) == ("cfg/params.yaml", "lr", 0.25, 0.25)
