"""ci-mlops' own release pipeline: tag-triggered, tested, attested, published by OIDC only."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.lint import lint

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "release-ci-mlops.yml"


@pytest.fixture(scope="module")
def doc() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.mark.lint
def test_release_workflow_lints_clean():
    assert lint([WORKFLOW]) == []


def test_runs_on_version_tags_only(doc):
    assert doc[True] == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}}
    assert doc["permissions"] == {}


def test_build_job_tests_and_builds_without_oidc(doc):
    build = doc["jobs"]["build"]
    assert build["permissions"] == {"contents": "read"}
    runs = [s.get("run", "") for s in build["steps"]]
    assert any("bash .ci/run" in r for r in runs)  # the whole test suite
    assert any("-m build --outdir dist" in r for r in runs) and any("twine check --strict" in r for r in runs)


def test_publish_job_has_only_oidc_and_attestations_and_runs_no_repository_code(doc):
    publish = doc["jobs"]["publish"]
    assert publish["needs"] == "build" and publish["environment"]["name"] == "pypi"
    assert publish["permissions"] == {"id-token": "write", "attestations": "write"}
    uses = [s.get("uses", "").split("@")[0] for s in publish["steps"]]
    assert uses == ["actions/download-artifact", "actions/attest-build-provenance", "pypa/gh-action-pypi-publish"]
    assert not any("run" in s for s in publish["steps"])
    pypi = publish["steps"][-1]["with"]
    assert "password" not in pypi and "user" not in pypi  # trusted publishing: no token
    assert publish["steps"][1]["with"]["subject-path"] == "dist/*"


@pytest.mark.parametrize("tag, ok", [("", True), ("v999.0.0", False)])
def test_tag_must_match_the_package_version(doc, tag, ok):
    from ci_mlops import __version__

    step = next(s for s in doc["jobs"]["build"]["steps"] if s["name"].startswith("Check that the tag"))
    tag = tag if not ok else f"v{__version__}"
    proc = subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "TAG": tag})
    assert (proc.returncode == 0) is ok, proc.stdout + proc.stderr
    if not ok:
        assert f"tag {tag} does not match" in proc.stdout
