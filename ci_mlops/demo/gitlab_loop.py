"""``ci-mlops demo --ci gitlab``: the whole loop in GitLab mode, against a loopback GitLab.

The same project as the GitHub demo. Each "pipeline" runs the commands the generated
``.gitlab/ci-mlops.yml`` job runs, with the variables GitLab would give that job, against
:class:`~ci_mlops.demo.loopback_gitlab.LoopbackGitLab`: a merge request (check, report,
statuses and the JUnit report, the sticky note, posted then updated), a tag (the GitLab
Release with its files in the package registry, then ``audit verify``) and the scheduled
monitor (an issue opened on drifted data, closed when it is back to normal).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from ci_mlops.demo.loopback_gitlab import LoopbackGitLab
from ci_mlops.demo.scenario import (
    BRANCH,
    REMOTE_DIR,
    Echo,
    Runner,
    Steps,
    prepare_target,
    retrain_on_branch,
    write_project,
)

PROJECT_PATH = "demo/churn"
TAG = "churn-model@v1.1.0"


@dataclass
class GitLabDemoResult:
    root: Path
    note_url: str = ""
    note_updates: int = 0
    statuses: dict[str, str] = field(default_factory=dict)
    junit_failures: str = ""
    release_url: str = ""
    release_files: list[str] = field(default_factory=list)
    audit: str = ""
    issue: dict[str, str] = field(default_factory=dict)
    pipeline_file: Path | None = None
    api_requests: int = 0


def run_gitlab_demo(directory: str | Path | None, echo: Echo, *, rows: int = 3000) -> GitLabDemoResult:
    root = prepare_target(directory)
    result = GitLabDemoResult(root=root)
    steps = Steps(echo, total=6)
    r = Runner(root, echo, commands=("init", "check", "report", "status", "comment", "deploy", "audit", "drift"))
    with LoopbackGitLab(PROJECT_PATH) as gl:
        with steps("Writing the churn project and running `ci-mlops init --ci gitlab --yes` in", str(root)):
            write_project(root, rows=rows)
            r.git("init", "-q", "-b", "main")
            r.dvc(["init", "-q"], ["config", "core.analytics", "false"], ["remote", "add", "-d", "demo", REMOTE_DIR],
                  ["add", "-q", "data/customers.csv"])
            r.ci_mlops("init", "--yes", "--ci", "gitlab")
            result.pipeline_file = root / ".gitlab" / "ci-mlops.yml"
            steps.note(f"GitLab API (loopback): {gl.url}/api/v4, project {PROJECT_PATH}")

        with steps("Default-branch pipeline: train the baseline on main, dvc push"):
            r.dvc(["repro", "-q"], ["push", "-q"])
            r.git("add", "-A")
            r.git("commit", "-q", "-m", "Baseline churn model")

        with steps(f"Merge request !1 from {BRANCH}: train.class_weight 1.0 -> 1.5, retrain"):
            retrain_on_branch(r, root)

        with steps("Merge request pipeline: check, report, statuses + JUnit, the sticky note (posted, then updated)"):
            gl.add_merge_request(1)
            sha = r.git("rev-parse", "HEAD").stdout.strip()
            base = r.git("merge-base", "main", "HEAD").stdout.strip()
            r.env.update(gl.env(CI_PIPELINE_SOURCE="merge_request_event", CI_MERGE_REQUEST_IID="1",
                                CI_COMMIT_SHA=sha, CI_COMMIT_REF_NAME=BRANCH, CI_JOB_URL=gl.add_job(11, sha),
                                CI_MLOPS_DOTENV=str(root / ".ci-mlops" / "report.env")))
            out = root / ".ci-mlops"
            out.mkdir(exist_ok=True)
            r.ci_mlops("check", "--base", base, "--gates-from", "base", "--format", "json", "-o",
                       str(out / "check.json"), ok=(0, 1))
            r.ci_mlops("report", "--base", base, "-o", str(out / "report.md"))
            r.ci_mlops("status", str(out / "check.json"), "--junit", str(out / "gates.xml"))
            for _ in range(2):  # a retried job: the same note, edited in place
                posted = r.ci_mlops("comment", str(out / "report.md"), "--marker", "ci-mlops")
            result.note_url = posted.stdout.strip().split()[-1]
            result.note_updates = len(gl.notes[1])
            result.statuses = {s["name"]: s["status"] for s in gl.statuses}
            suite = ElementTree.parse(out / "gates.xml").getroot().find("testsuite")
            result.junit_failures = f"{suite.get('failures')} of {suite.get('tests')}" if suite is not None else "?"
            steps.note(f"note {result.note_url} ({len(gl.notes[1])} note on the merge request after two runs)")

        with steps(f"Tag pipeline: merge, tag {TAG}, release to GitLab, `ci-mlops audit verify`"):
            r.git("checkout", "-q", "main")
            r.git("merge", "-q", "--ff-only", BRANCH)
            r.dvc(["push", "-q"])
            r.git("tag", TAG)
            sha = r.git("rev-parse", "HEAD").stdout.strip()
            r.env.update(CI_PIPELINE_SOURCE="push", CI_COMMIT_TAG=TAG, CI_COMMIT_SHA=sha, CI_COMMIT_REF_NAME=TAG,
                         CI_JOB_URL=gl.add_job(12, sha), CI_MLOPS_DOTENV=str(root / ".ci-mlops" / "release.env"))
            r.env.pop("CI_MERGE_REQUEST_IID", None)
            r.ci_mlops("deploy", "--tag", TAG, "--target", "gitlab-release", "--output-dir",
                       str(root / ".ci-mlops" / "release"))
            release = gl.releases[TAG]
            result.release_url = release["_links"]["self"]
            result.release_files = sorted(link["name"] for link in release["assets"]["links"])
            verify = r.ci_mlops("audit", "verify", TAG)
            result.audit = verify.stdout.strip().splitlines()[-1]
            steps.note(result.audit)

        with steps("Scheduled monitor: drifted production data opens an issue; normal data closes it"):
            live = root / ".ci-mlops" / "live.csv"
            live.write_text(_shifted(root / "data" / "prepared" / "test.csv"), encoding="utf-8")
            r.env.update(CI_PIPELINE_SOURCE="schedule", CI_MLOPS_MONITOR="true", CI_JOB_URL=gl.add_job(13, sha),
                         CI_MLOPS_DOTENV=str(root / ".ci-mlops" / "monitor.env"))
            r.env.pop("CI_COMMIT_TAG", None)
            r.ci_mlops("drift", "--issue", "--current", str(live), "-o", str(root / ".ci-mlops" / "drift.md"), ok=(1,))
            opened = dict(gl.issues[1])
            r.ci_mlops("drift", "--issue", "-o", str(root / ".ci-mlops" / "drift.md"))
            result.issue = {"url": opened["web_url"], "title": opened["title"], "then": gl.issues[1]["state"]}
            steps.note(f"issue {opened['web_url']} opened, then {gl.issues[1]['state']}")
        result.api_requests = gl.requests
    return result


def _shifted(path: Path) -> str:
    """The test split with every number scaled and shifted: production data that drifted."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0])
    for row in rows[1:]:
        writer.writerow([_shift(v) for v in row])
    return out.getvalue()


def _shift(value: str) -> str:
    try:
        return json.dumps(float(value) * 1.8 + 3)
    except ValueError:
        return value
