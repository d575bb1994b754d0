"""`ci-mlops init` end to end on real git and DVC repositories in temporary folders."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import git, run_cli

from ci_mlops import __version__
from tests.support.dvc_factory import copy_repo
from tests.support.lint import lint, tool

WF = ".github/workflows"


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file outside .git with its bytes and modification time."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(root).parts[:1]:
            out[path.relative_to(root).as_posix()] = (path.read_bytes(), path.stat().st_mtime_ns)
    return out


def init(repo: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return run_cli("init", str(repo), *args, input=input)


def load(repo: Path, name: str) -> dict:
    return yaml.safe_load((repo / WF / name).read_text())


def step_runs(doc: dict, job: str) -> list[str]:
    return [s.get("run", "") for s in doc["jobs"][job]["steps"]]


@pytest.fixture(scope="module")
def dvc_template(tmp_path_factory, shared_dvc_repo) -> Path:
    return copy_repo(shared_dvc_repo, tmp_path_factory.mktemp("dvc") / "repo")


@pytest.fixture
def dvc_repo(dvc_template, tmp_path) -> Path:
    return copy_repo(dvc_template, tmp_path / "repo")


@pytest.fixture
def plain_repo(git_repo) -> Path:
    """A git repo with a training script, requirements and tests, but no DVC."""
    (git_repo / "src").mkdir()
    (git_repo / "src" / "train.py").write_text("print('training')\n")
    (git_repo / "requirements.txt").write_text("scikit-learn\npytest>=8\n")
    (git_repo / "tests").mkdir()
    (git_repo / "tests" / "test_train.py").write_text("def test_trains():\n    assert True\n")
    (git_repo / ".python-version").write_text("3.12.1\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "code")
    return git_repo


# -- a repo with no DVC ------------------------------------------------------------------


def test_no_dvc_yes_leaves_dvc_out_unless_asked(plain_repo):
    out = init(plain_repo, "--yes")
    assert out.returncode == 0, out.stderr
    assert not (plain_repo / ".dvc").exists() and not (plain_repo / "dvc.yaml").exists()
    assert "dvc init" not in out.stdout
    assert yaml.safe_load((plain_repo / ".ci-mlops.yml").read_text())["train"] == "python src/train.py"


def test_dvc_flag_runs_dvc_init_and_scaffolds_a_stage(plain_repo):
    out = init(plain_repo, "--yes", "--dvc")
    assert out.returncode == 0, out.stderr
    assert (plain_repo / ".dvc").is_dir()
    stage = yaml.safe_load((plain_repo / "dvc.yaml").read_text())["stages"]["train"]
    assert stage == {"cmd": "python src/train.py", "deps": ["src/train.py"]}
    config = yaml.safe_load((plain_repo / ".ci-mlops.yml").read_text())
    assert config["python"] == "3.12" and config["train"] == "dvc repro" and config["test"] == "pytest -q"
    assert config["base"] == "main" and config["deploy"]["target"] == "github-release"
    assert sorted(p.name for p in (plain_repo / WF).iterdir()) == [
        "ci-mlops-comment.yml", "ci-mlops-pr.yml", "ci-mlops-release.yml"]
    runs = step_runs(load(plain_repo, "ci-mlops-pr.yml"), "train")
    assert "dvc repro" in runs and "pytest -q" in runs and "ci-mlops check" in runs
    assert not any(r.startswith("dvc pull") for r in runs)  # no remote yet: nothing to pull
    manifest = json.loads((plain_repo / ".github/ci-mlops.lock").read_text())
    assert manifest["mode"] == "full" and f"{WF}/ci-mlops-pr.yml" in manifest["files"]
    assert ".ci-mlops.yml" not in manifest["files"]  # created once, then it is the user's


def test_no_dvc_flag_leaves_dvc_out(plain_repo):
    out = init(plain_repo, "--yes", "--no-dvc")
    assert out.returncode == 0, out.stderr
    assert not (plain_repo / ".dvc").exists() and not (plain_repo / "dvc.yaml").exists()
    config = yaml.safe_load((plain_repo / ".ci-mlops.yml").read_text())
    assert config["train"] == "python src/train.py"
    text = (plain_repo / WF / "ci-mlops-pr.yml").read_text()
    assert "dvc pull" not in text and "dvc push" not in text


def test_interactive_prompts_use_detected_defaults_and_answers(plain_repo):
    # decline dvc init; accept base and python; own install; keep train; no tests; two labels;
    # docker; confirm writing
    answers = "n\n\n\npip install -e .\n\nnone\nself-hosted,gpu\ndocker\ny\n"
    out = init(plain_repo, input=answers)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Run `dvc init` and scaffold a one-stage dvc.yaml around `python src/train.py`?" in out.stdout
    config = yaml.safe_load((plain_repo / ".ci-mlops.yml").read_text())
    assert config["install"] == "pip install -e ." and config["test"] is False
    assert config["runner"] == ["self-hosted", "gpu"] and config["deploy"]["target"] == "docker"
    assert not (plain_repo / ".dvc").exists()
    assert (plain_repo / ".github/actionlint.yaml").is_file()
    release = load(plain_repo, "ci-mlops-release.yml")
    assert release["jobs"]["release"]["runs-on"] == ["self-hosted", "gpu"]
    assert any("docker/build-push-action" in s.get("uses", "") for s in release["jobs"]["release"]["steps"])


def test_interactive_no_means_nothing_written(plain_repo):
    before = snapshot(plain_repo)
    out = init(plain_repo, "--no-dvc", input="\n\n\n\n\n\n\nn\n")
    assert out.returncode == 2
    assert "aborted" in out.stderr
    assert snapshot(plain_repo) == before


# -- a DVC pipeline with a local remote ----------------------------------------------------


def test_dvc_repo_with_local_remote(dvc_repo):
    out = init(dvc_repo, "--yes")
    assert out.returncode == 0, out.stderr
    assert "remote 'local'" in out.stdout
    doc = load(dvc_repo, "ci-mlops-pr.yml")
    steps = {s["name"]: s for s in doc["jobs"]["train"]["steps"]}
    assert steps["Pull data, models and run-cache from the DVC remote"]["run"] == "dvc pull --run-cache --allow-missing"
    stage = steps["Stage the DVC outputs for the push job"]
    assert stage["run"] == 'ci-mlops outputs stage "$RUNNER_TEMP/ci-mlops/dvc-outputs"'
    # on pushes, once training and tests ran, whatever the gates said
    assert stage["if"] == "${{ !cancelled() && github.event_name == 'push' && steps.check.outcome != 'skipped' }}"
    push = doc["jobs"]["push"]["steps"][-1]
    assert push["run"] == 'ci-mlops outputs push "$RUNNER_TEMP/ci-mlops/dvc-outputs"'
    assert "env" not in push  # a local remote needs no secrets
    # ci-mlops in its own venv and Python; the project's DVC comes from the project's side
    # (and vl-convert, which draws the project's DVC plots for the PR comment)
    assert (f"-m pip install --disable-pip-version-check ci-mlops=={__version__} 'vl-convert-python>=1.9'\n"
            in steps["Install ci-mlops"]["run"])
    assert steps["Set up Python for ci-mlops"]["with"]["update-environment"] is False
    assert steps["Install DVC into the project's environment"]["run"] == "python -m pip install dvc"
    names = list(steps)
    assert names.index("Install DVC into the project's environment") < names.index("Pull data, models and run-cache from the DVC remote")
    on = doc[True]  # YAML 1.1 reads the key `on` as true
    assert on["pull_request"]["branches"] == ["main"] and on["push"]["branches"] == ["main"]


def test_rerun_changes_nothing(dvc_repo):
    assert init(dvc_repo, "--yes").returncode == 0
    before = snapshot(dvc_repo)
    out = init(dvc_repo, "--yes")
    assert out.returncode == 0, out.stderr
    assert "Nothing to change" in out.stdout
    assert snapshot(dvc_repo) == before  # byte-identical, not even rewritten


def test_config_drives_the_workflows_on_rerun(dvc_repo):
    assert init(dvc_repo, "--yes").returncode == 0
    config = yaml.safe_load((dvc_repo / ".ci-mlops.yml").read_text())
    config["deploy"]["target"] = "none"
    config["drift"] = {"reference": "data/raw.csv", "current": "data/live.csv", "fetch": "python fetch.py"}
    config["dvc"] = {"secrets": ["AWS_ACCESS_KEY_ID"]}
    (dvc_repo / ".ci-mlops.yml").write_text(yaml.safe_dump(config))
    out = init(dvc_repo, "--yes", "--deploy", "docker")
    assert out.returncode == 0, out.stderr
    assert "deploy.target stays 'none'" in out.stderr
    assert not (dvc_repo / WF / "ci-mlops-release.yml").exists()  # ours and unedited: removed
    monitor = load(dvc_repo, "ci-mlops-monitor.yml")
    assert monitor["jobs"]["drift"]["permissions"] == {"contents": "read", "issues": "write"}
    runs = step_runs(monitor, "drift")
    assert "dvc pull -- data/raw.csv" in runs and "python fetch.py" in runs and runs[-1] == "ci-mlops drift --issue"
    pull = next(s for s in monitor["jobs"]["drift"]["steps"] if s.get("run", "").startswith("dvc pull"))
    assert pull["env"] == {"AWS_ACCESS_KEY_ID": "${{ secrets.AWS_ACCESS_KEY_ID }}"}


def test_monorepo_reproduces_all_pipelines(git_repo):
    repo = git_repo  # two pipelines in one DVC project; detection reads files, so no `dvc repro` needed
    (repo / ".dvc").mkdir()
    (repo / ".dvc" / "config").write_text("[core]\n    autostage = true\n")
    (repo / "dvc.yaml").write_text("stages:\n  train:\n    cmd: python train.py\n    metrics: [metrics.json]\n")
    (repo / "pipelines" / "churn").mkdir(parents=True)
    (repo / "pipelines" / "churn" / "dvc.yaml").write_text(
        "stages:\n  score:\n    cmd: python score.py\n    wdir: ..\n    outs: [churn/model.pkl]\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "two pipelines")
    out = init(repo, "--yes")
    assert out.returncode == 0, out.stderr
    assert "DVC with 2 dvc.yaml files, no remote" in out.stdout
    assert yaml.safe_load((repo / ".ci-mlops.yml").read_text())["train"] == "dvc repro --all-pipelines"
    runs = step_runs(load(repo, "ci-mlops-pr.yml"), "train")
    assert "dvc repro --all-pipelines" in runs
    assert not any("dvc pull" in r or "dvc push" in r for r in runs)


# -- never clobber ---------------------------------------------------------------------


def test_user_workflows_are_never_touched(plain_repo):
    (plain_repo / WF).mkdir(parents=True)
    (plain_repo / WF / "ci.yml").write_text("name: mine\n")
    (plain_repo / WF / "ci-mlops-pr.yml").write_text("name: my own file with that name\n")
    out = init(plain_repo, "--yes", "--no-dvc")
    assert out.returncode == 0, out.stderr
    assert "2 workflows of yours (left alone)" in out.stdout
    assert (plain_repo / WF / "ci.yml").read_text() == "name: mine\n"
    assert (plain_repo / WF / "ci-mlops-pr.yml").read_text() == "name: my own file with that name\n"
    assert "yours: not generated by ci-mlops; rename or delete it to let init write it" in out.stdout
    assert "ci-mlops-pr.yml" not in json.loads((plain_repo / ".github/ci-mlops.lock").read_text())["files"]
    before = snapshot(plain_repo)
    out = init(plain_repo, "--yes", "--force")  # --force is for our files the user edited, not theirs
    assert out.returncode == 0, out.stderr
    assert "  yours      .github/workflows/ci-mlops-pr.yml" in out.stdout
    assert snapshot(plain_repo) == before


def test_edited_file_is_kept_unless_force_and_deleted_stays_deleted(plain_repo):
    assert init(plain_repo, "--yes", "--no-dvc").returncode == 0
    assert init(plain_repo, "--yes").returncode == 0  # the first run's --no-dvc is respected
    assert not (plain_repo / ".dvc").exists()
    pr = plain_repo / WF / "ci-mlops-pr.yml"
    edited = pr.read_text().replace("timeout-minutes: 60", "timeout-minutes: 90")
    pr.write_text(edited)
    (plain_repo / WF / "ci-mlops-release.yml").unlink()
    before = snapshot(plain_repo)

    out = init(plain_repo, "--yes")
    assert out.returncode == 0, out.stderr
    assert "kept (edited by you; nothing new to merge)" in out.stdout
    assert "kept deleted" in out.stdout
    assert snapshot(plain_repo) == before

    out = init(plain_repo, "--yes", "--force")
    assert out.returncode == 0, out.stderr
    assert "timeout-minutes: 60" in pr.read_text()
    assert (plain_repo / WF / "ci-mlops-release.yml").is_file()
    assert init(plain_repo, "--yes").stdout.count("unchanged") == 3


def _edit_config(repo: Path, key: str, value: object) -> None:
    config = repo / ".ci-mlops.yml"
    data = yaml.safe_load(config.read_text())
    data[key] = value
    config.write_text(yaml.safe_dump(data, sort_keys=False))


def test_a_user_edit_and_a_config_change_merge(plain_repo):
    assert init(plain_repo, "--yes", "--no-dvc").returncode == 0
    pr = plain_repo / WF / "ci-mlops-pr.yml"
    # the user adds a step of their own and a comment near the top
    mine = pr.read_text().replace("      - name: Check the quality gates\n",
                                  "      - name: Lint\n        run: ruff check .\n\n"
                                  "      - name: Check the quality gates\n", 1)
    mine = mine.replace("name: ci-mlops PR\n", "name: ci-mlops PR\n# our team's note\n", 1)
    pr.write_text(mine)
    _edit_config(plain_repo, "timeout_minutes", 90)

    out = init(plain_repo, "--yes")
    assert out.returncode == 0, out.stderr
    assert "  merge      .github/workflows/ci-mlops-pr.yml" in out.stdout
    merged = pr.read_text()
    assert "ruff check ." in merged and "# our team's note" in merged  # the user's edits stay
    assert "timeout-minutes: 90" in merged and "timeout-minutes: 60" not in merged  # the setting applies
    lock = json.loads((plain_repo / ".github/ci-mlops.lock").read_text())
    entry = lock["files"][".github/workflows/ci-mlops-pr.yml"]
    assert "timeout-minutes: 90" in entry["generated"] and "ruff" not in entry["generated"]  # the next base

    before = snapshot(plain_repo)
    out = init(plain_repo, "--yes")
    assert out.returncode == 0 and "nothing new to merge" in out.stdout, out.stdout
    assert "Nothing to change" in out.stdout and snapshot(plain_repo) == before


def test_a_conflicting_edit_is_shown_left_untouched_and_exits_1(plain_repo):
    assert init(plain_repo, "--yes", "--no-dvc").returncode == 0
    pr = plain_repo / WF / "ci-mlops-pr.yml"
    pr.write_text(pr.read_text().replace("timeout-minutes: 60", "timeout-minutes: 45  # ours"))
    release = plain_repo / WF / "ci-mlops-release.yml"
    release.write_text(release.read_text() + "# a note\n")
    _edit_config(plain_repo, "timeout_minutes", 90)
    _edit_config(plain_repo, "python", "3.13")
    lock_before = (plain_repo / ".github/ci-mlops.lock").read_text()
    pr_before = pr.read_bytes()

    out = init(plain_repo, "--yes")
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "  conflict   .github/workflows/ci-mlops-pr.yml" in out.stdout
    assert "<<<<<<< your edits" in out.stdout and ">>>>>>> generated now" in out.stdout
    assert "+    timeout-minutes: 90" in out.stdout or "timeout-minutes: 90" in out.stdout
    assert "ci-mlops-pr.yml: your edits conflict with the new rendering" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert pr.read_bytes() == pr_before  # untouched
    # what merges cleanly is applied: the edited release workflow takes the new Python too
    assert "  merge      .github/workflows/ci-mlops-release.yml" in out.stdout
    assert '"3.13"' in release.read_text() and release.read_text().endswith("# a note\n")
    lock = json.loads((plain_repo / ".github/ci-mlops.lock").read_text())
    old = json.loads(lock_before)["files"][".github/workflows/ci-mlops-pr.yml"]
    entry = lock["files"][".github/workflows/ci-mlops-pr.yml"]
    assert entry["generated"] == old["generated"]  # the base stays until the user merges

    # run again without touching the file: the same conflict, still exit 1
    again = init(plain_repo, "--yes")
    assert again.returncode == 1 and "<<<<<<< your edits" in again.stdout
    assert pr.read_bytes() == pr_before

    # merged by hand (the user keeps 45 and takes the new Python): that edit is the merge
    pr.write_text(pr.read_text().replace('"3.12"', '"3.13"'))
    resolved = pr.read_text()
    out = init(plain_repo, "--yes")
    assert out.returncode == 0, (out.stdout, out.stderr)
    assert "your merge of the last conflict" in out.stdout
    assert pr.read_text() == resolved and "timeout-minutes: 45  # ours" in resolved
    entry = json.loads((plain_repo / ".github/ci-mlops.lock").read_text())["files"][".github/workflows/ci-mlops-pr.yml"]
    assert "timeout-minutes: 90" in entry["generated"] and "conflict" not in entry  # the next base
    assert "nothing new to merge" in init(plain_repo, "--yes").stdout


def test_a_template_change_from_a_newer_version_merges_into_an_edited_file(plain_repo):
    assert init(plain_repo, "--yes", "--no-dvc").returncode == 0
    pr = plain_repo / WF / "ci-mlops-pr.yml"
    current = pr.read_text()
    # what an older ci-mlops generated: another step name and comment (the template changed since)
    older = current.replace("      - name: Check the quality gates\n", "      - name: Quality gates\n", 1)
    older = older.replace("# quality gates, and post one sticky PR comment", "# gates, and post one sticky PR comment", 1)
    assert older != current
    lock_path = plain_repo / ".github/ci-mlops.lock"
    lock = json.loads(lock_path.read_text())
    from ci_mlops.scaffold.write import sha256

    lock["files"][".github/workflows/ci-mlops-pr.yml"].update(generated=older, sha256=sha256(older))
    lock_path.write_text(json.dumps(lock, indent=2) + "\n")
    pr.write_text(older.replace("timeout-minutes: 60", "timeout-minutes: 60  # agreed with ops"))

    out = init(plain_repo, "--yes")
    assert out.returncode == 0, (out.stdout, out.stderr)
    assert "  merge      .github/workflows/ci-mlops-pr.yml" in out.stdout
    merged = pr.read_text()
    assert "      - name: Check the quality gates\n" in merged and "Quality gates" not in merged
    assert "timeout-minutes: 60  # agreed with ops" in merged
    assert merged == current.replace("timeout-minutes: 60", "timeout-minutes: 60  # agreed with ops")


def test_a_lock_without_recorded_bases_keeps_edits_as_before(plain_repo):
    assert init(plain_repo, "--yes", "--no-dvc").returncode == 0
    lock_path = plain_repo / ".github/ci-mlops.lock"
    lock = json.loads(lock_path.read_text())
    for entry in lock["files"].values():
        entry.pop("generated")
    lock_path.write_text(json.dumps(lock, indent=2) + "\n")
    pr = plain_repo / WF / "ci-mlops-pr.yml"
    pr.write_text(pr.read_text() + "# mine\n")
    _edit_config(plain_repo, "timeout_minutes", 90)
    out = init(plain_repo, "--yes")
    assert out.returncode == 0, out.stderr
    assert "kept (edited by you; --force to overwrite)" in out.stdout
    assert pr.read_text().endswith("# mine\n") and "timeout-minutes: 60" in pr.read_text()


def test_dry_run_never_asks(plain_repo):
    before = snapshot(plain_repo)
    out = init(plain_repo, "--dry-run", input="")  # no answers available: a prompt would abort
    assert out.returncode == 0, (out.stdout, out.stderr)
    assert "?" not in out.stdout.split("Dry run")[0].splitlines()[-1]
    assert "+++ b/.github/workflows/ci-mlops-pr.yml" in out.stdout and "Dry run: nothing written." in out.stdout
    assert snapshot(plain_repo) == before


def test_dry_run_shows_a_diff_and_writes_nothing(plain_repo):
    before = snapshot(plain_repo)
    out = init(plain_repo, "--yes", "--dvc", "--dry-run")
    assert out.returncode == 0, out.stderr
    assert "+++ b/.github/workflows/ci-mlops-pr.yml" in out.stdout
    assert "--- /dev/null" in out.stdout and "+name: ci-mlops PR" in out.stdout
    assert "run        dvc init" in out.stdout and "Dry run: nothing written." in out.stdout
    assert snapshot(plain_repo) == before

    assert init(plain_repo, "--yes", "--no-dvc").returncode == 0
    config = plain_repo / ".ci-mlops.yml"
    config.write_text(config.read_text().replace('python: "3.12"', 'python: "3.13"'))
    before = snapshot(plain_repo)
    out = init(plain_repo, "--dry-run")
    assert out.returncode == 0, out.stderr
    assert '-          python-version: "3.12"' in out.stdout and '+          python-version: "3.13"' in out.stdout
    assert snapshot(plain_repo) == before


# -- modes and runners -------------------------------------------------------------------


def test_reusable_mode_writes_pinned_callers_and_is_remembered(dvc_repo):
    sha = "a" * 40
    out = init(dvc_repo, "--yes", "--mode", "reusable", "--workflows-ref", f"acme/ci-mlops@{sha}")
    assert out.returncode == 0, out.stderr
    doc = load(dvc_repo, "ci-mlops-pr.yml")
    job = doc["jobs"]["pr"]
    assert job["uses"] == f"acme/ci-mlops/.github/workflows/reusable-pr.yml@{sha}"
    assert job["with"]["dvc-pull"] is True and job["with"]["train"] == "dvc repro"
    assert "# v" in (dvc_repo / WF / "ci-mlops-pr.yml").read_text().split(sha)[1].splitlines()[0]
    assert "steps" not in job
    # the mode is remembered; the comment workflow stays a full one (it needs workflow_run here)
    out = init(dvc_repo, "--yes", "--workflows-ref", f"acme/ci-mlops@{sha}")
    assert "Nothing to change" in out.stdout
    assert "workflow_run" in (dvc_repo / WF / "ci-mlops-comment.yml").read_text()


def test_self_hosted_runner_labels_lint_clean_in_the_repo(plain_repo):
    out = init(plain_repo, "--yes", "--no-dvc", "--runner", "self-hosted", "--runner", "gpu", "--deploy", "custom")
    assert out.returncode == 0, out.stderr
    assert yaml.safe_load((plain_repo / ".github/actionlint.yaml").read_text())["self-hosted-runner"]["labels"] == ["gpu"]
    # actionlint run inside the repo finds the generated .github/actionlint.yaml itself
    proc = subprocess.run([tool("actionlint"), "-no-color"], cwd=plain_repo, capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{Path(tool('actionlint')).parent}:{os.environ['PATH']}"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert lint(sorted((plain_repo / WF).glob("*.yml")), actionlint_config=plain_repo / ".github/actionlint.yaml") == []


# -- bad input: one line, exit 2, nothing written -------------------------------------------


def assert_user_error(out: subprocess.CompletedProcess, needle: str) -> None:
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_not_a_git_repo(tmp_path):
    assert_user_error(init(tmp_path, "--yes"), "not a git repository")
    assert list(tmp_path.iterdir()) == []


def test_bare_repo(tmp_path):
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    before = snapshot(bare)
    assert_user_error(init(bare, "--yes"), "bare git repository")
    assert snapshot(bare) == before


@pytest.mark.parametrize("content, needle", [
    ("deploy: {target: moon}\n", "deploy.target: 'moon' is not one of"),
    ("version: 1\n  bad: [\n", "invalid YAML"),
    ("metrcs: {}\n", "did you mean 'metrics'"),
])
def test_invalid_config(plain_repo, content, needle):
    (plain_repo / ".ci-mlops.yml").write_text(content)
    before = snapshot(plain_repo)
    assert_user_error(init(plain_repo, "--yes"), needle)
    assert snapshot(plain_repo) == before


def test_unreadable_config(plain_repo):
    (plain_repo / ".ci-mlops.yml").mkdir()
    assert_user_error(init(plain_repo, "--yes"), "cannot read")
    assert not (plain_repo / ".github").exists() and not (plain_repo / ".dvc").exists()


def test_dvcyaml_that_does_not_parse(dvc_repo):
    (dvc_repo / "dvc.yaml").write_text("stages:\n  train:\n    cmd: [unclosed\n")
    before = snapshot(dvc_repo)
    assert_user_error(init(dvc_repo, "--yes"), "dvc.yaml:")
    assert snapshot(dvc_repo) == before


def test_reusable_mode_refuses_secrets_it_cannot_pass(dvc_repo):
    (dvc_repo / ".ci-mlops.yml").write_text("dvc: {secrets: [MY_TOKEN]}\n")
    before = snapshot(dvc_repo)
    assert_user_error(init(dvc_repo, "--yes", "--mode", "reusable"), "MY_TOKEN cannot be passed")
    assert snapshot(dvc_repo) == before


def test_bad_workflows_ref(dvc_repo):
    assert_user_error(init(dvc_repo, "--yes", "--mode", "reusable", "--workflows-ref", "acme/x@main"),
                      "--workflows-ref")


def test_unanswered_question_is_one_line_and_writes_nothing(tmp_path):
    repo = tmp_path / "plain"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text("print('training')\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    out = run_cli("init", cwd=repo, input="")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        ("ci-mlops: error: stopped before writing anything: a question went unanswered "
        "(pass --yes to accept the detected defaults)")]
    assert git(repo, "status", "--porcelain") == ""


def test_dockerfile_only_when_asked_and_never_overwritten(dvc_repo):
    assert init(dvc_repo, "--yes", "--deploy", "docker").returncode == 0
    assert not (dvc_repo / "Dockerfile").exists()
    out = init(dvc_repo, "--yes", "--dockerfile")
    assert out.returncode == 0, out.stderr
    text = (dvc_repo / "Dockerfile").read_text()
    assert "COPY models/model.pkl /app/models/model.pkl" in text and text.startswith("# Minimal model image")
    (dvc_repo / "Dockerfile").write_text("FROM scratch\n")
    assert init(dvc_repo, "--yes", "--dockerfile", "--force").returncode == 0
    assert (dvc_repo / "Dockerfile").read_text() == "FROM scratch\n"  # yours from the first write on


def test_dockerfile_needs_the_docker_target(dvc_repo):
    out = init(dvc_repo, "--yes", "--deploy", "github-release", "--dockerfile")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "ci-mlops: error: --dockerfile goes with the docker deploy target (--deploy docker, or deploy.target: docker)"]
    assert not (dvc_repo / ".ci-mlops.yml").exists()


# -- audit fixes: honest counts, where init is pointed, dangling links ----------------------


def test_done_counts_removals_and_the_lock(plain_repo):
    assert init(plain_repo, "--yes", "--no-dvc").returncode == 0
    config = plain_repo / ".ci-mlops.yml"
    config.write_text(config.read_text().replace("target: github-release", "target: none"))
    out = init(plain_repo, "--yes")
    assert out.returncode == 0, out.stderr
    assert "Done: 1 file removed, .github/ci-mlops.lock updated." in out.stdout
    assert not (plain_repo / WF / "ci-mlops-release.yml").exists()

    lock = plain_repo / ".github/ci-mlops.lock"
    data = json.loads(lock.read_text())
    lock.write_text(json.dumps({**data, "ci_mlops_version": "0.0.1"}, indent=2) + "\n")
    out = init(plain_repo, "--yes")
    assert out.returncode == 0, out.stderr
    assert "Done: .github/ci-mlops.lock updated." in out.stdout
    assert json.loads(lock.read_text()) == data


@pytest.mark.parametrize("inside", [".git", ".git/refs"])
def test_pointed_at_the_git_dir_names_the_work_tree(git_repo, inside):
    before = snapshot(git_repo)
    out = init(git_repo / inside, "--yes")
    assert out.returncode == 2
    assert out.stderr == (f"ci-mlops: error: {git_repo / inside}: is in git's own .git directory; "
                          f"point init at the work tree ({git_repo})\n")
    assert snapshot(git_repo) == before


def test_dangling_config_symlink_is_refused(git_repo):
    (git_repo / ".ci-mlops.yml").symlink_to("shared/ci-mlops.yml")
    out = init(git_repo, "--yes", "--no-dvc")
    assert out.returncode == 2
    assert out.stderr == ("ci-mlops: error: .ci-mlops.yml: a symbolic link to shared/ci-mlops.yml, "
                          "which does not exist; fix or remove the link\n")
    assert (git_repo / ".ci-mlops.yml").is_symlink() and not (git_repo / ".github").exists()


def test_dangling_workflow_symlink_is_refused(plain_repo):
    (plain_repo / WF).mkdir(parents=True)
    (plain_repo / WF / "ci-mlops-pr.yml").symlink_to("../../elsewhere.yml")
    out = init(plain_repo, "--yes", "--no-dvc", "--force")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "ci-mlops-pr.yml: a symbolic link to ../../elsewhere.yml" in out.stderr
    assert (plain_repo / WF / "ci-mlops-pr.yml").is_symlink() and not (plain_repo / ".ci-mlops.yml").exists()


# -- no step for what the repository does not have ------------------------------------------


def step_names(doc: dict, job: str) -> list[str]:
    return [s.get("name", "") for s in doc["jobs"][job]["steps"]]


def test_empty_repo_gets_no_install_train_or_test_step(git_repo):
    out = init(git_repo, "--yes", "--no-dvc")
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    config = yaml.safe_load((git_repo / ".ci-mlops.yml").read_text())
    assert (config["install"], config["train"], config["test"]) == (False, False, False)
    pr = step_names(load(git_repo, "ci-mlops-pr.yml"), "train")
    assert "Install ci-mlops" in pr and not {"Install dependencies", "Train", "Test"} & set(pr)
    release = load(git_repo, "ci-mlops-release.yml")
    assert all("Install dependencies" not in step_names(release, job) for job in release["jobs"]
               if "steps" in release["jobs"][job])
    assert lint(sorted((git_repo / WF).glob("*.yml"))) == []


def test_minimal_config_uses_what_was_detected(git_repo):
    (git_repo / ".ci-mlops.yml").write_text("version: 1\n")
    assert init(git_repo, "--yes", "--no-dvc").returncode == 0
    pr = step_names(load(git_repo, "ci-mlops-pr.yml"), "train")
    assert not {"Install dependencies", "Train", "Test"} & set(pr)

    (git_repo / "requirements.txt").write_text("pandas\npytest\n")
    (git_repo / "train.py").write_text("print(1)\n")
    (git_repo / "tests").mkdir()
    (git_repo / "tests" / "test_x.py").write_text("def test_x():\n    pass\n")
    out = init(git_repo, "--yes")
    assert out.returncode == 0 and out.stderr == ""
    runs = step_runs(load(git_repo, "ci-mlops-pr.yml"), "train")
    assert {"pip install -r requirements.txt", "python train.py", "pytest -q"} <= set(runs)
    assert (git_repo / ".ci-mlops.yml").read_text() == "version: 1\n"


def test_configured_false_wins_over_detection(plain_repo):
    (plain_repo / ".ci-mlops.yml").write_text("version: 1\ninstall: false\ntrain: ''\ntest: false\n")
    assert init(plain_repo, "--yes", "--no-dvc").returncode == 0
    pr = step_names(load(plain_repo, "ci-mlops-pr.yml"), "train")
    assert not {"Install dependencies", "Train", "Test"} & set(pr)


def test_missing_script_or_requirements_is_a_warning(git_repo):
    (git_repo / ".ci-mlops.yml").write_text(
        "version: 1\ninstall: pip install -r requirements/ci.txt\ntrain: python src/fit.py --fast\n")
    out = init(git_repo, "--yes", "--no-dvc")
    assert out.returncode == 0
    assert out.stderr.splitlines() == [
        ("warning: .ci-mlops.yml:2: install: requirements/ci.txt does not exist; "
        "the workflow's Install dependencies step will fail"),
        "warning: .ci-mlops.yml:3: train: src/fit.py does not exist; the workflow's Train step will fail",
    ]
    assert "python src/fit.py --fast" in step_runs(load(git_repo, "ci-mlops-pr.yml"), "train")


def test_reusable_callers_pass_empty_commands(git_repo):
    sha = "0123456789abcdef0123456789abcdef01234567"
    out = init(git_repo, "--yes", "--no-dvc", "--mode", "reusable", "--workflows-ref", f"acme/ci-mlops@{sha}")
    assert out.returncode == 0, out.stderr
    job = load(git_repo, "ci-mlops-pr.yml")["jobs"]["pr"]
    assert job["with"]["install"] == "" and job["with"]["train"] == "" and job["with"]["test"] == ""


def test_install_false_is_valid_and_other_types_are_not():
    from ci_mlops.config import parse_config

    assert parse_config("install: false\ntrain: false\n").settings.install is False
    with pytest.raises(Exception, match=r"train: true is not valid here"):
        parse_config("train: true\n")
