"""The refresh steps other than a command: `dvc update` of imported data, from a real source repository."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ci_mlops.config.records import RetrainImport
from ci_mlops.errors import CheckFailed
from ci_mlops.retrain.results import read_manifest
from ci_mlops.retrain.settings import RetrainSettings
from ci_mlops.retrain.stage import retrain, steps_for
from tests.support.dvc_factory import commit_all, copy_repo, git, run_dvc, run_dvc_batch


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A data registry: a git + DVC repository with a local remote holding one CSV."""
    repo = tmp_path / "registry" / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "rows.csv").write_text("x1,x2,label\n1,2,1\n")
    run_dvc_batch(repo, [["init", "-q"], ["remote", "add", "-d", "store", str(tmp_path / "registry" / "remote")],
                         ["add", "-q", "rows.csv"], ["push", "-q"]])
    commit_all(repo, "data v1")
    return repo


def test_steps_in_order():
    settings = RetrainSettings(refresh="make data", imports=(RetrainImport(url="u", path="p", out="o", rev="v2"),),
                               update=("a.dvc",))
    names = [name for name, _ in steps_for(settings, Path("/nonexistent"))]
    assert names == ["refresh: make data", "dvc import --force u p -o o --rev v2", "dvc update -- a.dvc", "dvc repro"]


def test_dvc_update_brings_the_new_data_version_into_the_proposal(source, tmp_path, shared_dvc_repo):
    project = copy_repo(shared_dvc_repo, tmp_path / "project" / "repo")
    run_dvc(project, "import", "-q", str(source), "rows.csv", "-o", "data/imported.csv")
    commit_all(project, "import rows")
    (source / "rows.csv").write_text("x1,x2,label\n1,2,1\n3,4,0\n")
    run_dvc(source, "add", "-q", "rows.csv")
    run_dvc(source, "push", "-q")
    commit_all(source, "data v2")

    folder = tmp_path / "handover"
    head = git(project, "rev-parse", "HEAD").strip()
    manifest = retrain(project, folder, RetrainSettings(update=("data/imported.csv.dvc",)), reason="schedule",
                       base=head, echo=lambda line: None)
    assert manifest["status"] == "changed"
    assert [f["path"] for f in manifest["files"]] == ["data/imported.csv.dvc"]
    assert (project / "data" / "imported.csv").read_text().endswith("3,4,0\n")


def test_a_failing_import_is_recorded_with_its_step(tmp_path, shared_dvc_repo):
    project = copy_repo(shared_dvc_repo, tmp_path / "project" / "repo")
    folder = tmp_path / "handover"
    head = git(project, "rev-parse", "HEAD").strip()
    settings = RetrainSettings(imports=(RetrainImport(url=str(tmp_path / "nowhere"), path="x.csv", out="data/x.csv"),))
    with pytest.raises(CheckFailed, match="retrain step `dvc import --force"):
        retrain(project, folder, settings, reason="drift", base=head, echo=lambda line: None)
    manifest = read_manifest(folder)
    assert manifest["status"] == "failed" and manifest["step"].startswith("dvc import") and manifest["returncode"] != 0
    assert manifest["files"] == [] and not (folder / "dvc-outputs").exists()
    shutil.rmtree(folder)
