"""The GitHub Actions runtime, the way actions/toolkit does it.

Outputs go to ``$GITHUB_OUTPUT``, Markdown to ``$GITHUB_STEP_SUMMARY`` (at most
1 MiB per step), problems to stdout as ``::error file=…,line=…::`` annotations,
secrets are hidden with ``::add-mask::``. Outside Actions every function is a
no-op (or prints nothing), so commands call them unconditionally.
"""

from __future__ import annotations

import os

from ci_mlops.escape import workflow_data, workflow_property

SUMMARY_LIMIT = 1024 * 1024  # bytes per step


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def set_output(name: str, value: str) -> None:
    """Append a step output; multi-line values use a random heredoc delimiter."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    value = str(value)
    with open(path, "a", encoding="utf-8") as fh:
        if "\n" in value or "\r" in value:
            import uuid  # lazy: only a multi-line output needs a delimiter (uuid loads platform)

            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            fh.write(f"{name}={value}\n")


def append_summary(markdown: str) -> bool:
    """Append Markdown to the job summary, truncated to stay within the 1 MiB limit.

    Returns False when there is no summary file (not in Actions).
    """
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    try:
        used = os.path.getsize(path)
    except OSError:
        used = 0
    room = SUMMARY_LIMIT - used - 1
    data = markdown.encode("utf-8")
    if len(data) > room:
        note = b"\n\n> Truncated: the full report is in the workflow run's logs and artifacts.\n"
        data = data[: max(0, room - len(note))].decode("utf-8", "ignore").encode("utf-8") + note
    with open(path, "ab") as fh:
        fh.write(data + b"\n")
    return True


def _escape_data(value: str) -> str:
    return workflow_data(value)


def _escape_property(value: str) -> str:
    return workflow_property(value)


def annotate(level: str, message: str, *, file: str | None = None, line: int | None = None,
             title: str | None = None) -> None:
    """Print a workflow command annotation (``error``, ``warning`` or ``notice``) when in Actions."""
    if not in_actions():
        return
    props = []
    if file:
        props.append(f"file={_escape_property(file)}")
    if line:
        props.append(f"line={int(line)}")
    if title:
        props.append(f"title={_escape_property(title)}")
    head = f"::{level}" + (" " + ",".join(props) if props else "")
    import click  # lazy: only a workflow command needs it (the report's quick path runs without click)

    click.echo(f"{head}::{_escape_data(message)}")


def mask(secret: str | None) -> None:
    """Ask the runner to hide a secret in all later log lines."""
    if secret and in_actions():
        import click  # lazy: only a workflow command needs it (the report's quick path runs without click)

        click.echo(f"::add-mask::{_escape_data(secret)}")
