"""Config values cannot inject shell, Actions expressions or YAML into generated workflows.

Each attack from the security audit is refused by `ci-mlops init` in one line naming the
key, before anything is written; a planned file that does not parse is refused too.
"""

from __future__ import annotations

import pytest
from conftest import run_cli

from ci_mlops.config import parse_config, schema
from ci_mlops.errors import UserError
from ci_mlops.scaffold.plan import PlannedFile, check_parses

ATTACKS = [
    ("dvc: {remote: 'demo; id'}\n", "dvc.remote: 'demo; id' is not a DVC remote name"),
    ("comment: {marker: '$(id)'}\n", "comment.marker: '$(id)' is not a comment marker"),
    ("comment: {marker: '${{ github.event.workflow_run.head_branch }}'}\n", "comment.marker: "),
    ("train: 'echo ${{ github.event.pull_request.title }} && dvc repro'\n", "train: 'echo ${{ github"),
    ("drift: {reference: a.csv, current: b.csv, fetch: 'curl ${{ github.event.inputs.url }}'}\n", "drift.fetch: "),
    ("deploy: {target: custom, command: 'echo ${{ github.event.head_commit.message }}'}\n", "deploy.command: "),
    ('dvc: {secrets: ["A }}\\n          B: ${{ github.token"]}\n', "dvc.secrets.0: "),
    ('deploy: {environment: "prod\\n    runs-on: evil"}\n', "deploy.environment: "),
    ("deploy: {environment: '${{ github.ref_name }}'}\n", "deploy.environment: "),
    ("runner: [self-hosted, '${{ github.head_ref }}']\n", "runner.1: '${{ github.head_ref }}' is not a runner label"),
    ("runner: [self-hosted, 'gpu,large']\n", "runner.1: 'gpu,large' is not a runner label"),
    ("base: '${{ github.head_ref }}'\n", "base: '${{ github.head_ref }}' is not a git branch name"),
    ("base: '*'\n", "base: '*' is not a git branch name"),
    ("python: \"3.11\\\"\\n          evil: \\\"x\"\n", "python: "),
    ("drift: {reference: a.csv, current: b.csv, schedule: every monday}\n",
     "drift.schedule: 'every monday' is not a cron schedule"),
]


# The same rules on other keys, checked without a subprocess.
MORE = [
    ("install: 'pip install ${{ github.head_ref }}'\n", "install: "),
    ("test: 'pytest -k ${{ github.head_ref }}'\n", "test: "),
    ("dvc: {secrets: ['AWS KEY']}\n", "dvc.secrets.0: 'AWS KEY' is not a secret name"),
    ("runner: 'gpu,large'\n", "runner: 'gpu,large' is not a runner label"),
    ("drift: {reference: 'data/${{ github.head_ref }}.csv', current: b.csv}\n", "drift.reference: "),
    ("deploy: {target: docker, docker: {registry: 'ghcr.io; id'}}\n", "deploy.docker.registry: "),
    ("deploy: {target: docker, docker: {image: 'a b'}}\n", "deploy.docker.image: "),
    ("data: {'x${{ github.head_ref }}.csv': {rows: {min: 1}}}\n", "data: "),
]


@pytest.mark.parametrize("content, needle", MORE)
def test_more_values_that_would_inject_are_refused(content, needle):
    with pytest.raises(UserError) as info:
        parse_config(content)
    assert needle in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("content, needle", ATTACKS, ids=[a[1].split(":")[0] + f"-{i}" for i, a in enumerate(ATTACKS)])
def test_init_refuses_an_injecting_value_in_one_line_writing_nothing(git_repo, content, needle):
    (git_repo / ".ci-mlops.yml").write_text(content)
    before = sorted(p.relative_to(git_repo).as_posix() for p in git_repo.rglob("*") if ".git" not in p.parts)
    out = run_cli("init", str(git_repo), "--yes", "--no-dvc")
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr
    assert lines[0].startswith(f"ci-mlops: error: {git_repo / '.ci-mlops.yml'}:1: ")
    assert "Traceback" not in out.stderr and "^" not in lines[0]  # words, never a regex
    after = sorted(p.relative_to(git_repo).as_posix() for p in git_repo.rglob("*") if ".git" not in p.parts)
    assert after == before


@pytest.mark.parametrize("text", [
    "base: release/2.x\npython: pypy3.10\nrunner: [self-hosted, gpu_a100, linux.x64]\n",
    "dvc: {remote: my-remote.1, secrets: [AWS_ACCESS_KEY_ID, _X1]}\ncomment: {marker: team/churn.v2}\n",
    "train: 'python train.py --name \"a b\" && echo ''ok: yes'' # note'\ntest: false\n",
    "drift: {reference: 'data/train set.csv', current: data/live.csv, schedule: '*/15 0-6 1,15 JAN-MAR MON-FRI'}\n",
    "deploy: {environment: prod eu-1, docker: {registry: 'registry.example.com:5000', image: Team/churn_model}}\n",
    "data: {'data/raw file.csv': {rows: {min: 1}}}\n",
])
def test_legitimate_values_still_validate(text):
    parse_config(text)


def _nodes(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def test_every_pattern_in_the_schema_has_a_hint_in_words():
    patterned = [n for n in _nodes(schema()) if "pattern" in n]
    assert len(patterned) >= 20
    for node in patterned:
        hint = node.get("x-hint", "")
        assert hint.startswith(("is not", "contains")) and "\\" not in hint, node


def test_schema_stays_valid_for_editors():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(schema())


# -- the backstop: every planned YAML file must parse with its expected top level ----------------

GOOD_WORKFLOW = "name: x\non: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: []\n"


def test_check_parses_accepts_generated_shapes():
    check_parses([PlannedFile(".github/workflows/a.yml", GOOD_WORKFLOW, "t"),
                  PlannedFile("dvc.yaml", "stages: {}\n", "t"),
                  PlannedFile(".ci-mlops.yml", "version: 1\n", "t"),
                  PlannedFile("Dockerfile", "FROM scratch\n: [", "t")])  # not YAML: not checked


@pytest.mark.parametrize("path, content, needle", [
    (".github/workflows/a.yml", GOOD_WORKFLOW + "    run: [\n", "would not be valid YAML"),
    (".github/workflows/a.yml", GOOD_WORKFLOW.replace("permissions: {}\n", ""), "expected shape"),
    (".github/workflows/a.yml", GOOD_WORKFLOW + "runs-on: evil\n", "expected shape"),
    (".github/workflows/a.yml", "name: x\non: push\npermissions: {}\njobs:\n  a: evil\n", "expected shape"),
    (".github/workflows/a.yml", "- a\n", "expected shape"),
    ("dvc.yaml", "stage: {}\n", "expected shape"),
])
def test_check_parses_refuses_broken_or_reshaped_files(path, content, needle):
    with pytest.raises(UserError, match=needle) as info:
        check_parses([PlannedFile(path, content, "t")])
    assert "\n" not in str(info.value) and str(info.value).startswith(path)

