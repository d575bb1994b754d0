"""Where a release's model came from: the retrain pull request and drift issue, read from git.

The retrain commit carries trailers (``Ci-Mlops-Retrain: drift``, ``Ci-Mlops-Drift-Issue: 12``);
GitHub's merge commit names the pull request ("Merge pull request #34 from ..."), a squash
merge ends its subject with "(#34)". The commit that last changed a ``dvc.lock`` on the first-
parent line of the released commit is the one whose training the release ships, so that is
where the chain is looked for. Everything comes from git: the same answer offline and in CI.
"""

from __future__ import annotations

import re
from pathlib import Path

from ci_mlops.deploy.lineage import RetrainedFrom
from ci_mlops.git import run_git

# Trailers of the commit `ci-mlops retrain publish` makes (ci_mlops.retrain.publish writes them).
TRAILER = "Ci-Mlops-Retrain"  # why it was made (drift, schedule)
ISSUE_TRAILER = "Ci-Mlops-Drift-Issue"  # the drift issue's number

_MERGE = re.compile(r"^Merge pull request #(\d+) from ")
_SQUASH = re.compile(r"\(#(\d+)\)\s*$")


def retrained_from(root: Path, commit: str) -> RetrainedFrom | None:
    """``{"reason", "drift_issue", "pull_request", "commit"}`` when the released training came from
    a ci-mlops retrain, else None."""
    trained = run_git(["log", "-1", "--first-parent", "--format=%H", commit, "--", "dvc.lock", "**/dvc.lock"],
                      root, check=False).strip()
    if not trained:
        return None
    parents = run_git(["rev-list", "--parents", "-n", "1", trained], root, check=False).split()[1:]
    subject = run_git(["log", "-1", "--format=%s", trained], root).strip()
    pr = None
    if m := _MERGE.match(subject) or _SQUASH.search(subject):
        pr = int(m[1])
    for candidate in [trained, *parents[1:2]]:  # the commit itself, or the merged branch's head
        body = run_git(["log", "-1", "--format=%B", candidate], root, check=False)  # shallow: may be absent
        reason = re.search(rf"^{TRAILER}: (drift|schedule)\s*$", body, re.M)
        if reason:
            issue = re.search(rf"^{ISSUE_TRAILER}: (\d+)\s*$", body, re.M)
            return {"reason": reason[1], "drift_issue": int(issue[1]) if issue else None, "pull_request": pr,
                    "commit": candidate}
    return None


def describe(origin: RetrainedFrom | None) -> str | None:
    """One line for ``audit log``: "retrained on drift #12 via PR #34"."""
    if not origin:
        return None
    text = "retrained on drift" if origin["reason"] == "drift" else "scheduled retrain"
    if origin.get("drift_issue"):
        text += f" #{origin['drift_issue']}"
    if origin.get("pull_request"):
        text += f" via PR #{origin['pull_request']}"
    return text
