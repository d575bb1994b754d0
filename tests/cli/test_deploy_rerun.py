"""Re-running a release job later finishes it: model-card.md and lineage.json are a function of the
tag and its commit, so an attempt minutes (or a day) later adds the missing pieces and changes none.

The later attempts run with a shifted clock (tests/support/clock/sitecustomize.py shifts every clock
Python reads), on a real git + DVC repository and the loopback GitHub.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ci_mlops.github.client import GitHubClient
from tests.conftest import run_cli
from tests.support.dvc_factory import commit_all, copy_repo, git
from tests.support.fake_github import FakeGitHub

CLOCK = Path(__file__).resolve().parents[1] / "support" / "clock"
CONFIG = "metrics:\n  test.accuracy: {min: 0.5}\nmodel_card:\n  intended_use: Tests.\n"
TAG = "model@v1.0.0#3"  # a GTO counter tag


@pytest.fixture(scope="module")
def template(tmp_path_factory, shared_dvc_repo) -> Path:
    repo = copy_repo(shared_dvc_repo, tmp_path_factory.mktemp("rerun") / "repo")
    (repo / ".ci-mlops.yml").write_text(CONFIG)
    commit_all(repo, "config")
    git(repo, "tag", "-a", TAG, "-m", "Registering artifact model version v1.0.0")
    return repo


@pytest.fixture
def repo(template, tmp_path) -> Path:
    return copy_repo(template, tmp_path / "repo")


@pytest.fixture
def gh():
    with FakeGitHub() as fake:
        yield fake


def deploy(repo: Path, gh: FakeGitHub | None, *args: str, minutes: float = 0, run_id: str = "4242"):
    env = gh.env(repo="o/r", token="t", GITHUB_RUN_ID=run_id) if gh else {"GITHUB_TOKEN": "", "CI_MLOPS_TOKEN": ""}
    env["RUNNER_TEMP"] = str(repo.parent / f"runner-{minutes}")
    env["PYTHONPATH"] = os.pathsep.join([str(CLOCK), os.environ.get("PYTHONPATH", "")])
    env["CI_MLOPS_TEST_CLOCK_SHIFT"] = str(minutes * 60)
    return run_cli("deploy", "--tag", TAG, *args, cwd=repo, env=env)


def assets(gh: FakeGitHub) -> dict[str, dict]:
    (release,) = gh.releases("o/r")
    return {a["name"]: a for a in gh.assets("o/r", release["id"])}


def test_the_shifted_clock_is_really_shifted(tmp_path):
    env = {"PYTHONPATH": os.pathsep.join([str(CLOCK), os.environ.get("PYTHONPATH", "")]),
           "CI_MLOPS_TEST_CLOCK_SHIFT": str(7 * 60)}
    import subprocess
    import sys
    import time

    code = "import time, datetime; print(time.time(), datetime.datetime.now(datetime.timezone.utc).timestamp())"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True)
    shifted = [float(x) for x in out.stdout.split()]
    assert all(400 < value - time.time() < 440 for value in shifted), out


def test_a_job_that_died_before_its_last_upload_is_finished_minutes_later(repo, gh):
    first = deploy(repo, gh)
    assert first.returncode == 0, first.stderr
    uploaded = {name: gh.asset_bytes("o/r", a["id"]) for name, a in assets(gh).items()}
    # The first job died after uploading the model and the card: no lineage.json, still a draft.
    client = GitHubClient(gh.api_url, "t", sleep=lambda s: None)
    client.request("DELETE", assets(gh)["lineage.json"]["url"])
    (release,) = gh.releases("o/r")
    client.request("PATCH", f"/repos/o/r/releases/{release['id']}", json={"draft": True})

    gh.clear_log()
    later = deploy(repo, gh, minutes=7, run_id="4243")  # a new run, seven minutes later
    assert later.returncode == 0, later.stderr
    assert "kept 2 already uploaded" in later.stdout and "uploaded 1 asset(s)" in later.stdout
    assert gh.releases("o/r")[0]["draft"] is False
    now = {name: gh.asset_bytes("o/r", a["id"]) for name, a in assets(gh).items()}
    assert now["model-card.md"] == uploaded["model-card.md"]
    lineage = json.loads(now["lineage.json"])
    tagged = git(repo, "for-each-ref", f"refs/tags/{TAG}", "--format=%(creatordate:iso-strict)").strip()
    assert lineage["created_at"].replace("Z", "+00:00") == tagged  # the tag's date, not either run's clock
    assert lineage["run_url"].endswith("/4243")  # the run that completed the record

    # A day later the same tag again: nothing uploaded, nothing deleted, nothing fails.
    gh.clear_log()
    again = deploy(repo, gh, minutes=24 * 60, run_id="4244")
    assert again.returncode == 0, again.stderr
    assert "kept 3 already uploaded" in again.stdout
    assert not [r for r in gh.requests if r.method in ("POST", "DELETE")]
    assert {n: gh.asset_bytes("o/r", a["id"]) for n, a in assets(gh).items()} == now

    gh.add_run("o/r", 4243, head_sha=git(repo, "rev-parse", f"{TAG}^{{commit}}").strip(), event="push")
    verify = run_cli("audit", "verify", TAG, cwd=repo, env=gh.env(repo="o/r", token="t"))
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_release_files_are_byte_identical_whenever_they_are_written(repo):
    runs = []
    for minutes in (0, 9, 60 * 24 * 3):
        out = repo.parent / f"out-{minutes}"
        proc = deploy(repo, None, "--target", "none", "--output-dir", str(out), minutes=minutes)
        assert proc.returncode == 0, proc.stderr
        runs.append({name: (out / name).read_bytes() for name in ("model-card.md", "lineage.json",
                                                                   "release-notes.md")})
    assert runs[0] == runs[1] == runs[2]
    lineage = json.loads(runs[0]["lineage.json"])
    import hashlib

    assert lineage["model_card"]["sha256"] == hashlib.sha256(runs[0]["model-card.md"]).hexdigest()


def test_a_released_lineage_that_is_no_record_is_neither_adopted_nor_overwritten(repo, gh):
    first = deploy(repo, gh)
    assert first.returncode == 0, first.stderr
    lineage = assets(gh)["lineage.json"]
    record = json.loads(gh.asset_bytes("o/r", lineage["id"]))
    del record["model"]  # same tag, commit and artifacts, but not a lineage record by the schema
    spoiled = json.dumps(record).encode()
    with gh._lock:
        gh._repo("o/r").asset_data[lineage["id"]] = spoiled

    later = deploy(repo, gh, minutes=7, run_id="4243")
    assert later.returncode == 2, later.stdout + later.stderr
    assert "already has an asset 'lineage.json' with different content" in later.stderr
    assert "Traceback" not in later.stderr and "internal error" not in later.stderr
    assert gh.asset_bytes("o/r", lineage["id"]) == spoiled
