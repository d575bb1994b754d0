"""`deploy --plan` on real GTO registries: counter tags, artifacts.yaml, FOLDER=NAME, cancellations,
and the stage allow-list read from the default branch (never from the tagged commit).

The fixture rebuilds the layout of magnetic-tiles-defect (GTO 0.x tags with counters, an
``artifacts.yaml`` naming the model, a second DVC output under ``models/`` that the old
``models/`` fallback released instead) plus a sub-folder ``dvc.yaml`` with its own artifact.
``--plan`` reads git only, so ``dvc.lock`` is written here as DVC writes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.dvc_factory import commit_all, copy_repo, git

MODEL = "mag-tiles-segmentation"
DVC_YAML = """\
stages:
  train:
    cmd: python src/train.py
    deps:
      - data/train
    outs:
      - models/model_pickle_fastai.pkl
      - models/permutation_importance.csv
"""
DVC_LOCK = """\
schema: '2.0'
stages:
  train:
    cmd: python src/train.py
    deps:
    - path: data/train
      hash: md5
      md5: 0f343b0931126a20f133d67c2b018a3b.dir
      size: 1024
      nfiles: 4
    outs:
    - path: models/model_pickle_fastai.pkl
      hash: md5
      md5: 9e107d9d372bb6826bd81d3542a419d6
      size: 170450
    - path: models/permutation_importance.csv
      hash: md5
      md5: e4d909c290d0fb1ca068ffaddf22cbd0
      size: 512
"""
ARTIFACTS_YAML = f"""\
{MODEL}:
  labels:
  - cv
  - segmentation
  path: models/model_pickle_fastai.pkl
  type: model
"""
SUB_DVC_YAML = """\
stages:
  fit:
    cmd: python fit.py
    outs:
      - model.bin
artifacts:
  churn:
    path: model.bin
    type: model
"""
SUB_DVC_LOCK = """\
schema: '2.0'
stages:
  fit:
    cmd: python fit.py
    outs:
    - path: model.bin
      hash: md5
      md5: 5d41402abc4b2a76b9719d911017c592
      size: 5
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("gto") / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    files = {"dvc.yaml": DVC_YAML, "dvc.lock": DVC_LOCK, "artifacts.yaml": ARTIFACTS_YAML,
             "pipelines/churn/dvc.yaml": SUB_DVC_YAML, "pipelines/churn/dvc.lock": SUB_DVC_LOCK,
             ".gto": "stages: [dev, prod]\n"}
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    commit_all(repo, "init")
    for n, tag in enumerate([f"{MODEL}@v1.0.0#1", f"{MODEL}#dev#2", f"{MODEL}#prod#3"]):
        git(repo, "tag", "-a", tag, "-m", f"tag {n}")
    (repo / "README.md").write_text("retrained\n")
    commit_all(repo, "retrain")
    for n, tag in enumerate([f"{MODEL}@v2.0.0#11", f"{MODEL}#dev", f"{MODEL}@deprecated#5", f"{MODEL}@created", f"{MODEL}#dev!#6",
                             f"{MODEL}@v1.0.0!#7", "pipelines/churn=churn@v0.1.0#8",
                             "pipelines/churn=churn#prod#9", "baseline-experiment", "undeclared@v1.0.0",
                             f"{MODEL}#anything#12", "v3.0.0"]):
        git(repo, "tag", "-a", tag, "-m", f"tag {n}")
    return repo


@pytest.fixture
def repo(registry, tmp_path) -> Path:
    return copy_repo(registry, tmp_path / "repo")


def plan(repo: Path, tag: str, *args: str, **env: str) -> tuple[int, dict[str, str], str]:
    out = repo.parent / "outputs.txt"
    out.write_text("")
    proc = run_cli("deploy", "--plan", "--tag", tag, *args, cwd=repo,
                   env={"GITHUB_OUTPUT": str(out), "GITHUB_TOKEN": "", "CI_MLOPS_TOKEN": "", **env})
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line and "<<" not in line)
    return proc.returncode, outputs, proc.stdout + proc.stderr


