"""The DVC project model read from plain dvc.yaml/dvc.lock text in git (no DVC process needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git

from ci_mlops.dvc.project import cache_path, load_project, merge_params
from ci_mlops.errors import UserError

DVC_YAML = """\
params:
  - conf/extra.json
metrics:
  - reports/summary.json
plots:
  - eval/curve.csv
  - accuracy:
      x: step
      y:
        eval/train.json: acc
        eval/val.json: [acc]
stages:
  train:
    wdir: src
    cmd: python train.py
    deps: [train.py, ../data/raw.csv]
    params:
      - lr
      - ../conf/model.yaml:
          - depth
    outs:
      - ../models/model.pkl
    metrics:
      - ../eval/metrics.json:
          cache: true
    plots:
      - ../eval/roc.csv:
          x: fpr
          y: tpr
          template: linear
artifacts:
  clf:
    path: models/model.pkl
    type: model
"""

DVC_LOCK = """\
schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
      - path: ../data/raw.csv
        md5: 0123456789abcdef0123456789abcdef
        size: 10
    params:
      params.yaml:
        lr: 0.1
    outs:
      - path: ../eval/metrics.json
        md5: fedcba9876543210fedcba9876543210
        size: 20
"""


def write_commit(repo: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "files")
    return git(repo, "rev-parse", "HEAD").strip()


def test_paths_are_repo_relative_with_wdir(git_repo):
    sha = write_commit(git_repo, {"dvc.yaml": DVC_YAML, "dvc.lock": DVC_LOCK})
    project = load_project(git_repo, sha)
    stage = project.stages["train"]
    assert stage.wdir == "src"
    assert stage.deps == ["src/train.py", "data/raw.csv"]
    assert stage.params == {"src/params.yaml": ["lr"], "conf/model.yaml": ["depth"]}
    assert stage.metrics == ["eval/metrics.json"] and stage.cached["eval/metrics.json"] is True
    assert project.metrics_paths == ["eval/metrics.json", "reports/summary.json"]
    assert project.params_paths == {"src/params.yaml": ["lr"], "conf/model.yaml": ["depth"], "conf/extra.json": []}
    assert project.lock_outs["eval/metrics.json"]["md5"] == "fedcba9876543210fedcba9876543210"
    assert project.lock_deps["data/raw.csv"]["size"] == 10
    assert project.lock_params == {"src/params.yaml": {"lr": 0.1}}
    assert project.is_cached("eval/metrics.json") and not project.is_cached("reports/summary.json")
    assert project.artifacts["clf"]["path"] == "models/model.pkl"
    plots = {p["id"]: p for p in project.plots}
    assert plots["eval/roc.csv"]["x"] == "fpr"
    assert plots["accuracy"]["files"] == ["eval/train.json", "eval/val.json"]
    assert plots["eval/curve.csv"]["template"] == "linear"


def test_workspace_and_revision_agree(git_repo):
    sha = write_commit(git_repo, {"dvc.yaml": DVC_YAML, "dvc.lock": DVC_LOCK})
    assert load_project(git_repo).stages == load_project(git_repo, sha).stages


def test_root_params_yaml_is_tracked_whole(git_repo):
    write_commit(git_repo, {"dvc.yaml": "stages:\n  s:\n    cmd: x\n    params: [a.b]\n", "params.yaml": "a: {b: 1}\n"})
    assert load_project(git_repo).params_paths == {"params.yaml": []}


def test_merge_params():
    assert merge_params([{"p.yaml": ["a"]}, {"p.yaml": ["b", "a"]}, {"q.yaml": []}, {"q.yaml": ["x"]}]) == {
        "p.yaml": ["a", "b"], "q.yaml": []}


def test_invalid_dvc_yaml_names_revision_and_file(git_repo):
    sha = write_commit(git_repo, {"sub/dvc.yaml": "stages: [unclosed\n"})
    with pytest.raises(UserError, match=r"sub/dvc.yaml at .*invalid YAML"):
        load_project(git_repo, sha)


def test_no_dvc(git_repo):
    project = load_project(git_repo, "HEAD")
    assert not project.has_dvc and project.stages == {} and project.metrics_paths == []


def test_cache_path_layout_and_configured_dir(tmp_path):
    md5 = "ab" + "c" * 30
    assert cache_path(tmp_path, md5) == tmp_path / ".dvc" / "cache" / "files" / "md5" / "ab" / ("c" * 30)
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text("[cache]\n    dir = ../shared-cache\n")
    assert cache_path(tmp_path, md5) == (tmp_path / "shared-cache" / "files" / "md5" / "ab" / ("c" * 30)).resolve()


def test_dvcfiles_outputs_join_the_locked_ones(git_repo):
    added = "outs:\n- md5: 00112233445566778899aabbccddeeff\n  size: 4\n  hash: md5\n  path: raw.csv\n"
    uncached = "wdir: ..\nouts:\n- md5: ffeeddccbbaa99887766554433221100\n  path: data/big.csv\n  cache: false\n"
    sha = write_commit(git_repo, {"dvc.yaml": DVC_YAML, "dvc.lock": DVC_LOCK, "data/raw.csv.dvc": added,
                                  "data/big.csv.dvc": uncached})
    for rev in (None, sha):
        plain = load_project(git_repo, rev)
        assert "data/raw.csv" not in plain.lock_outs and plain.dvcfiles == []  # only when asked
        project = load_project(git_repo, rev, dvcfiles=True)
        assert project.dvcfiles == ["data/big.csv.dvc", "data/raw.csv.dvc"]
        assert project.lock_outs["data/raw.csv"] == {"md5": "00112233445566778899aabbccddeeff", "size": 4, "hash": "md5"}
        assert project.lock_outs["data/big.csv"]["md5"] == "ffeeddccbbaa99887766554433221100"  # wdir: .. from data/
        assert project.is_cached("data/raw.csv") and not project.is_cached("data/big.csv")
        assert project.lock_outs["eval/metrics.json"]["md5"] == "fedcba9876543210fedcba9876543210"


def test_invalid_dvcfile_names_the_file(git_repo):
    write_commit(git_repo, {"data/raw.csv.dvc": "outs: [\n"})
    with pytest.raises(UserError, match=r"^data/raw\.csv\.dvc at workspace: invalid YAML"):
        load_project(git_repo, dvcfiles=True)


def test_workspace_without_git_is_walked(tmp_path):
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text("")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "raw.csv.dvc").write_text("outs:\n- md5: 00112233445566778899aabbccddeeff\n  path: raw.csv\n")
    project = load_project(tmp_path, dvcfiles=True)
    assert project.dvcfiles == ["data/raw.csv.dvc"] and project.has_dvc
    assert project.lock_outs["data/raw.csv"]["md5"] == "00112233445566778899aabbccddeeff"
