"""The report artifact of the fork-safe two-workflow pattern.

The ``pull_request`` run (read-only token on forks) writes ``report.md`` and
``pr.json`` = ``{"pr": N, "head_sha": "<40 hex>", "marker": "ID"}`` into a folder
that the workflow uploads. The ``workflow_run`` run downloads it; everything in it
is untrusted, so :func:`read_artifact` validates every field before any use.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci_mlops.errors import CheckFailed, UserError
from ci_mlops.fsutil import atomic_write, read_head_nofollow
from ci_mlops.github.comments import MARKER_ID_RE
from ci_mlops.github.shrink import COMMENT_LIMIT, shrink
from ci_mlops.safeload import load_json

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
MAX_REPORT_BYTES = 4 * 1024 * 1024
HEADROOM = 2048  # characters of a comment left for the marker line and the comment run's own notes
MAX_PR = 10**9


@dataclass(frozen=True)
class ReportArtifact:
    report: str
    pr: int
    head_sha: str
    marker: str | None = None


def write_artifact(folder: Path, report: str, pr: int, head_sha: str, marker: str | None,
                   run_url: str | None = None) -> None:
    """Write ``report.md`` and ``pr.json``; UserError when ``head_sha`` is not 40 lowercase hex digits.

    The report is shrunk here, in the fork's run, to what a comment can hold (leaving
    :data:`HEADROOM` for the marker and the comment run's notes), with a note pointing to
    ``run_url`` where the job summary has all of it: the comment run refuses anything
    over :data:`MAX_REPORT_BYTES`, so a large report would otherwise never reach the PR.
    """
    if not SHA_RE.fullmatch(head_sha or ""):
        raise UserError("cannot write the artifact: no 40-hex head commit (GITHUB_SHA or the event's pull_request.head.sha)")
    report = shrink(report, COMMENT_LIMIT - HEADROOM, run_url=run_url)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "report.md", report)
    payload: dict[str, Any] = {"pr": pr, "head_sha": head_sha}
    if marker:
        payload["marker"] = marker
    atomic_write(folder / "pr.json", json.dumps(payload) + "\n")


def read_artifact(folder: Path) -> ReportArtifact:
    """Load and validate an artifact folder; UserError naming the first problem."""
    meta_path, report_path = folder / "pr.json", folder / "report.md"
    meta_bytes = _read_regular(folder, meta_path, 4096)
    report_bytes = _read_regular(folder, report_path, MAX_REPORT_BYTES)
    try:
        meta = load_json(meta_bytes.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise UserError(f"artifact {meta_path}: not a JSON object") from None
    if not isinstance(meta, dict):
        raise UserError(f"artifact {meta_path}: not a JSON object")
    pr = meta.get("pr")
    if isinstance(pr, bool) or not isinstance(pr, int) or not 0 < pr < MAX_PR:
        raise UserError(f"artifact {meta_path}: \"pr\" must be a positive integer")
    sha = meta.get("head_sha")
    if not isinstance(sha, str) or not SHA_RE.fullmatch(sha):
        raise UserError(f"artifact {meta_path}: \"head_sha\" must be 40 lowercase hex digits")
    mark = meta.get("marker")
    if mark is not None and (not isinstance(mark, str) or not MARKER_ID_RE.fullmatch(mark)):
        raise UserError(f"artifact {meta_path}: \"marker\" is not a valid marker id")
    return ReportArtifact(report_text(report_bytes, f"artifact {report_path}"), pr, sha, mark)


def report_text(data: bytes, name: str) -> str:
    """A report's bytes as text; UserError (naming ``name``) when not UTF-8 or empty."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{name}: not UTF-8 text") from None
    if not text.strip():
        raise UserError(f"{name}: the report is empty, nothing to post")
    return text


def _read_regular(folder: Path, path: Path, limit: int) -> bytes:
    """The bytes of an untrusted artifact file: a regular file (no symlink to the runner's
    files, no device or /proc entry), read up to ``limit`` bytes whatever its claimed size."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise UserError(f"artifact {folder}: {path.name} is missing") from None
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"artifact {path}: not a regular file (symlinks and special files are refused)")
    data = read_head_nofollow(path, limit)
    if len(data) > limit:
        raise UserError(f"artifact {path}: larger than {limit:,} bytes")
    return data


def default_folder(env: Mapping[str, str]) -> Path | None:
    """Where a read-only run saves the artifact when no folder was given: ``$RUNNER_TEMP/ci-mlops/artifact``."""
    return Path(env["RUNNER_TEMP"]) / "ci-mlops" / "artifact" if env.get("RUNNER_TEMP") else None


def expected_head(artifact_sha: str, expected: str) -> str:
    """``expected`` (``$CI_MLOPS_EXPECTED_HEAD_SHA``, the commit the workflow run built) once it matches the artifact.

    UserError when it is not a sha; CheckFailed when the artifact is for another commit.
    """
    if not SHA_RE.fullmatch(expected):
        raise UserError("--from-artifact needs CI_MLOPS_EXPECTED_HEAD_SHA (github.event.workflow_run.head_sha) "
                        "as 40 lowercase hex digits")
    if artifact_sha != expected:
        raise CheckFailed(f"refusing to comment: the artifact is for commit {artifact_sha[:12]}, "
                          f"but the workflow run built {expected[:12]}")
    return expected