@pytest.mark.parametrize("tag, version, stage, environment", [
    (f"{MODEL}@v1.0.0#1", "1.0.0", "", "production"),
    (f"{MODEL}@v2.0.0#11", "2.0.0", "", "production"),
    (f"{MODEL}#dev#2", "1.0.0", "dev", "dev"),  # the version registered at the stage tag's commit
    (f"{MODEL}#dev", "2.0.0", "dev", "dev"),  # GTO's counter-less form, at the v2.0.0 commit
    ("v3.0.0", "3.0.0", "", "production"),
])
def test_counter_tags_give_the_right_facts_and_artifacts_yaml_names_the_model(registry, tag, version, stage,
                                                                               environment):
    code, outputs, text = plan(registry, tag)
    assert code == 0, text
    assert outputs["release"] == "true"
    assert (outputs["version"], outputs["stage"], outputs["environment"]) == (version, stage, environment)
    # artifacts.yaml picks the model; the models/ fallback would also have shipped the importance file
    if tag != "v3.0.0":
        assert outputs["artifacts"] == "models/model_pickle_fastai.pkl", text
        assert outputs["artifacts-from"] == f"artifact '{MODEL}' in artifacts.yaml"
    else:  # a plain version tag releases every declared model
        assert outputs["artifacts"] == "models/model_pickle_fastai.pkl,pipelines/churn/model.bin", text
        assert outputs["artifacts-from"] == "type: model artifacts in artifacts.yaml, pipelines/churn/dvc.yaml"


def test_folder_equals_name_tags_release_the_sub_folder_artifact(registry):
    code, outputs, text = plan(registry, "pipelines/churn=churn@v0.1.0#8")
    assert code == 0, text
    assert (outputs["model"], outputs["version"]) == ("churn", "0.1.0")
    assert outputs["artifacts"] == "pipelines/churn/model.bin"
    assert outputs["artifacts-from"] == "artifact 'pipelines/churn:churn' in pipelines/churn/dvc.yaml"
    code, outputs, text = plan(registry, "pipelines/churn=churn#prod#9")
    assert code == 0, text
    assert (outputs["version"], outputs["environment"]) == ("0.1.0", "prod")


@pytest.mark.parametrize("tag, words", [
    (f"{MODEL}@deprecated#5", "deprecates"),
    (f"{MODEL}@created", "records the creation"),
    (f"{MODEL}#dev!#6", "unassigns stage 'dev'"),
    (f"{MODEL}@v1.0.0!#7", "deregisters"),
    ("baseline-experiment", "not a release tag"),
])
def test_cancellations_and_other_tags_release_nothing(registry, tag, words):
    code, outputs, text = plan(registry, tag)
    assert code == 0, text
    assert outputs["release"] == "false"
    assert words in text and "nothing to release" in text


def test_an_undeclared_artifact_is_refused_not_replaced_by_another(registry):
    code, outputs, text = plan(registry, "undeclared@v1.0.0")
    assert code == 2 and "release" not in outputs
    assert "artifact 'undeclared', which no dvc.yaml or artifacts.yaml declares" in text
    assert f"declared: {MODEL}, pipelines/churn:churn" in text


@pytest.mark.parametrize("tag", [f"{MODEL}#anything#12", f"{MODEL}#production#1", f"{MODEL}#Dev#1",
                                 f"{MODEL}#prod/x#1"])
def test_a_stage_outside_the_allow_list_is_refused_before_the_release_job(repo, tag):
    if tag != f"{MODEL}#anything#12":
        git(repo, "tag", tag)
    code, outputs, text = plan(repo, tag)
    assert code == 2
    assert outputs == {}  # no environment, no release=true: the job with secrets never starts
    assert "which is not an allowed stage (allowed: dev, prod; from stages in .gto on main (main))" in text
    assert text.count("\n") == 1


def test_without_an_allow_list_no_stage_tag_releases(repo):
    git(repo, "rm", "-q", ".gto")
    commit_all(repo, "no stages")
    code, outputs, text = plan(repo, f"{MODEL}#dev#2")
    assert code == 2 and outputs == {}
    assert "no stages are allowed: list them under deploy.stages in .ci-mlops.yml (or stages: in .gto)" in text
    assert plan(repo, f"{MODEL}@v1.0.0#1")[0] == 0  # versions still release, to deploy.environment


