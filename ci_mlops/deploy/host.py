"""What a release hands to the forge that hosts it, and what it needs back.

The forge's CI environment says where the run is (:class:`CiRun`). The release flow (:mod:`ci_mlops.deploy.flow`) publishes through a
:class:`ReleaseHost`; :class:`ci_mlops.github.releases.Releases` is the GitHub one.
Everything here is the same whichever forge hosts the release: the files attached
(:class:`Asset`), the body exactly as published (:func:`release_body`; the lineage
records its SHA-256), the ownership marker that tells a release ci-mlops made from
one a person made, and the two refusals.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ci_mlops.deploy.lineage import Lineage, is_lineage
from ci_mlops.errors import UserError
from ci_mlops.safeload import load_json

BODY_LIMIT = 125_000  # GitHub refuses longer release bodies

# Written into every release body ci-mlops creates, so a re-run can tell its own draft
# (created, crashed before any upload) from a release a person wrote by hand.
MARKER = "<!-- ci-mlops:release -->"


@dataclass(frozen=True)
class CiRun:
    """Where a release runs, as the forge's CI environment tells it (all empty on a laptop)."""

    repository: str | None = None  # OWNER/NAME
    actor: str | None = None
    run_url: str | None = None
    server_url: str = "https://github.com"
    in_ci: bool = False  # a workflow run: docker builds are left to the workflow's own step
    default_branch: str | None = None  # the default branch the run's event names (a hint)


@dataclass
class Asset:
    """A file to attach to the release."""

    name: str
    file: Path
    sha256: str
    size: int

    @property
    def content_type(self) -> str:
        if self.name.endswith(".json"):
            return "application/json"
        if self.name.endswith(".md"):
            return "text/markdown"
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"


class AssetConflict(UserError):
    """The release already has an asset of that name with different content (exit 2)."""


class ForeignRelease(UserError):
    """A release for the tag exists and ci-mlops did not make it (exit 2)."""


@dataclass
class ReleaseOutcome:
    """What a publish run did, for the summary and step outputs."""

    release: dict[str, Any] = field(default_factory=dict)
    created: bool = False
    uploaded: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    replaced_broken: list[str] = field(default_factory=list)
    published: bool = False

    @property
    def url(self) -> str:
        return str(self.release.get("html_url", ""))


@dataclass(frozen=True)
class RunFacts:
    """A CI run as its forge records it: the commit it built and who started it (None: not said)."""

    head_sha: str | None
    actor: str | None

    @classmethod
    def of(cls, head_sha: object, actor: object) -> RunFacts:
        """From an API answer's values: anything but text is "not said"."""
        return cls(head_sha if isinstance(head_sha, str) else None, actor if isinstance(actor, str) else None)


class ReleaseHost(Protocol):
    """The releases of one repository on a forge."""

    kind: str  # what the forge calls a release, for messages ("GitHub release")
    repo: str  # the repository, as the forge names it

    def find(self, tag: str) -> dict[str, Any] | None:
        """The release for ``tag``, drafts included, or None."""

    def assets(self, release: dict[str, Any]) -> list[dict[str, Any]]:
        """The release's assets (each with its ``name``)."""

    def read_asset(self, release: dict[str, Any], name: str) -> bytes | None:
        """The bytes of the release's asset called ``name``, or None."""

    def workflow_run(self, run_id: str) -> RunFacts:
        """The CI run ``run_id`` (a GitHub Actions run, a GitLab CI job) as the forge records it."""

    def publish(self, tag: str, *, title: str, body: str, prerelease: bool, draft: bool, assets: list[Asset],
                release: dict[str, Any] | None = None, adopt: bool = False) -> ReleaseOutcome:
        """Create or finish the release with exactly ``assets``, never overwriting different content."""


def marked(body: str) -> str:
    """``body`` with the ownership marker as its first line (once)."""
    return body if body.startswith(MARKER) else f"{MARKER}\n{body}"


def release_body(notes: str) -> str:
    """The release body exactly as published: the marker, then the notes clipped to :data:`BODY_LIMIT`."""
    body = marked(notes)
    if len(body) <= BODY_LIMIT:
        return body
    note = "\n\n> Release notes truncated; the full report is in model-card.md.\n"
    return body[: BODY_LIMIT - len(note)] + note


def made_by_ci_mlops(release: dict[str, Any], asset_names: set[str]) -> bool:
    """Whether ci-mlops created ``release``: its marker is in the body, or it carries an uploaded lineage.json."""
    return MARKER in (release.get("body") or "") or "lineage.json" in asset_names


def lineage_from_release(data: bytes | None) -> Lineage | None:
    """Parse a released lineage.json; None when absent, unreadable or not a lineage record by the
    published schema (then it is simply re-checked)."""
    if data is None:
        return None
    try:
        value = load_json(data)
    except ValueError:
        return None
    return value if is_lineage(value) else None
