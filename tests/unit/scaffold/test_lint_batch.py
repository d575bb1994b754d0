"""The batched linters still fail, and against the right variant.

The template matrix is linted in one process per linter over every variant, with shellcheck
asked once per distinct script (tests/support/lint.py). Here a finding is planted in one
variant among several for each of the three linters (and in two variants for shellcheck,
whose answer is given once and reused), and the findings must name that variant, the linter
and the rule, and no clean variant. And shellcheck asked once per question answers every
question as shellcheck itself does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ci_mlops.config import parse_config
from ci_mlops.scaffold.gitlab import plan_gitlab
from ci_mlops.scaffold.plan import WorkflowRef, plan_files, workflow_context
from tests.support.lint import SHELLCHECK_ONCE, gitlab_ci, lint, shellcheck_available
from tests.support.repo_facts import sample_facts

REF = WorkflowRef("ci-mlops/ci-mlops", "0" * 40, "0.1.0")
# config texts whose PR workflows differ, and share steps (the "Train" step is `dvc repro` in all)
CONFIGS = {
    "plain": "version: 1\n",
    "keys": "dvc: {remote: storage, secrets: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]}\n",
    "drifting": "drift: {reference: data/train.csv, current: data/train.csv}\n",
    "hosted": "runner: [ubuntu-24.04]\npython: '3.12'\n",
    "released": "deploy: {target: docker}\n",
}
GITLAB = {"plain": "version: 1\n", "keys": CONFIGS["keys"], "tagged": "gitlab: {tags: [gpu]}\n"}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict[str, Path]:
    """Each variant's PR workflow, as init writes it: clean for all three linters."""
    out = tmp_path_factory.mktemp("clean")
    files = {}
    for name, text in CONFIGS.items():
        [pr] = [p for p in plan_files(workflow_context(parse_config(text), sample_facts()), "full", REF)
                if p.path == ".github/workflows/ci-mlops-pr.yml"]
        files[name] = out / name / "ci-mlops-pr.yml"
        files[name].parent.mkdir()
        files[name].write_text(pr.content)
    return files


def planted(clean: dict[str, Path], tmp_path: Path, plant: dict[str, tuple[str, str]]) -> list[Path]:
    """A copy of the variants with ``old`` replaced by ``new`` (once) in the file of each variant in ``plant``."""
    paths = []
    for name, path in clean.items():
        copy = tmp_path / name / path.name
        copy.parent.mkdir()
        shutil.copy(path, copy)
        if name in plant:
            old, new = plant[name]
            text = copy.read_text()
            assert old in text, (name, old)
            copy.write_text(text.replace(old, new, 1))
        paths.append(copy)
    return paths


def named(findings: list[str], linter: str, pattern: str) -> set[str]:
    """The variants named by ``linter``'s findings that match ``pattern``."""
    return {variant for line in findings if line.startswith(f"{linter}:") and re.search(pattern, line)
            for variant in [*CONFIGS, *GITLAB] if f"{variant}/" in line}


@pytest.mark.lint
def test_zizmor_and_actionlint_findings_name_their_variant(clean, tmp_path):
    if not shellcheck_available():
        pytest.skip("shellcheck is not installed (.ci/setup installs it): actionlint runs no shell checks")
    files = planted(clean, tmp_path, {
        # zizmor (artipacked): the checkout keeps its token in .git/config
        "keys": ("          persist-credentials: false\n", ""),
        # actionlint: a runner label GitHub does not have
        "hosted": ("runs-on: ubuntu-24.04", "runs-on: ubuntu-18.10"),
        # shellcheck through actionlint, the same script in two variants: asked once, reported for both
        "drifting": ("run: dvc repro\n", "run: dvc repro $TARGETS\n"),
        "released": ("run: dvc repro\n", "run: dvc repro $TARGETS\n"),
    })
    findings = lint(files)
    assert named(findings, "zizmor", r"ci-mlops-pr\.yml:\d+: artipacked") == {"keys"}, findings
    assert named(findings, "zizmor", "") == {"keys"}, findings
    assert named(findings, "actionlint", r'label "ubuntu-18\.10" is unknown') == {"hosted"}, findings
    assert named(findings, "actionlint", r"ci-mlops-pr\.yml:\d+:\d+: shellcheck reported issue .*SC2086") == {
        "drifting", "released"}, findings
    assert named(findings, "actionlint", "") == {"hosted", "drifting", "released"}, findings
    assert not any(line.startswith("check-jsonschema") for line in findings), findings