def test_deploy_stages_map_stages_to_environments_and_win_over_gto(repo):
    (repo / ".ci-mlops.yml").write_text("deploy:\n  environment: release\n  stages:\n    prod: production\n")
    commit_all(repo, "stage allow-list")
    code, outputs, text = plan(repo, f"{MODEL}#prod#3")
    assert code == 0, text
    assert outputs["environment"] == "production"
    assert plan(repo, f"{MODEL}@v2.0.0#11")[1]["environment"] == "release"
    code, _, text = plan(repo, f"{MODEL}#dev#2")  # .gto allows dev, but deploy.stages decides
    assert code == 2 and "(allowed: prod; from deploy.stages in .ci-mlops.yml on main (main))" in text


def test_the_tagged_commit_cannot_widen_the_allow_list_or_move_the_environment(repo):
    git(repo, "checkout", "-q", "-b", "sneaky")
    (repo / ".ci-mlops.yml").write_text("deploy:\n  environment: yolo\n  stages:\n    anything: anything\n"
                                        "    dev: unprotected\n")
    (repo / ".gto").write_text("stages: [anything, dev, prod]\n")
    commit_all(repo, "widen the allow-list")
    git(repo, "tag", f"{MODEL}#anything#20")
    git(repo, "tag", f"{MODEL}#dev#21")
    git(repo, "tag", f"{MODEL}@v4.0.0#22")
    code, outputs, text = plan(repo, f"{MODEL}#anything#20")  # checked out at the tag, as in the workflow
    assert code == 2 and outputs == {} and "not an allowed stage (allowed: dev, prod" in text
    code, outputs, text = plan(repo, f"{MODEL}#dev#21")
    assert code == 0 and outputs["environment"] == "dev", text
    code, outputs, text = plan(repo, f"{MODEL}@v4.0.0#22")
    assert code == 0 and outputs["environment"] == "production", text
    assert "deploy.environment, deploy.stages at" in text and "differ from .ci-mlops.yml on main" in text


def test_the_default_branch_comes_from_the_push_event_then_origin(repo, tmp_path):
    git(repo, "branch", "-m", "main", "trunk")
    git(repo, "checkout", "-q", "--detach")  # as actions/checkout leaves a tag
    code, _, text = plan(repo, f"{MODEL}#dev#2")
    assert code == 2 and "cannot read the default branch" in text and "--default-branch" in text
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ref": "refs/tags/x", "repository": {"default_branch": "trunk"}}))
    code, outputs, text = plan(repo, f"{MODEL}#dev#2", GITHUB_EVENT_PATH=str(event))
    assert code == 0 and outputs["environment"] == "dev", text
    code, outputs, text = plan(repo, f"{MODEL}#dev#2", "--default-branch", "trunk")
    assert code == 0, text
    # a clone: origin's copy of the default branch is what counts, even with a local branch of that name
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "checkout", "-q", "-B", "trunk", f"refs/tags/{MODEL}#dev#2")
    (clone / ".gto").write_text("stages: [anything]\n")
    commit_all(clone, "local edit")
    assert plan(clone, f"{MODEL}#dev#2")[0] == 0


@pytest.mark.parametrize("config, fragment", [
    ("deploy:\n  stages:\n    prod: 'bad\\nname'\n", "deploy.stages.prod"),
    ("deploy:\n  stages:\n    'bad stage': production\n", "deploy.stages"),
    ("deploy:\n  stages: [dev, prod]\n", "deploy.stages"),
])
def test_a_bad_allow_list_is_one_line_naming_the_key(repo, config, fragment):
    (repo / ".ci-mlops.yml").write_text(config)
    commit_all(repo, "bad stages")
    code, _, text = plan(repo, f"{MODEL}#prod#3")
    assert code == 2 and fragment in text and text.count("\n") == 1, text


@pytest.mark.parametrize("name, text, fragment", [
    ("artifacts.yaml", "- just\n- a list\n", "artifacts.yaml at"),
    ("artifacts.yaml", f"{MODEL}:\n  path: ../outside.pkl\n", "is not a file inside the repository"),
    ("artifacts.yaml", f"{MODEL}:\n  path: s3://bucket/model.pkl\n", "is not a file inside the repository"),
    ("artifacts.yaml", f"{MODEL}:\n  type: model\n", "has no path"),
    ("artifacts.yaml", "a: &a [*a]\n", "artifacts.yaml at"),
    (".gto", "stages: prod\n", ".gto at main"),
])
def test_bad_registry_files_are_one_line(repo, name, text, fragment):
    (repo / name).write_text(text)
    commit_all(repo, "bad registry file")
    git(repo, "tag", f"{MODEL}@v9.0.0")
    code, _, out = plan(repo, f"{MODEL}@v9.0.0")
    assert code == 2 and fragment in out and out.count("\n") == 1, out


