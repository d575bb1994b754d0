"""`ci-mlops init`: scaffold .ci-mlops.yml and secure GitHub workflows into a repository."""

from __future__ import annotations

import click

from ci_mlops.deploy.targets import TARGETS
from ci_mlops.errors import UserError
from ci_mlops.scaffold.init import InitOptions, run_init


@click.command("init")
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option("-y", "--yes", is_flag=True, help="Accept the detected defaults without prompting.")
@click.option("--deploy", type=click.Choice(TARGETS), default=None,
              help="Where a version tag releases the model. Default: github-release (gitlab-release with --ci "
                   "gitlab).")
@click.option("--ci", "ci", type=click.Choice(("github", "gitlab")), default=None,
              help="The CI to generate for. Default: gitlab when the repository has a .gitlab-ci.yml or a GitLab "
                   "origin remote and no GitHub workflows, else github.")
@click.option("--runner", "runners", multiple=True, metavar="LABEL",
              help="runs-on label of the jobs; repeat for several (e.g. --runner self-hosted --runner gpu).")
@click.option("--base", default=None, metavar="BRANCH", help="Base branch of reports and gates. Default: the default branch.")
@click.option("--python", "python_version", default=None, metavar="VERSION",
              help="Python version of the workflows. Default: from .python-version, pyproject.toml or runtime.txt.")
@click.option("--mode", type=click.Choice(("full", "reusable")), default=None,
              help="full: self-contained workflows (default). reusable: short callers of ci-mlops' "
                   "reusable workflows, pinned by commit SHA. Remembered for later runs.")
@click.option("--dvc/--no-dvc", "dvc", default=None,
              help="For a repo without DVC: run `dvc init` and scaffold a one-stage dvc.yaml (--dvc), or leave "
                   "DVC out (--no-dvc). Default: leave it out (without --yes, ask when there is a training script).")
@click.option("--workflows-ref", default=None, metavar="OWNER/REPO@SHA",
              help="--mode reusable: the repository and commit of the reusable workflows. Default: this release's.")
@click.option("--dry-run", is_flag=True, help="Print a unified diff of what would change; write nothing.")
@click.option("--dockerfile", is_flag=True,
              help="With the docker deploy target: also write a minimal Dockerfile for the model image "
                   "(only when none exists).")
@click.option("--source", default=None, metavar="REQUIREMENT",
              help="Where the workflows install ci-mlops from (ci_mlops.source in a new .ci-mlops.yml): "
                   "ci-mlops==X.Y.Z, git+https://github.com/ci-mlops/ci-mlops@<commit sha> or a wheel URL. "
                   "Default: this version from PyPI.")
@click.option("--force", is_flag=True, help="Overwrite (or recreate) generated files you edited (or deleted).")
def command(path: str, yes: bool, deploy: str | None, runners: tuple[str, ...], base: str | None,
            python_version: str | None, mode: str | None, dvc: bool | None, workflows_ref: str | None,
            dry_run: bool, force: bool, dockerfile: bool, source: str | None, ci: str | None) -> None:
    """Set up the CI/CD loop in the repository at PATH (default: the current one).

    Detects the repository's default branch, Python version, install and test
    commands, DVC pipelines (one or several dvc.yaml files) and remotes, then writes:

    \b
      .ci-mlops.yml                           only when absent; an existing one is read and drives the rest
      .github/workflows/ci-mlops-pr.yml       retrain, test, gates, sticky PR comment; DVC push on the default branch
      .github/workflows/ci-mlops-comment.yml  posts the comment for fork PRs (workflow_run, no PR code run)
      .github/workflows/ci-mlops-release.yml  release on tags v*, NAME@vX.Y.Z, NAME#STAGE#N (unless --deploy none)
      .github/workflows/ci-mlops-monitor.yml  scheduled drift monitor (when drift: is configured)
      .github/ci-mlops.lock                   what was generated, to tell it from your edits

    \b
    With --ci gitlab (GitLab CI/CD):
      .gitlab/ci-mlops.yml    merge request, default-branch, tag and scheduled jobs
      .gitlab-ci.yml          only when absent: includes .gitlab/ci-mlops.yml
      .gitlab/ci-mlops.lock   what was generated

    Safe to run again: unchanged files stay byte-identical, files you edited are
    kept (unless --force), your own workflows are never touched. --dry-run shows
    the diff first. Without --yes it asks before writing.
    """
    try:
        run_init(InitOptions(
            path=path, yes=yes, deploy=deploy, runners=list(runners), base=base, python=python_version,
            mode=mode, dvc=dvc, workflows_ref=workflows_ref, dry_run=dry_run, force=force,
            dockerfile=dockerfile, source=source, ci=ci,
        ))
    except click.exceptions.Abort:  # a question went unanswered (no terminal, Ctrl-C, Ctrl-D)
        click.echo()  # end the prompt's line
        raise UserError("stopped before writing anything: a question went unanswered "
                        "(pass --yes to accept the detected defaults)") from None
