"""`audit verify` recomputes from the tag everything a release states, and names every difference.

Each variant edits what an attacker with write access to the release could edit (lineage.json
fields, the model card, the release notes) and checks that verify fails, naming the field, the
recorded value and the true one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ci_mlops.github.client import GitHubClient
from tests.conftest import run_cli
from tests.support.dvc_factory import commit_all, copy_repo, git, metrics_commit
from tests.support.fake_github import FakeGitHub

CONFIG = "metrics:\n  test.accuracy: {min: 0.5}\ndeploy:\n  stages:\n    prod: production\n"
NO_TOKEN = {"GITHUB_TOKEN": "", "CI_MLOPS_TOKEN": ""}


@pytest.fixture(scope="module")
def released(tmp_path_factory, shared_dvc_repo) -> Path:
    """v1.0.0 and model@v1.1.0 + model#prod#1 released locally (target none), each into release-TAG/."""
    repo = copy_repo(shared_dvc_repo, tmp_path_factory.mktemp("restate") / "repo")
    (repo / ".ci-mlops.yml").write_text(CONFIG)
    commit_all(repo, "config")
    git(repo, "tag", "v1.0.0")
    metrics_commit(repo, "more epochs", **{"train.epochs": 9})
    git(repo, "tag", "model@v1.1.0")
    git(repo, "tag", "model#prod#1")
    git(repo, "tag", "v1.1.0")
    for tag in ("v1.0.0", "model@v1.1.0", "model#prod#1", "v1.1.0"):
        out = repo.parent / f"release-{tag.replace('#', '_').replace('@', '_')}"
        proc = run_cli("deploy", "--tag", tag, "--target", "none", "--output-dir", str(out), cwd=repo, env=NO_TOKEN)
        assert proc.returncode == 0, proc.stderr
    return repo


@pytest.fixture
def repo(released, tmp_path) -> Path:
    dest = copy_repo(released, tmp_path / "repo")
    for folder in released.parent.glob("release-*"):
        shutil.copytree(folder, tmp_path / folder.name)
    return dest


def out_dir(repo: Path, tag: str) -> Path:
    return repo.parent / f"release-{tag.replace('#', '_').replace('@', '_')}"


def verify(repo: Path, tag: str, lineage: dict | None = None, *, card: str | None = None, notes: str | None = None,
           env: dict | None = None):
    folder = out_dir(repo, tag)
    if lineage is not None:
        (folder / "lineage.json").write_text(json.dumps(lineage))
    if card is not None:
        (folder / "model-card.md").write_text(card)
    if notes is not None:
        (folder / "release-notes.md").write_text(notes)
    return run_cli("audit", "verify", tag, "--lineage", str(folder / "lineage.json"), "--path", str(model_of(repo, tag)),
                   "--card", str(folder / "model-card.md"), "--notes", str(folder / "release-notes.md"),
                   "--format", "json", cwd=repo, env={**NO_TOKEN, **(env or {})})


def model_of(repo: Path, tag: str) -> Path:
    """The model file the tag released (from the DVC cache, under its own name)."""
    md5 = git(repo, "show", f"{tag}:dvc.lock").split("path: models/model.pkl", 1)[1].split("md5: ", 1)[1][:32]
    target = repo.parent / "models" / tag.replace("#", "_") / "model.pkl"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:], target)
    return target


def failures(proc) -> list[str]:
    report = json.loads(proc.stdout)
    return [f"{c['subject']}: {c['message']}" for c in report["checks"] if not c["ok"]]


def lineage_of(repo: Path, tag: str) -> dict:
    return json.loads((out_dir(repo, tag) / "lineage.json").read_text())


@pytest.mark.parametrize("tag", ["v1.0.0", "model@v1.1.0", "model#prod#1", "v1.1.0"])
def test_untouched_releases_pass_every_recomputed_check(repo, tag):
    proc = verify(repo, tag)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    subjects = {c["subject"] for c in json.loads(proc.stdout)["checks"]}
    for subject in ("lineage version", "lineage stage", "lineage model", "lineage created_at", "lineage previous",
                    "metrics", "params", "model-card.md", "release notes"):
        assert subject in subjects


def _set(record: dict, path: str, value) -> None:
    *parents, last = path.split("/")
    for key in parents:
        record = record[key]
    record[last] = value


