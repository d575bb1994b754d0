"""`ci-mlops report` once its options are parsed: a plain function, no click.

Both ways into the command call :func:`run`: the click command (``commands/report.py``) and
the entry point's quick parser (``ci_mlops/quick.py``), which reads the options of a plain
``ci-mlops report ...`` itself so the command starts without importing click. Output goes
through :func:`echo`, which writes as ``click.echo`` does.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import sys

from ci_mlops.config import Config, find_config_file, load_config
from ci_mlops.config.records import Report
from ci_mlops.errors import UserError
from ci_mlops.escape import guard_commands, md_code, md_text
from ci_mlops.git import BlobReader, Repo
from ci_mlops.github.actions import append_summary, in_actions
from ci_mlops.report import build_report, to_json
from ci_mlops.report.markdown import render_markdown
from ci_mlops.report.revisions import change_base_branch

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import TextIO

    from ci_mlops.report.document import ReportDocument

_ANSI = r"\033\[[;?0-9]*[a-zA-Z]"  # click's pattern of a colour or style code (compiled when first needed)


def echo(text: str, *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` for text: the line to stdout (or stderr), colour codes stripped when the
    stream is not a terminal, flushed."""
    stream: TextIO | None = sys.stderr if err else sys.stdout
    if stream is None:
        return
    if _ascii(getattr(stream, "encoding", None) or "ascii"):
        import click  # lazy: click re-wraps a stream misconfigured as ASCII (UTF-8 out); only then needed

        click.echo(text, err=err, nl=nl)
        return
    out = text + "\n" if nl else text
    if "\033" in out and not _isatty(stream):
        out = re.sub(_ANSI, "", out)
    if out:
        stream.write(out)
    stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except Exception:  # as click: a stream that cannot tell is not a terminal
        return False


