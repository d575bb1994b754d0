"""``train.commit_results``: commit what CI trained on a same-repo PR back to its branch.

The training job stages the changed results (:func:`stage_pr_results`) and says in the
report what happens to them; the commit job, which runs no PR code, validates the folder
and fast-forwards the PR's branch by one bot commit (:func:`commit_pr_results`). A fork's
branch is never written: its report shows the commands to run locally.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_mlops.errors import CheckFailed, UserError
from ci_mlops.github import gitdata
from ci_mlops.retrain.results import read_manifest, result_paths, validate_files
from ci_mlops.retrain.stage import stage_results

if TYPE_CHECKING:
    from ci_mlops.github.client import GitHubClient

TRAILER = "Ci-Mlops-Results"


def stage_pr_results(root: Path, folder: Path, *, head: str, fork: bool, report: Path | None) -> dict[str, Any]:
    """Stage the changed results of this workspace (nothing for a fork) and note the outcome in ``report``."""
    if fork:
        from ci_mlops.retrain.results import changed_files, is_result

        allowed = result_paths(root)
        paths = [p for p in changed_files(root) if is_result(p, allowed)]
        manifest: dict[str, Any] = {"status": "fork", "files": [{"path": p} for p in paths]}
    else:
        manifest = stage_results(root, folder, {"kind": "results", "base": head})
    paths = [f["path"] for f in manifest["files"]]
    if report is not None and paths:
        with report.open("a", encoding="utf-8") as out:
            out.write("\n" + results_note(paths, fork=fork))
    return manifest


def results_note(paths: list[str], *, fork: bool) -> str:
    from ci_mlops.escape import md_code

    listed = ", ".join(md_code(p) for p in paths[:20]) + (f" and {len(paths) - 20} more" if len(paths) > 20 else "")
    if not fork:
        return (f"#### Training results\n\nCI's training changed {listed}: ci-mlops commits them to this branch "
                "and pushes the outputs to the DVC remote (`train.commit_results`).\n")
    words = " ".join(_quote(p) for p in paths)
    return ("#### Training results\n\nCI's training changed " + listed + ", but **they were not committed**: this "
            "pull request comes from a fork, and CI never writes to a fork's branch. To commit them yourself, run:\n\n"
            "```sh\ndvc repro\n"
            f"git add {words}\ngit commit -m \"Training results\"\ngit push\ndvc push\n```\n")


def _quote(path: str) -> str:
    import shlex

    return shlex.quote(path)


def commit_pr_results(root: Path, folder: Path, client: GitHubClient, repo: str, *, pr: dict[str, Any],
                      remote: str | None, echo: Callable[[str], None] = print) -> str | None:
    """Fast-forward the PR's branch by one commit with the validated results; its SHA, or None when there is none."""
    from ci_mlops.retrain.publish import _push_outputs

    head = pr.get("head") or {}
    if (head.get("repo") or {}).get("full_name") != repo:
        raise UserError(f"PR #{pr.get('number')} comes from a fork; its branch is never written")
    manifest = read_manifest(folder)
    if manifest.get("status") == "unchanged":
        echo("ci-mlops: the training changed no results; nothing to commit")
        return None
    if manifest.get("status") != "changed" or manifest.get("kind") != "results":
        raise CheckFailed(f"{folder}/retrain.json: not staged PR results; refusing the folder")
    sha = str(head.get("sha"))
    if manifest.get("base") != sha:
        raise CheckFailed(f"the results are of {str(manifest.get('base'))[:12]}, the PR's head is {sha[:12]}; "
                          "not committed (the next run trains the new head)")
    files = validate_files(folder, manifest, result_paths(root))
    _push_outputs(root, folder / "dvc-outputs", files, remote, echo)
    paths = [p for p, _ in files]
    message = "ci-mlops: training results\n\nWhat CI trained for this commit:\n\n" + "\n".join(
        f"- {p}" for p in paths) + f"\n\n{TRAILER}: {sha}\n"
    commit = gitdata.commit_files(client, repo, parent=sha, files=files, message=message)
    from ci_mlops.github.client import ApiError

    try:
        gitdata.move_branch(client, repo, str(head.get("ref")), commit["sha"], force=False)
    except ApiError as exc:
        if exc.status == 422:
            raise CheckFailed(f"{head.get('ref')} moved since CI trained {sha[:12]}; results not committed "
                              "(the run for the new head trains it)") from None
        raise
    echo(f"ci-mlops: committed {len(paths)} file(s) to {head.get('ref')}: {commit['sha'][:12]}")
    return commit["sha"]