# -- a real DVC pipeline: artifacts.yaml decides, the models/ fallback would ship the wrong file --------


def test_a_real_release_ships_the_artifacts_yaml_model_not_everything_under_models(tmp_path, shared_dvc_repo):
    from tests.support.dvc_factory import copy_repo, run_dvc

    repo = copy_repo(shared_dvc_repo, tmp_path / "real" / "repo")
    text = (repo / "dvc.yaml").read_text()
    text = text[:text.index("artifacts:")]  # declared the old GTO way instead
    text = text.replace("stages:\n", "stages:\n  importance:\n    cmd: python -c \"open('models/permutation_importance.csv',"
                        " 'w').write('feature,importance\\\\nx1,0.7\\\\n')\"\n    deps:\n      - models/model.pkl\n"
                        "    outs:\n      - models/permutation_importance.csv\n", 1)
    (repo / "dvc.yaml").write_text(text)
    run_dvc(repo, "repro", "-q")
    commit_all(repo, "permutation importance")
    git(repo, "tag", "v0.9.0")
    code, outputs, out = plan(repo, "v0.9.0")  # nothing declared: the fallback takes both files
    assert code == 0 and outputs["artifacts"] == "models/model.pkl,models/permutation_importance.csv", out

    (repo / "artifacts.yaml").write_text("churn-model:\n  path: models/model.pkl\n  type: model\n")
    commit_all(repo, "declare the model")
    git(repo, "tag", "-a", "churn-model@v1.0.0#1", "-m", "Registering artifact churn-model version v1.0.0")
    git(repo, "tag", "v1.0.0")
    for tag in ("churn-model@v1.0.0#1", "v1.0.0"):
        folder = tmp_path / tag.replace("#", "_")
        proc = run_cli("deploy", "--tag", tag, "--target", "none", "--output-dir", str(folder), cwd=repo,
                       env={"GITHUB_TOKEN": "", "CI_MLOPS_TOKEN": ""})
        assert proc.returncode == 0, proc.stderr
        assert "in artifacts.yaml): models/model.pkl\n" in proc.stderr
        lineage = json.loads((folder / "lineage.json").read_text())
        assert [a["path"] for a in lineage["artifacts"]] == ["models/model.pkl"]
        verify = run_cli("audit", "verify", tag, "--lineage", str(folder / "lineage.json"), "--path",
                         str(repo / "models" / "model.pkl"), "--card", str(folder / "model-card.md"),
                         cwd=repo, env={"GITHUB_TOKEN": "", "CI_MLOPS_TOKEN": ""})
        assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads((tmp_path / "churn-model@v1.0.0_1" / "lineage.json").read_text())["model"] == "churn-model"


def test_audit_log_lists_counter_tags_and_leaves_out_training_counters(repo):
    (repo / "dvc.yaml").write_text(DVC_YAML + "metrics:\n  - training/metrics.json\n")
    (repo / "training").mkdir()
    (repo / "training" / "metrics.json").write_text('{"step": 29, "epoch": 29, "dice": 0.856, "train": {"loss": 0.04}}')
    commit_all(repo, "dvclive metrics")
    git(repo, "tag", "-a", f"{MODEL}@v3.0.0#30", "-m", "register")
    proc = run_cli("audit", "log", "--format", "json", cwd=repo, env={"GITHUB_TOKEN": "", "CI_MLOPS_TOKEN": ""})
    assert proc.returncode == 0, proc.stderr
    entries = {e["tag"]: e for e in json.loads(proc.stdout)["models"][MODEL]}
    assert {f"{MODEL}@v1.0.0#1", f"{MODEL}@v2.0.0#11", f"{MODEL}#dev", f"{MODEL}@v3.0.0#30"} <= set(entries)
    assert entries[f"{MODEL}@v3.0.0#30"]["metrics"] == {"dice": 0.856, "train.loss": 0.04}