@pytest.mark.parametrize("tag, path, value, expected", [
    ("v1.0.0", "metrics/metrics.json/test.accuracy", 0.999, "test.accuracy: the lineage records 0.999, v1.0.0 has"),
    ("v1.0.0", "metrics/metrics.json/test.injected", 1.0, "test.injected: the lineage records 1.0, v1.0.0 has no such"),
    ("v1.0.0", "params/params.yaml/train.epochs", 999, "train.epochs: the lineage records 999, v1.0.0 has"),
    ("v1.0.0", "stage", "prod", "lineage stage: records 'prod', but v1.0.0 says None"),
    ("v1.0.0", "model", "other-model", "lineage model: records 'other-model', but v1.0.0 says"),
    ("v1.0.0", "version", "9.9.9", "lineage version: records '9.9.9', but v1.0.0 says '1.0.0'"),
    ("v1.0.0", "prerelease", True, "lineage prerelease: records True, but v1.0.0 says False"),
    ("v1.0.0", "created_at", "2020-01-01T00:00:00Z", "lineage created_at: records '2020-01-01T00:00:00Z'"),
    ("model#prod#1", "stage", "dev", "lineage stage: records 'dev', but model#prod#1 says 'prod'"),
    ("model#prod#1", "version", "1.0.0", "lineage version: records '1.0.0', but model#prod#1 says '1.1.0'"),
    ("v1.1.0", "previous", None, "records no previous release, but v1.0.0 came before v1.1.0"),
    ("v1.1.0", "previous/tag", "v9.0.0", "records v9.0.0, which is not a tag here"),
    ("v1.1.0", "previous/tag", "model@v1.1.0", "records model@v1.1.0 at"),
    ("model@v1.1.0", "previous", {"tag": "v1.0.0", "commit": "0" * 40}, "records v1.0.0 at 000000000000, but"),
])
def test_each_rewritten_statement_is_named(repo, tag, path, value, expected):
    record = lineage_of(repo, tag)
    _set(record, path, value)
    proc = verify(repo, tag, record)
    assert proc.returncode == 1
    found = failures(proc)
    assert any(expected in line for line in found), found
    assert len(found) == 1, found  # exactly the edited statement, nothing else


def test_the_gate_value_a_release_records_is_recomputed(repo):
    record = lineage_of(repo, "v1.0.0")
    record["gates"][0]["value"] = 0.999
    proc = verify(repo, "v1.0.0", record)
    assert proc.returncode == 1
    assert any("gate test.accuracy: records value 0.999, v1.0.0 has" in line for line in failures(proc))


def test_every_difference_is_named_not_just_the_first(repo):
    record = lineage_of(repo, "v1.0.0")
    record["metrics"]["metrics.json"]["test.accuracy"] = 0.999
    record["stage"] = "prod"
    record["model"] = "impostor"
    proc = verify(repo, "v1.0.0", record)
    assert proc.returncode == 1
    assert len(failures(proc)) == 3
    text = run_cli("audit", "verify", "v1.0.0", "--lineage", str(out_dir(repo, "v1.0.0") / "lineage.json"),
                   "--path", str(model_of(repo, "v1.0.0")), cwd=repo, env=NO_TOKEN)
    assert "(and 2 more)" in text.stderr


def test_the_repository_is_checked_when_known(repo):
    record = lineage_of(repo, "v1.0.0")
    record["repository"] = "evil/fork"
    proc = verify(repo, "v1.0.0", record, env={"GITHUB_REPOSITORY": "o/r"})
    assert any("lineage repository: records 'evil/fork', but v1.0.0 says 'o/r'" in f for f in failures(proc))


@pytest.mark.parametrize("edit", [
    lambda text: text.replace("| Stage | — |", "| Stage | production |"),
    lambda text: text + "\nApproved for production by the ML review board.\n",
    lambda text: text.replace("test.accuracy", "test.accuracy (0.999)"),
])
def test_an_edited_model_card_is_caught(repo, edit):
    card = (out_dir(repo, "v1.0.0") / "model-card.md").read_text()
    assert edit(card) != card
    proc = verify(repo, "v1.0.0", card=edit(card))
    assert proc.returncode == 1
    [line] = failures(proc)
    assert line.startswith("model-card.md:") and "it was edited" in line


