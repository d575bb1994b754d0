"""The committing job of a retrain: validate the folder, push the outputs, commit, open or update the PR.

It runs no project code: the checkout is the commit the retrain job trained (read as
data: which paths are results, the DVC remote's config), the files come from the folder
and are validated before anything is written. Order matters for "no half-pushed
branch": the DVC outputs reach the remote first, the commit is built off any branch, and
the branch appears in one step; when opening the PR fails after that, the new branch is
deleted again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_mlops.deploy.origin import ISSUE_TRAILER, TRAILER
from ci_mlops.errors import CheckFailed, UserError
from ci_mlops.github import gitdata
from ci_mlops.retrain import pulls
from ci_mlops.retrain.results import OUTPUTS, apply_files, read_manifest, result_paths, validate_files
from ci_mlops.retrain.settings import RetrainSettings

if TYPE_CHECKING:
    from ci_mlops.github.client import GitHubClient

MAX_BRANCH_SUFFIX = 20


@dataclass
class Outcome:
    action: str  # "opened" | "updated" | "unchanged" (PR as it was) | "nothing" (no change) | "failed"
    pr: int | None = None
    url: str | None = None
    branch: str | None = None
    issue: int | None = None


def publish(root: Path, folder: Path, settings: RetrainSettings, client: GitHubClient, repo: str, *,
            base_branch: str, parent: str, issue: int | None, remote: str | None = None,
            run_url: str | None = None, today: dt.date | None = None,
            echo: Callable[[str], None] = print) -> Outcome:
    if not (folder / "retrain.json").exists():  # the retrain job failed before it staged anything
        manifest: dict[str, Any] = {"status": "failed", "step": "the retrain job (before retraining)",
                                    "returncode": None, "log": ["see the monitor run's log"]}
    else:
        manifest = read_manifest(folder)
    status = manifest.get("status")
    if status == "failed":
        return _failed(client, repo, manifest, issue, run_url, echo)
    if status == "unchanged":
        echo("ci-mlops: nothing changed after `dvc repro`: no pull request")
        return Outcome("nothing", issue=issue)
    if status != "changed":
        raise CheckFailed(f"{folder}/retrain.json: unknown status {status!r}; refusing the folder")
    if manifest.get("base") != parent:
        raise CheckFailed(f"the retrain job trained {str(manifest.get('base'))[:12]}, this job checked out "
                          f"{parent[:12]}; refusing to commit results of another commit")
    files = validate_files(folder, manifest, result_paths(root))
    _push_outputs(root, folder / OUTPUTS, files, remote, echo)
    reason = "drift" if manifest.get("reason") == "drift" else "schedule"
    message = commit_message(reason, issue, [p for p, _ in files])
    title = ("Scheduled retraining" if reason != "drift" else
             f"Retrain on data drift (#{issue})" if issue else "Retrain on data drift")
    body = pr_body(reason, issue, [p for p, _ in files], list(manifest.get("left_out") or []), settings, run_url)

    existing = pulls.find_open_pull(client, repo, settings.branch_prefix, base_branch)
    if existing is not None:
        outcome = _update(client, repo, existing, parent, files, message, title, body, echo)
    else:
        outcome = _open(client, repo, settings, base_branch, parent, files, message, title, body, today, echo)
    outcome.issue = issue
    if issue is not None:
        pulls.comment_once(client, repo, issue, f"<!-- ci-mlops:retrain-pr {outcome.pr} -->",
                           f"ci-mlops proposes retraining on the refreshed data in #{outcome.pr}.")
    if outcome.action != "unchanged":
        pulls.dispatch(client, repo, settings.workflow, outcome.branch or "", outcome.pr or 0)
        echo(f"ci-mlops: started {settings.workflow} on {outcome.branch} for the PR's checks")
    return outcome


def _push_outputs(root: Path, outputs: Path, files: list[tuple[str, bytes]], remote: str | None,
                  echo: Callable[[str], None]) -> None:
    from ci_mlops.dvc.outputs import push, validate

    apply_files(root, files)  # DVC reads the new dvc.lock to know what to push
    if not outputs.exists():
        return
    objects, runs = validate(outputs)
    echo(f"ci-mlops: validated {objects} object(s) and {runs} run-cache entr{'y' if runs == 1 else 'ies'}")
    count = push(root, outputs, remote=remote)
    echo(f"ci-mlops: pushed {count} file(s) to the DVC remote")


def _update(client: GitHubClient, repo: str, pull: dict[str, Any], parent: str, files: list[tuple[str, bytes]],
            message: str, title: str, body: str, echo: Callable[[str], None]) -> Outcome:
    branch = pull["head"]["ref"]
    head = gitdata.branch_sha(client, repo, branch)
    if head is not None:
        tip = gitdata.get_commit(client, repo, head)
        if f"\n{TRAILER}: " not in str(tip.get("message", "")):
            raise CheckFailed(f"{branch} (PR #{pull['number']}) has commits ci-mlops did not make; not overwriting "
                              "them. Merge or close that PR, and the next run proposes a new one")
    commit = gitdata.commit_files(client, repo, parent=parent, files=files, message=message)
    same = head is not None and tip["tree"]["sha"] == commit["tree"] and [
        p.get("sha") for p in tip.get("parents") or []] == [parent]
    if same:
        echo(f"ci-mlops: PR #{pull['number']} already proposes exactly these results")
        return Outcome("unchanged", pull["number"], pull.get("html_url"), branch)
    if head is None:
        gitdata.create_branch(client, repo, branch, commit["sha"])
    else:
        gitdata.move_branch(client, repo, branch, commit["sha"], force=True)  # ci-mlops' own commit only
    pulls.update_pull(client, repo, pull["number"], title=title, body=body)
    echo(f"ci-mlops: updated PR #{pull['number']} ({branch}): {pull.get('html_url')}")
    return Outcome("updated", pull["number"], pull.get("html_url"), branch)


def _open(client: GitHubClient, repo: str, settings: RetrainSettings, base_branch: str, parent: str,
          files: list[tuple[str, bytes]], message: str, title: str, body: str, today: dt.date | None,
          echo: Callable[[str], None]) -> Outcome:
    branch = free_branch(client, repo, settings.branch_prefix, base_branch, today)
    commit = gitdata.commit_files(client, repo, parent=parent, files=files, message=message)
    gitdata.create_branch(client, repo, branch, commit["sha"])
    try:
        pull = pulls.open_pull(client, repo, branch=branch, base=base_branch, title=title, body=body,
                               labels=settings.labels)
    except BaseException:
        if pulls.find_pull_by_head(client, repo, branch) is None:
            gitdata.delete_branch(client, repo, branch)  # no branch without its PR
        raise
    echo(f"ci-mlops: opened PR #{pull['number']} ({branch}): {pull.get('html_url')}")
    return Outcome("opened", pull["number"], pull.get("html_url"), branch)


def free_branch(client: GitHubClient, repo: str, prefix: str, base_branch: str, today: dt.date | None) -> str:
    """``<prefix><UTC date>``, or with ``-2``, ``-3``... when that branch is left from an earlier loop."""
    day = (today or dt.datetime.now(dt.UTC).date()).isoformat()
    for n in range(1, MAX_BRANCH_SUFFIX + 1):
        name = f"{prefix}{day}" + (f"-{n}" if n > 1 else "")
        if name == base_branch:
            raise UserError(f"drift.retrain.branch_prefix {prefix!r} names the base branch; never pushing to it")
        if gitdata.branch_sha(client, repo, name) is None:
            return name
    raise CheckFailed(f"{prefix}{day} and {MAX_BRANCH_SUFFIX - 1} numbered variants exist already; delete old "
                      "retrain branches")


def commit_message(reason: str, issue: int | None, paths: list[str]) -> str:
    head = f"ci-mlops: retrain on drift (#{issue})" if reason == "drift" and issue else f"ci-mlops: {reason} retrain"
    lines = [head, "", "Refreshed the training data and reproduced the pipeline with `dvc repro`.", "",
             *[f"- {p}" for p in paths], "", f"{TRAILER}: {reason}"]
    if issue is not None:
        lines.append(f"{ISSUE_TRAILER}: {issue}")
    return "\n".join(lines) + "\n"


def pr_body(reason: str, issue: int | None, paths: list[str], left_out: list[str], settings: RetrainSettings,
            run_url: str | None) -> str:
    from ci_mlops.escape import md_code as inline_code

    why = (f"The monitor found data drift (#{issue})." if reason == "drift" and issue
           else "Scheduled retraining (`drift.retrain.schedule`)." + (f" Drift issue: #{issue}." if issue else ""))
    lines = [pulls.MARKER, f"### {'Retraining on data drift' if reason == 'drift' else 'Scheduled retraining'}", "",
             why + " ci-mlops refreshed the training data, reproduced the pipeline with `dvc repro` and pushed "
             "its outputs to the DVC remote.", "", "Files this PR changes:", ""]
    lines += [f"- {inline_code(p)}" for p in paths]
    if left_out:
        lines += ["", "Also changed by the run but not proposed (not results the DVC project declares):", ""]
        lines += [f"- {inline_code(p)}" for p in left_out[:50]]
    lines += ["", "The checks run on this branch and post the report (metrics, params, plots, gates) as a comment."]
    if settings.auto_merge:
        lines.append(f"It merges ({settings.merge_method}) when every gate passes (`drift.retrain.auto_merge`).")
    if run_url:
        lines += ["", f"_Proposed by [this monitor run]({run_url})._"]
    return "\n".join(lines) + "\n"


def _failed(client: GitHubClient, repo: str, manifest: dict[str, Any], issue: int | None, run_url: str | None,
            echo: Callable[[str], None]) -> Outcome:
    step = str(manifest.get("step") or "?")[:200]
    code = manifest.get("returncode") if isinstance(manifest.get("returncode"), int) else "?"
    log = "\n".join(str(line) for line in (manifest.get("log") or [])[-30:])
    message = f"retraining failed at step `{step}` (exit {code}); no branch was pushed"
    if issue is not None:
        from ci_mlops.escape import md_code

        body = (f"Retraining failed at step {md_code(step)} (exit {code}); no branch or pull request was pushed."
                + (f" [Monitor run]({run_url})." if run_url else "") + "\n\n" + _code_block(log or "(no output)"))
        stamp = f"<!-- ci-mlops:retrain-failed {run_url or manifest.get('base')} -->"
        pulls.comment_once(client, repo, issue, stamp, body)
        echo(f"ci-mlops: said so on the drift issue #{issue}")
    raise CheckFailed(message)


def _code_block(text: str) -> str:
    """A fenced block that the text cannot close (the fence outruns any backtick run inside)."""
    import re

    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"
