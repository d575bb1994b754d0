"""What the project's environment needs: install command per package manager, tests, GPUs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_mlops.safeload import MAX_YAML_BYTES
from ci_mlops.scaffold.detect import detect_python
from ci_mlops.scaffold.existing import read_workflow
from ci_mlops.scaffold.needs import detect_env, detect_tests, dvc_install, env_dir, gpu_reasons, stage_requirements


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.mark.parametrize("files, install, kind, has", [
    ({"poetry.lock": '[[package]]\nname = "pytest"\n\n[[package]]\nname = "dvc"\n', "pyproject.toml": "[tool.poetry]\n"},
     "pip install poetry && poetry config virtualenvs.in-project true && poetry install --no-interaction", "poetry",
     {"pytest", "dvc"}),
    ({"environment.yml": "name: x\ndependencies:\n  - python=3.10\n  - pytorch\n  - pip:\n    - dvc[gs]>=3\n"},
     '"$CONDA/bin/conda" env create --quiet --file environment.yml --prefix "$RUNNER_TEMP/conda-env"', "conda",
     {"pytorch", "dvc"}),
    ({"pyproject.toml": '[project]\nname = "x"\ndependencies = ["jax"]\n[dependency-groups]\ntest = ["pytest"]\n'},
     "pip install --upgrade pip && pip install -e . --group test", "pip", {"jax", "pytest"}),
    ({"uv.lock": '[[package]]\nname = "pytest"\n', "pyproject.toml": '[project]\nname = "x"\n'
      '[dependency-groups]\nlint = ["ruff"]\ntests = ["pytest"]\n'},
     "pip install uv && uv sync --locked --group tests", "uv", {"pytest"}),
    ({"requirements.txt": "-r requirements/base.txt\n", "requirements/base.txt": "tensorflow==2.5.0  # pinned\n"},
     "pip install -r requirements.txt", "pip", {"tensorflow"}),
])
def test_install_per_package_manager(tmp_path, files, install, kind, has):
    env = detect_env(write(tmp_path, files), [])
    assert (env.install, env.kind) == (install, kind)
    assert has <= set(env.deps)


def test_requirements_the_stages_use_come_first(tmp_path):
    write(tmp_path, {"pipe/src/requirements.txt": "pandas\n", "uv.lock": "", "ci/requirements-train.txt": "torch\n"})
    stages = [{"cmd": "python src/train.py", "deps": ["../ci/requirements-train.txt"], "wdir": ".", "folder": "pipe"}]
    found = stage_requirements(tmp_path, stages)
    assert found == ["ci/requirements-train.txt", "pipe/src/requirements.txt"]
    env = detect_env(tmp_path, found)  # before uv.lock: the pipeline's stages use them
    assert env.install == "pip install -r ci/requirements-train.txt -r pipe/src/requirements.txt" and env.kind == "pip"
    assert env.has("torch") and env.has("pandas")


def test_env_dir_and_project_dvc(tmp_path):
    assert env_dir("pip install uv && uv sync --locked") == "$GITHUB_WORKSPACE/.venv"
    assert env_dir('conda env create -f environment.yml --prefix "$RUNNER_TEMP/conda-env"') == "$RUNNER_TEMP/conda-env"
    assert env_dir("pip install -r requirements.txt") is None
    conda = detect_env(write(tmp_path / "c", {"environment.yml": "dependencies: [python=3.10]\n"}), [])
    assert env_dir(conda.install) == "$RUNNER_TEMP/conda-env"  # the command init writes
    env = detect_env(write(tmp_path, {"requirements.txt": "dvc\n"}), [])
    assert dvc_install(env, None, env.install) is None
    assert dvc_install(env, "s3", env.install) == "python -m pip install dvc-s3"
    env.deps.pop("dvc")
    assert dvc_install(env, "gs", "uv sync --locked") == "uv pip install 'dvc[gs]'"


def test_tests_pytest_would_collect(tmp_path):
    write(tmp_path, {"api_test.py": "import requests\nrequests.post('https://x.invalid')\n",
                     "notes/test_ideas.py": "# def test_later(): pass\n"})
    assert detect_tests(tmp_path) == []
    write(tmp_path, {"tests/unit/test_model.py": "class TestModel:\n    def test_fit(self):\n        pass\n",
                     ".venv/lib/test_vendored.py": "def test_x(): pass\n"})
    assert detect_tests(tmp_path) == ["tests/unit/test_model.py"]
    write(tmp_path, {"pytest.ini": "[pytest]\ntestpaths = checks\n", "checks/test_a.py": "def test_a(): pass\n"})
    assert detect_tests(tmp_path) == ["checks/test_a.py"]


def test_python_from_each_source(tmp_path):
    assert detect_python(tmp_path) == (None, "")
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.10"\n'})
    assert detect_python(tmp_path) == ("3.10", "pyproject.toml (requires-python)")
    wf = write(tmp_path, {".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                          "      - uses: actions/setup-python@v5\n        with:\n          python-version: '3.8'\n"})
    workflow = read_workflow(wf / ".github/workflows/ci.yml", ".github/workflows/ci.yml")
    assert detect_python(tmp_path, [workflow]) == ("3.8", ".github/workflows/ci.yml")
    write(tmp_path, {"environment.yml": "dependencies:\n  - python=3.9.7\n"})
    assert detect_python(tmp_path, [workflow]) == ("3.9", "environment.yml")
    write(tmp_path, {"runtime.txt": "python-3.7.1\n"})
    assert detect_python(tmp_path, [workflow])[0] == "3.7"
    write(tmp_path, {".python-version": "3.12.4\n"})
    assert detect_python(tmp_path, [workflow]) == ("3.12", ".python-version")


def test_python_version_files_are_read_within_the_bound(tmp_path):
    # A file over the loader's bound is passed over unread, like every other file init reads.
    (tmp_path / ".python-version").write_bytes(b"3.12.4\n" + b" " * MAX_YAML_BYTES)
    (tmp_path / "runtime.txt").write_bytes(b"python-3.7.1\n" + b" " * MAX_YAML_BYTES)
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.10"\n'})
    assert detect_python(tmp_path) == ("3.10", "pyproject.toml (requires-python)")


def test_gpu_from_deps_and_workflows(tmp_path):
    env = detect_env(write(tmp_path, {"requirements.txt": "jax[cuda12]\nnumpy\n"}), [])
    assert gpu_reasons(env, []) == ["jax in requirements.txt"]
    write(tmp_path, {"w.yml": "on: push\njobs:\n  a:\n    runs-on: [self-hosted, gpu-a100]\n    steps: [{run: python t.py}]\n"})
    wf = read_workflow(tmp_path / "w.yml", "w.yml")
    assert wf.gpu == ["w.yml runs on [self-hosted, gpu-a100]"]
    assert read_workflow(write(tmp_path, {"bad.yml": "on: [\n"}) / "bad.yml", "bad.yml") is None


@pytest.mark.parametrize("pin, python", [("tensorflow==2.5.0", "3.9"), ("tensorflow-gpu~=2.4", "3.8"),
                                         ("tensorflow==2.9.1", "3.10"), ("tensorflow==1.15", "3.7"),
                                         ("tensorflow==2.16.1", None), ("tensorflow>=2.5", None)])
def test_a_pinned_tensorflow_bounds_the_python(tmp_path, pin, python):
    write(tmp_path, {"requirements.txt": f"numpy\n{pin}\n"})
    env = detect_env(tmp_path, [])
    found, source = detect_python(tmp_path, [], env)
    assert found == python
    if python:
        assert "has no wheels for newer Pythons" in source
    write(tmp_path, {"Dockerfile": "FROM python:3.9-slim\n"})
    assert detect_python(tmp_path, [], env) == ("3.9", "Dockerfile (its python image)")


def test_test_requirements_join_the_install_when_there_are_tests(tmp_path):
    write(tmp_path, {"requirements.txt": "pandas\n", "requirements-dev.txt": "-r requirements.txt\npytest==8.3\n",
                     "requirements/test.txt": "pytest\n"})
    assert detect_env(tmp_path, []).install == "pip install -r requirements.txt"  # no tests: no test tools
    env = detect_env(tmp_path, [], tests=True)
    assert env.install == "pip install -r requirements.txt -r requirements-dev.txt" and env.pytest