def test_edited_release_notes_are_caught(repo):
    notes = (out_dir(repo, "v1.0.0") / "release-notes.md").read_text()
    proc = verify(repo, "v1.0.0", notes=notes.replace("First release", "Hotfix release"))
    assert proc.returncode == 1
    [line] = failures(proc)
    assert line.startswith("release notes:") and "it was edited" in line


def test_card_and_notes_on_github_are_checked_too(repo):
    with FakeGitHub() as gh:
        env = gh.env(repo="o/r", token="t", RUNNER_TEMP=str(repo.parent / "rt"))
        proc = run_cli("deploy", "--tag", "v1.0.0", cwd=repo, env=env)
        assert proc.returncode == 0, proc.stderr
        commit = git(repo, "rev-parse", "v1.0.0^{commit}").strip()
        gh.add_run("o/r", 4242, head_sha=commit, event="push", name="ci-mlops release", actor="octocat")
        assert run_cli("audit", "verify", "v1.0.0", cwd=repo, env=env).returncode == 0
        (release,) = gh.releases("o/r")
        client = GitHubClient(gh.api_url, "t", sleep=lambda s: None)
        client.request("PATCH", f"/repos/o/r/releases/{release['id']}",
                       json={"body": release["body"] + "\nAll gates passed (edited).\n"})
        proc = run_cli("audit", "verify", "v1.0.0", "--format", "json", cwd=repo, env=env)
        assert proc.returncode == 1
        assert [f.split(":")[0] for f in failures(proc)] == ["release notes"]

        client.request("PATCH", f"/repos/o/r/releases/{release['id']}", json={"body": release["body"]})
        [card] = [a for a in gh.assets("o/r", release["id"]) if a["name"] == "model-card.md"]
        client.request("DELETE", card["url"])
        client.upload_asset(release["upload_url"], "model-card.md", b"# Model card: trust me\n", "text/markdown")
        proc = run_cli("audit", "verify", "v1.0.0", "--format", "json", cwd=repo, env=env)
        assert proc.returncode == 1
        assert [f.split(":")[0] for f in failures(proc)] == ["model-card.md"]


@pytest.mark.parametrize("change, expected", [
    ({"actor": "mallory"}, "records actor 'mallory', but run 4242 was started by 'octocat'"),
    ({"run_url": None}, "records actor 'octocat' but no workflow run to check it against"),
    ({"run_url": "https://evil.example/o/r/actions/runs/4242"}, "not a workflow run of o/r"),
    ({"run_url": "RUN/4343"}, "records run 4343, which GitHub does not return"),
    ({"run_url": "RUN/4444"}, "run 4444 built 000000000000, not v1.0.0"),
])
def test_a_rewritten_actor_or_run_is_checked_against_the_run_github_recorded(repo, change, expected):
    with FakeGitHub() as gh:
        env = gh.env(repo="o/r", token="t", RUNNER_TEMP=str(repo.parent / "rt"))
        assert run_cli("deploy", "--tag", "v1.0.0", cwd=repo, env=env).returncode == 0
        commit = git(repo, "rev-parse", "v1.0.0^{commit}").strip()
        gh.add_run("o/r", 4242, head_sha=commit, event="push", name="ci-mlops release", actor="octocat")
        gh.add_run("o/r", 4444, head_sha="0" * 40, event="push", name="ci-mlops release", actor="octocat")
        (release,) = gh.releases("o/r")
        client = GitHubClient(gh.api_url, "t", sleep=lambda s: None)
        [asset] = [a for a in gh.assets("o/r", release["id"]) if a["name"] == "lineage.json"]
        record = json.loads(gh.asset_bytes("o/r", asset["id"]))
        record.update({k: (v.replace("RUN", f"{gh.server_url}/o/r/actions/runs") if isinstance(v, str) else v)
                       for k, v in change.items()})
        client.request("DELETE", asset["url"])
        client.upload_asset(release["upload_url"], "lineage.json", json.dumps(record).encode(), "application/json")
        proc = run_cli("audit", "verify", "v1.0.0", "--format", "json", cwd=repo, env=env)
        assert proc.returncode == 1
        found = failures(proc)
        assert len(found) == 1 and found[0].startswith("lineage run:") and expected in found[0], found
