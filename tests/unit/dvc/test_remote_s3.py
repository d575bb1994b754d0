"""DVC push and pull through the generated workflows, against a loopback S3 API.

moto runs in server mode on 127.0.0.1 (started here); DVC talks to it through the real
dvc-s3 plugin (the remote's ``endpointurl`` sits in ``.dvc/config.local``, which the
simulated checkout copies, as secrets would reach a real runner). The workflows run
job by job in tests/support/runner_sim.py, with repository secrets, environment secrets and
configure-aws-credentials (OIDC) modelled; host AWS settings are kept out.

What each variant shows:

* static keys: the training job gets only the read keys (``dvc.secrets``), the push job
  the write keys of its protected environment (``dvc.push_environment``); a hook that
  the PR's training plants (``BASH_ENV`` through ``$GITHUB_ENV``) sees every later step
  of its job and never the write keys nor a GitHub token; a later PR pulls what was pushed.
* OIDC: only the push job holds ``id-token: write``; the login action's short-lived
  credentials reach its push step and nothing else.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli
from tests.e2e.test_workflows import REPO, WORKFLOWS, merge_pr, outcomes, pr_event, run_push, runner
from tests.support import zygote
from tests.support.dvc_factory import _env, commit_all, git, repro, set_params
from tests.support.dvc_layouts import Layouts
from tests.support.fake_github import FakeGitHub
from tests.support.runner_sim import SimulationError, load_workflow

READ = {"AWS_ACCESS_KEY_ID": "AKIAREADONLYKEY00001", "AWS_SECRET_ACCESS_KEY": "read-only-secret"}
WRITE = {"AWS_ACCESS_KEY_ID": "AKIAWRITERKEY0000001", "AWS_SECRET_ACCESS_KEY": "write-secret"}
ROLE = "arn:aws:iam::123456789012:role/dvc-push"
READ_ROLE = "arn:aws:iam::123456789012:role/dvc-read"
# Nothing from this machine's AWS set-up may stand in for the credentials under test.
ISOLATED = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
            "AWS_CONFIG_FILE": "/nonexistent/config"}
# The PR's training plants a hook that every later step of its job runs (as a .pth file would).
PLANT = """dvc repro
cat > "$RUNNER_TEMP/hook.sh" <<'HOOK'
env > "$RUNNER_TEMP/seen-$RANDOM$RANDOM.env"
HOOK
echo "BASH_ENV=$RUNNER_TEMP/hook.sh" >> "$GITHUB_ENV"
"""


@pytest.fixture(scope="module")
def s3() -> str:
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="admin",
                        aws_secret_access_key="admin")


def remote_keys(endpoint: str, bucket: str) -> set[str]:
    pages = s3_client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {obj["Key"] for page in pages for obj in page.get("Contents", [])}


def dvc(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    base = {k: v for k, v in _env().items() if not k.startswith("AWS_")}
    proc = subprocess.run([zygote.dvc_python(), "-m", "dvc", *args], cwd=repo, capture_output=True, text=True,
                          env={**base, **ISOLATED, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def s3_origin(layouts: Layouts, root: Path, endpoint: str, bucket: str, dvc_settings: dict) -> Path:
    """A DVC project whose default remote is s3://BUCKET on the loopback server, after `init --yes`."""
    s3_client(endpoint).create_bucket(Bucket=bucket)
    repo = layouts.copy(root / "repo", remote=False)
    dvc(repo, "remote", "add", "-d", "storage", f"s3://{bucket}/cache")
    dvc(repo, "remote", "modify", "storage", "region", "us-east-1")
    dvc(repo, "remote", "modify", "--local", "storage", "endpointurl", endpoint)
    dvc(repo, "push", "-q", env=WRITE)
    (repo / "requirements.txt").write_text("")
    out = run_cli("init", "--yes", cwd=repo)
    assert out.returncode == 0, out.stderr
    config = yaml.safe_load((repo / ".ci-mlops.yml").read_text())
    assert config["dvc"]["secrets"] == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]  # proposed for s3://
    config["dvc"] = dvc_settings
    config["train"] = PLANT
    (repo / ".ci-mlops.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    out = run_cli("init", "--yes", cwd=repo)
    assert out.returncode == 0, out.stderr
    commit_all(repo, "ci-mlops init with an S3 remote")
    return repo


@pytest.fixture
def gh():
    with FakeGitHub() as fake:
        fake.add_repo(REPO)
        yield fake


def hook_dumps(job_runner) -> list[str]:
    return [p.read_text() for p in sorted(job_runner.temp.glob("seen-*.env"))]


def new_commit_on_main(origin: Path, epochs: int) -> tuple[str, str]:
    """Retrain with other params and commit (outputs not pushed: CI pushes). Returns (sha, model md5)."""
    set_params(origin, **{"train.epochs": epochs})
    repro(origin)
    sha = commit_all(origin, f"{epochs} epochs")
    lock = yaml.safe_load((origin / "dvc.lock").read_text())
    model = next(o for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model.pkl")
    return sha, model["md5"]


def test_static_keys_read_in_pr_code_write_only_in_the_protected_push_job(s3, tmp_path, gh, dvc_layouts):
    bucket = "ci-mlops-static"
    origin = s3_origin(dvc_layouts, tmp_path / "o", s3, bucket, {"secrets": ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
                                                   "push_environment": "dvc-push"})
    workflow = load_workflow(origin / WORKFLOWS / "ci-mlops-pr.yml")
    assert workflow["jobs"]["push"]["environment"] == "dvc-push"
    sha, model_md5 = new_commit_on_main(origin, 2)
    assert f"cache/files/md5/{model_md5[:2]}/{model_md5[2:]}" not in remote_keys(s3, bucket)

    jobs = run_push(origin, tmp_path, gh, "main", sha, secrets=READ, environment_secrets={"dvc-push": WRITE},
                    extra_env=ISOLATED)
    train, push, runners = jobs["train"], jobs["push"], jobs["runners"]
    assert train.conclusion == "success", train.log()
    assert push.conclusion == "success", push.log()
    assert push.environment == "dvc-push"
    # the push job pushed the new model to S3 with the environment's write keys
    assert f"cache/files/md5/{model_md5[:2]}/{model_md5[2:]}" in remote_keys(s3, bucket)
    assert any(k.startswith("cache/runs/") for k in remote_keys(s3, bucket))  # run-cache too
    push_step = push.step("Push data, models and run-cache to the DVC remote")
    assert push_step.env["AWS_ACCESS_KEY_ID"] == WRITE["AWS_ACCESS_KEY_ID"]

    # In the training job: read keys for the DVC steps only, never the write keys or a token.
    with_keys = [s.name for s in train.steps if "AWS_ACCESS_KEY_ID" in s.env]
    assert with_keys == ["Pull data, models and run-cache from the DVC remote", "Check the quality gates",
                         "Build the report"]
    assert all(s.env["AWS_ACCESS_KEY_ID"] == READ["AWS_ACCESS_KEY_ID"] for s in train.steps if s.env.get("AWS_ACCESS_KEY_ID"))
    dumps = hook_dumps(runners["train"])
    assert len(dumps) == 3, train.log()  # the hook ran in every later step: check, report, stage
    assert not any(WRITE["AWS_SECRET_ACCESS_KEY"] in d or "GITHUB_TOKEN=" in d for d in dumps)
    # ... and it does read the read-only keys (the documented boundary: give PR runs read-only keys)
    assert any(READ["AWS_SECRET_ACCESS_KEY"] in d for d in dumps)
    assert not hook_dumps(runners["push"]) and not hook_dumps(runners["comment"])  # other jobs, other runners

    # A pull request now pulls the pushed outputs with the read keys: nothing to retrain.
    git(origin, "checkout", "-q", "-B", "docs", "main")
    (origin / "NOTES.md").write_text("notes\n")
    head = commit_all(origin, "notes")
    merge_pr(origin, 5, "docs")
    git(origin, "checkout", "-q", "main")
    merge = git(origin, "rev-parse", "refs/pull/5/merge").strip()
    gh.add_pr(REPO, 5, head_sha=head, head_ref="docs")
    pr = runner(tmp_path, "pr5", gh, token="t", event_name="pull_request", origin=origin, sha=merge,
                event=pr_event(5, head, "docs"), ref="refs/pull/5/merge", base_ref="main", head_ref="docs",
                artifacts=tmp_path / "pr5-artifacts")
    pr.secrets, pr.environment_secrets, pr.extra_env = READ, {"dvc-push": WRITE}, ISOLATED
    job = pr.run_job(workflow, "train")
    assert job.conclusion == "success", job.log()
    assert outcomes(job)["Pull data, models and run-cache from the DVC remote"] == "success"
    assert "Running stage 'train'" not in job.step("Train").stdout, job.log()  # restored from S3
    assert outcomes(job)["Stage the DVC outputs for the push job"] == "skipped"
    assert pr.run_job(workflow, "push", needs={"train": job}).conclusion == "skipped"  # PRs never push


def test_oidc_credentials_reach_only_the_push_step(s3, tmp_path, gh, dvc_layouts):
    bucket = "ci-mlops-oidc"
    origin = s3_origin(dvc_layouts, tmp_path / "o", s3, bucket, {"oidc": {"aws": {"role": ROLE, "read_role": READ_ROLE,
                                                                       "region": "us-east-1"}}})
    workflow = load_workflow(origin / WORKFLOWS / "ci-mlops-pr.yml")
    perms = {job_id: job["permissions"] for job_id, job in workflow["jobs"].items()}
    assert perms == {"fetch": {"contents": "read", "id-token": "write"}, "train": {"contents": "read"},
                     # contents: write publishes the plot images to the PR's plot branch; no checkout, no PR code
                     "comment": {"contents": "write", "pull-requests": "write"},
                     "push": {"contents": "read", "id-token": "write"}}
    sha, model_md5 = new_commit_on_main(origin, 3)

    jobs = run_push(origin, tmp_path, gh, "main", sha, aws_endpoint=s3, extra_env=ISOLATED)
    fetch, train, push, runners = jobs["fetch"], jobs["train"], jobs["push"], jobs["runners"]
    assert fetch.conclusion == "success", fetch.log()
    assert train.conclusion == "success", train.log()
    assert push.conclusion == "success", push.log()
    # the fetch job read the data with the read role; the training job validated and checked it out
    assert [login["role"] for login in runners["fetch"].oidc_logins] == [READ_ROLE]
    assert outcomes(train)["Check out the fetched data"] == "success"
    [login] = runners["push"].oidc_logins
    assert login["role"] == ROLE
    assert f"cache/files/md5/{model_md5[:2]}/{model_md5[2:]}" in remote_keys(s3, bucket)
    # no step of the training job had AWS credentials of any kind; the hook saw none either
    assert not any(k.startswith("AWS_") for s in train.steps for k in s.env)
    secrets = [login["AWS_SECRET_ACCESS_KEY"], runners["fetch"].oidc_logins[0]["AWS_SECRET_ACCESS_KEY"]]
    dumps = hook_dumps(runners["train"])
    assert len(dumps) == 3 and not any(x in d for x in secrets for d in dumps)
    assert not any("AWS_ACCESS_KEY_ID=" in d or "AWS_SESSION_TOKEN=" in d for d in dumps)
    assert runners["train"].oidc_logins == []


def test_a_login_without_id_token_permission_is_refused_by_the_simulator(tmp_path, gh):
    run = runner(tmp_path, "x", gh, token="t", event_name="push", event={}, sha="a" * 40, ref="refs/heads/main")
    run.aws_endpoint = "http://127.0.0.1:9"
    job = {"permissions": {"contents": "read"}, "steps": [
        {"uses": "aws-actions/configure-aws-credentials@x", "with": {"role-to-assume": ROLE, "aws-region": "us-east-1"}}]}
    with pytest.raises(SimulationError, match="id-token"):
        run.run_job({"jobs": {"j": job}}, "j")


def test_a_read_only_https_remote_gets_no_push(tmp_path, dvc_layouts):
    repo = dvc_layouts.copy(tmp_path / "repo", remote=False)
    dvc(repo, "remote", "add", "-d", "public", "https://remote.dvc.org/get-started")
    commit_all(repo, "public remote")
    out = run_cli("init", "--yes", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert "read-only" in out.stderr and "push nothing" in out.stderr, out.stderr
    doc = yaml.safe_load((repo / WORKFLOWS / "ci-mlops-pr.yml").read_text())
    assert set(doc["jobs"]) == {"train", "comment"}
    steps = [s["name"] for s in doc["jobs"]["train"]["steps"]]
    assert "Pull data, models and run-cache from the DVC remote" in steps
    assert "Stage the DVC outputs for the push job" not in steps
    # an http remote with credentials in its config accepts uploads: it is pushed to
    dvc(repo, "remote", "modify", "public", "auth", "basic")
    dvc(repo, "remote", "modify", "public", "user", "ci")
    out = run_cli("init", "--yes", cwd=repo)
    assert "read-only" not in out.stderr, out.stderr
    assert "push" in yaml.safe_load((repo / WORKFLOWS / "ci-mlops-pr.yml").read_text())["jobs"]