@pytest.mark.lint
def test_a_schema_finding_and_a_file_that_is_not_yaml_name_their_variants(clean, tmp_path):
    files = planted(clean, tmp_path, {
        "drifting": ("    timeout-minutes: 60\n", "    timeout-minutes: 60\n    environment: {name: staging, url: 5}\n"),
        "plain": ("jobs:\n", "jobs: [\n"),
    })
    findings = lint(files)
    schema = "check-jsonschema vendor.github-workflows"
    assert named(findings, schema, r"ci-mlops-pr\.yml: \$\.jobs\.train\.environment(\.url)?: 5 is not of type 'string'") == {
        "drifting"}, findings
    assert named(findings, schema, r"ci-mlops-pr\.yml: Failed to parse") == {"plain"}, findings
    assert named(findings, "actionlint", r"ci-mlops-pr\.yml:\d+:\d+: could not parse as YAML") == {"plain"}, findings
    # zizmor audits nothing when a file is not a workflow it can read (--strict-collection), and says which
    assert named(findings, "zizmor", "failed to load") & {"drifting", "plain"}, findings
    assert named(findings, "zizmor", "") <= {"drifting", "plain"}, findings


@pytest.mark.lint
def test_a_gitlab_schema_finding_names_its_variant(tmp_path):
    paths = []
    for name, text in GITLAB.items():
        config = parse_config(text)
        [pipeline, _] = plan_gitlab(workflow_context(config, sample_facts()), config, tmp_path)
        path = tmp_path / name / "ci-mlops.yml"
        path.parent.mkdir()
        content = pipeline.content
        if name == "keys":
            assert "\n  stage: test\n" in content
            content = content.replace("\n  stage: test\n", "\n  stage: test\n  when: sometimes\n", 1)
        path.write_text(content)
        paths.append(path)
    findings = gitlab_ci(paths)
    assert named(findings, "check-jsonschema vendor.gitlab-ci", r"ci-mlops\.yml: \$\[.*\]\.when: 'sometimes' is not one of") == {"keys"}, findings
    assert len(findings) == 1, findings


@pytest.mark.lint
def test_shellcheck_once_answers_every_question_as_shellcheck_does(tmp_path):
    """Scripts of one length (one row of slots), each asked several times at once, get shellcheck's own answer."""
    if not shellcheck_available():
        pytest.skip("shellcheck is not installed (.ci/setup installs it)")
    real = shutil.which("shellcheck")
    args = ["--norc", "-f", "json1", "-x", "--shell", "bash", "-e", "SC1091,SC2154", "-"]  # as actionlint asks
    scripts = ["echo $aaa\n", 'echo "$b"\n', "echo hiya\n", "echo $bbb\n", "ls   $ccc\n", "printf x\n\n"]
    assert {len(script) for script in scripts} == {10}  # one row of slots: only the whole question tells them apart
    memo = tmp_path / "memo"
    memo.mkdir()
    env = {**os.environ, "SHELLCHECK_ONCE_DIR": str(memo), "SHELLCHECK_ONCE_REAL": real}

    def ask(script: str, program: str) -> tuple[int, str, str]:
        out = subprocess.run([program, *args], input=script, capture_output=True, text=True, env=env)
        return out.returncode, out.stdout, out.stderr

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda s: ask(s, str(SHELLCHECK_ONCE)), scripts * 4))
    expected = [ask(script, real) for script in scripts] * 4
    assert answers == expected
    assert {code for code, _, _ in expected} == {0, 1}  # clean scripts and findings both
    assert len(list(memo.glob("*.q"))) >= len(scripts)
