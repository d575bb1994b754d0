"""`ci-mlops comment`: post or update the one sticky PR comment holding the report."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from ci_mlops.config import Config, load_config
from ci_mlops.config.records import ReportImages
from ci_mlops.errors import UserError
from ci_mlops.escape import guard_commands
from ci_mlops.forge.ci import detect
from ci_mlops.forge.comment import echo_posted
from ci_mlops.github import actions, pr_comment
from ci_mlops.github.context import GitHubContext
from ci_mlops.github.plot_branch import BranchPolicy
from ci_mlops.github.plot_images import PlotOptions
from ci_mlops.gitlab.comment import run


@click.command("comment")
@click.argument("report", metavar="[FILE|-]", required=False)
@click.option("--pr", "pr", type=click.IntRange(min=1), default=None,
              help="Pull request number (GitLab: merge request IID). Default: from the event payload "
                   "($CI_MERGE_REQUEST_IID); on a push, the open PR whose head is this commit.")
@click.option("--repo", metavar="OWNER/NAME", default=None, help="Repository (GitLab: project ID or GROUP/NAME). Default: $GITHUB_REPOSITORY "
                   "($CI_PROJECT_ID).")
@click.option("--token", default=None, help="GitHub token. Default: $CI_MLOPS_TOKEN, else $GITHUB_TOKEN (GitLab: $GITLAB_TOKEN). "
                                            "Prefer the environment: arguments can show in process lists.")
@click.option("--marker", "marker_opt", metavar="ID", default=None,
              help="Sticky-comment id: the comment carrying <!-- ci-mlops:ID --> is updated. Default: "
                   "comment.marker in the config, else the workflow name, so two workflows keep two comments.")
@click.option("--new", is_flag=True, help="Always post a new comment instead of updating the sticky one.")
@click.option("--replace-cml/--no-replace-cml", default=None,
              help="When no ci-mlops comment exists yet, update the newest CML comment (its watermark) "
                   "instead of adding a second one. Default: comment.replace_cml in the config.")
@click.option("--artifact-dir", type=click.Path(file_okay=False), default=None,
              help="Also save report.md and pr.json here, for the fork-safe comment workflow to post.")
@click.option("--from-artifact", type=click.Path(file_okay=False), default=None,
              help="Post the report saved by --artifact-dir in a pull_request run (untrusted: validated, "
                   "and the PR head must equal $CI_MLOPS_EXPECTED_HEAD_SHA).")
@click.option("--no-post", is_flag=True,
              help="Only save report.md and pr.json to --artifact-dir, for a later job or workflow to post; "
                   "sends nothing and needs no token (the job that runs the PR's code).")
@click.option("--plots-dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="The folder `ci-mlops report --plots-dir` drew the plots into (for a fork: inside the downloaded "
                   "artifact). Each image is checked (format from its bytes, size, pixels; SVG sanitised), "
                   "committed to the branch <prefix>/pr-N through the API and shown in the comment in place of "
                   "the Mermaid charts. A plot that cannot be published is one line, never a failed job.")
@click.option("--plots-publish/--no-plots-publish", default=None,
              help="Publish the images (needs `contents: write`); with --no-plots-publish the comment keeps the "
                   "Mermaid charts and links the run's artifact. Default: report.images.publish, else publish.")
@click.option("--plots-branch", default=None, metavar="PREFIX",
              help="Branch prefix for the images: PREFIX/pr-N, never the default branch. "
                   "Default: report.images.branch, else ci-mlops/plots.")
@click.option("--plots-keep", type=click.IntRange(1, 100), default=None, metavar="N",
              help="Runs of a PR whose image links stay valid; the run after the Nth starts the branch again. "
                   "Default: report.images.keep_runs, else 5.")
@click.option("--plots-on-close", type=click.Choice(["delete", "keep"]), default=None,
              help="What happens to the plot branch of a PR that is no longer open (deleted by the next "
                   "publishing run). Default: report.images.on_close, else delete.")
@click.option("--no-summary", is_flag=True, help="Do not copy the report to the job summary (another step did).")
@click.option("--dry-run", is_flag=True, help="Print the final body and the API calls it would make; send nothing.")
@click.option("-v", "--verbose", is_flag=True, help="Print every API call (method, path, status).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config file. Default: .ci-mlops.yml at the repository root.")
def command(report: str | None, pr: int | None, repo: str | None, token: str | None, marker_opt: str | None,
            new: bool, replace_cml: bool | None, artifact_dir: str | None, from_artifact: str | None,
            no_post: bool, plots_dir: str | None, plots_publish: bool | None, plots_branch: str | None,
            plots_keep: int | None, plots_on_close: str | None, no_summary: bool, dry_run: bool, verbose: bool,
            config_path: str | None) -> None:
    """Post the report FILE (or - for stdin) as the sticky comment of a pull request.

    The comment carries a hidden marker; a later run finds it through every
    page of the PR's comments and edits it in place, so the PR keeps one
    up-to-date ci-mlops comment. Reports over GitHub's 65,536-character limit
    are shortened (details collapsed, longest tables dropped) with a link to
    the workflow run. The full report always goes to the job summary too, and
    the step outputs comment-url and comment-id are set.

    \b
    In GitHub Actions everything comes from the environment: GITHUB_API_URL
    (GitHub Enterprise Server works unchanged), GITHUB_REPOSITORY,
    GITHUB_EVENT_PATH and GITHUB_TOKEN (or CI_MLOPS_TOKEN).

    A read-only token (pull requests from forks) does not fail the job: the
    report goes to the job summary and to the artifact folder
    (--artifact-dir, default $RUNNER_TEMP/ci-mlops/artifact), and a notice says
    so. The ci-mlops-comment.yml workflow then posts it with --from-artifact.

    \b
    In GitLab CI/CD (GITLAB_CI=true) the report becomes the sticky note of
    the merge request ($CI_MERGE_REQUEST_IID) through $CI_API_V4_URL, with a
    project access token in the masked variable CI_MLOPS_TOKEN (CI_JOB_TOKEN
    cannot write notes). See docs/gitlab.md.

    Exit codes: 0 posted (or skipped with a notice), 1 the artifact is not for
    the commit the workflow run built, 2 bad input (missing or empty report, no PR, malformed
    event, bad token, PR not found), 3 GitHub kept failing.
    """
    if detect(os.environ) == "gitlab":  # GitLab CI/CD (or CI_MLOPS_FORGE=gitlab): the sticky MR note
        return run(report=report, number=pr, project=repo, token=token, marker_opt=marker_opt, new=new,
                   artifact_dir=artifact_dir, from_artifact=from_artifact, no_post=no_post, dry_run=dry_run,
                   verbose=verbose, config_path=config_path)

    if report and from_artifact:
        raise UserError("give either a report FILE or --from-artifact, not both")
    if pr is not None and from_artifact:
        raise UserError("--pr cannot be combined with --from-artifact: the PR number comes from the artifact")
    if not report and not from_artifact:
        raise UserError("no report: give a report FILE (or - for stdin), or --from-artifact DIR")
    if no_post and (from_artifact or not artifact_dir):
        raise UserError("--no-post saves the report for later: give a report FILE and --artifact-dir DIR")
    ctx = GitHubContext.from_env(token=token, repo=repo)
    actions.mask(ctx.token)
    config = load_config(config_path, required=config_path is not None)
    save_to = Path(artifact_dir) if artifact_dir else None
    plan = pr_comment.plan_comment(ctx, config, report=report, from_artifact=Path(from_artifact) if from_artifact else None,
                                pr=pr, marker_opt=marker_opt, new=new, replace_cml=replace_cml, artifact_dir=save_to,
                                summary=not (no_summary or no_post))
    if plots_dir and not no_post:
        plan.plots = _plot_options(config, plots_dir, plots_publish, plots_branch, plots_keep, plots_on_close)
    if no_post:
        if plan.pr is None:
            raise UserError("--no-post: no pull request in this context (pass --pr N); nothing saved")
        click.echo(f"saved the report for PR #{plan.pr} in {artifact_dir}; not posted (--no-post)")
        return
    if dry_run:
        click.echo(guard_commands(plan.body))
        for line in pr_comment.plan_lines(plan):
            click.echo(line, err=True)
        return

    log = (lambda line: click.echo(f"  {line}", err=True)) if verbose else None
    result = pr_comment.post_comment(ctx, plan, artifact_dir=save_to, log=log)
    if isinstance(result, pr_comment.Skipped):
        click.echo(f"ci-mlops: {result.message}", err=result.read_only)
        actions.annotate("notice", result.annotation)
        return
    echo_posted(result.outcome, result.usage, "comment")


def _plot_options(config: Config, folder: str, publish: bool | None, branch: str | None, keep: int | None,
                  on_close: str | None) -> PlotOptions:
    """--plots-* over report.images over the defaults; UserError for a branch prefix git refuses."""
    report = config.settings.report
    images = (report.images if report is not None else None) or ReportImages()
    prefix = branch or images.branch
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*", prefix) or ".." in prefix \
            or prefix.endswith((".lock", ".")):
        raise UserError(f"--plots-branch {prefix[:80]!r} is not a branch name prefix "
                        "(letters, digits, '.', '_', '-' and '/' between parts)")
    policy = BranchPolicy(prefix, keep or images.keep_runs, on_close or images.on_close)
    return PlotOptions(Path(folder), images.publish if publish is None else publish, policy)