def _ascii(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "ascii"
    except LookupError:
        return False


def run(base: str | None, head: str | None, fmt: str, output: str | None, show_all: bool,
        history: int | None, no_plots: bool, max_chars: int | None, checks: bool,
        summary: bool, plots_dir: str | None, config_path: str | None, gates_from: str) -> None:
    """`ci-mlops report` with its options (the names and defaults of the click command's)."""
    repo = Repo.discover(os.getcwd())
    if plots_dir:
        _require_vl_convert()

    config = load_config(config_path or find_config_file(repo.top), required=config_path is not None)
    judged = _may_judge(config, gates_from)
    reader = BlobReader(repo.top)  # one git process reads the base branch's gates, then the report (started when asked)
    if judged:
        from ci_mlops.checks.gatesource import deciding_config, render_changes  # lazy: see _may_judge
        from ci_mlops.checks.records import as_judged  # lazy: see _may_judge

        config, source = deciding_config(config, repo, gates_from=gates_from, base=base, reader=reader)
    if history is None:
        history = (config.settings.report or Report()).history
    report = build_report(repo, base, head, config=config, history=history,
                          plots=False if no_plots else None, reader=reader)
    if head is None:
        _name_the_pull_request(report)
    if judged:
        if checks:
            _add_checks(config, repo.top, report, workspace=head is None)
            section = render_changes(source, report)
            if section:
                report.setdefault("sections", []).insert(0, section)
        if source.origin != "workspace":
            as_judged(report)["gate_source"] = source.to_json()
    elif checks:
        report.setdefault("sections", [])  # as add_to_report leaves a report with no checks
    if plots_dir:
        _render_plots(repo.root, report, plots_dir, workspace=head is None)
    job_summary = summary and in_actions()
    markdown = ""  # --format json renders the Markdown only for the job summary
    if fmt != "json" or job_summary:
        if judged:
            from ci_mlops.checks.render import report_markdown  # lazy: see _may_judge

            markdown = report_markdown(report, show_all=show_all, max_chars=max_chars)
        else:  # what report_markdown renders for a report without gates
            markdown = render_markdown(report, show_all=show_all, max_chars=max_chars)
    text = to_json(report) if fmt == "json" else markdown
    if output:
        from ci_mlops.fsutil import write_output  # lazy: only a report written to a file needs it

        write_output(output, text, announce=lambda line: echo(f"ci-mlops: {line}", err=True))
        echo(f"ci-mlops: report written to {output}", err=True)
    else:
        echo(text if fmt == "json" else guard_commands(text), nl=False)
    if job_summary:
        append_summary(markdown)


# checks.gatesource.GATE_SECTIONS: the sections that gate or check (a test keeps the two equal).
JUDGED_SECTIONS = ("metrics", "data", "slices")


def _may_judge(config: Config, gates_from: str) -> bool:
    """Whether any gate or check can apply to this run; if not, the checks package (~1.5 ms of
    imports for metric gates, pandas' ~0.5 s for data checks and slices) is not loaded and the
    report is rendered as one with no gates.

    Gates come from the workspace's file, or in a pull/merge request (or with an explicit
    ``--gates-from``) from the base branch's, which only the checks package reads.
    """
    if gates_from not in ("auto", "workspace"):
        return True  # the base branch's gates, or an invalid choice deciding_config words
    if gates_from == "auto" and change_base_branch(os.environ) is not None:
        return True
    return any(key in config.written for key in JUDGED_SECTIONS)


def _add_checks(config: Config, root: str, report: ReportDocument, *, workspace: bool) -> None:
    """Put the same verdicts `ci-mlops check` reaches into the report.

    Data and slice checks read files on disk, so they only describe the head when
    the head is the workspace; metric gates work for any pair of revisions.
    """
    from ci_mlops.checks import add_to_report  # lazy: only a run with gates or checks needs them

    add_to_report(config, root, report, files=workspace)


def _name_the_pull_request(report: ReportDocument) -> None:
    """In a pull_request run the workspace is GitHub's merge commit, which nobody has seen:
    name the PR and its head commit instead (``report["head"]["pr"]``)."""
    if not in_actions():
        return
    from ci_mlops.github.context import GitHubContext  # lazy: its API client (~8 ms) only inside Actions

    try:
        ctx = GitHubContext.from_env()
        number, sha = ctx.pr_number, ctx.head_sha
    except UserError:  # a malformed payload is `ci-mlops comment`'s to report
        return
    if number is not None and sha and "pull_request" in ctx.event:
        report["head"]["pr"] = {"number": number, "sha": sha}
    elif ctx.event_name == "workflow_dispatch" and ctx.sha:  # ci-mlops runs the PR workflow on branches it commits to
        pr = (ctx.event.get("inputs") or {}).get("pr")
        if isinstance(pr, (str, int)) and not isinstance(pr, bool) and str(pr).isdigit() and int(pr) > 0:
            report["head"]["pr"] = {"number": int(pr), "sha": ctx.sha}


def _render_plots(root: Path, report: ReportDocument, plots_dir: str, *, workspace: bool) -> None:
    """Draw the plots into ``plots_dir`` and say what was drawn in a report section; a plot
    that cannot be drawn is one line there (and on stderr), never a failed command."""
    # DVC labels each series with the revision it was given: the refs the report names
    sides = report["base"], report["head"]  # a built report names both (ref and commit)
    base, head = sides[0]["ref"] or "", None if workspace else sides[1]["ref"]
    if base == head:
        base, head = (sides[0]["sha"] or "")[:12], (sides[1]["sha"] or "")[:12]
    from pathlib import Path  # lazy: only --plots-dir writes its listing (start-up without pathlib)

    from ci_mlops.report.render_plots import render_plots  # lazy: only --plots-dir draws plots

    result = render_plots(root, plots_dir, base, head)
    Path(plots_dir, "plots.json").write_text(json.dumps(result.to_json(relative_to=plots_dir), indent=2) + "\n", encoding="utf-8")
    echo(f"ci-mlops: {len(result.charts)} plot(s) drawn and {len(result.images)} image(s) copied to "
               f"{plots_dir}", err=True)

    # In Actions the folder is a runner path nobody can open: the comment job shows the images
    # (or links the artifact), so the report only names what could not be drawn.
    lines = [] if in_actions() else [(f"{len(result.charts)} chart(s) drawn as SVG and {len(result.images)} "
                                      f"image(s) copied to {md_code(plots_dir)}.")]
    for failure in result.failures:
        echo(f"ci-mlops: plot not drawn: {failure}", err=True)
        lines.append(f"- ⚠️ {md_text(failure)}")
    if lines:
        report.setdefault("sections", []).append({"title": "Plot images", "markdown": "\n".join(lines),
                                                  "passed": None})


def _require_vl_convert() -> None:
    from importlib.util import find_spec  # lazy: only --plots-dir asks (importlib.util brings contextlib, ~1 ms)

    if find_spec("vl_convert") is None:
        raise UserError("--plots-dir needs vl-convert-python: pip install 'ci-mlops[plots]'")
