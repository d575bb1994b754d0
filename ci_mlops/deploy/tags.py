"""Release tags: SemVer ``vX.Y.Z`` and the GTO model-registry conventions.

* ``v1.2.3`` (any SemVer 2.0 version with a leading ``v``): release the repo's model.
* ``NAME@v1.2.3``: register version 1.2.3 of artifact NAME.
* ``NAME#STAGE#N``: assign STAGE to NAME (N counts assignments so history survives);
  deploys to the GitHub environment named after the stage.
* ``NAME@v1.2.3!`` (deregister), ``NAME#STAGE!#N`` (unassign), ``NAME@deprecated``:
  recognised, but there is nothing to release for them.

Names follow GTO: letters, digits, ``-``, ``_``, ``/``, at least two characters,
starting and ending with a letter or digit; an artifact of a ``dvc.yaml`` in a
sub-folder is ``PATH=NAME`` (GTO's spelling of ``PATH:NAME`` inside a tag).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ci_mlops.errors import UserError

# semver.org's recommended expression, with the leading "v".
SEMVER = (
    r"v(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9_/-]*[A-Za-z0-9])"
NAME = rf"(?:(?P<path>[A-Za-z0-9_./-]+)=)?(?P<name>{_NAME})"
_STAGE = r"(?P<stage>[A-Za-z0-9](?:[A-Za-z0-9_/-]*[A-Za-z0-9])?)"

_VERSION_RE = re.compile(rf"^{SEMVER}$")
_REGISTER_RE = re.compile(rf"^{NAME}@{SEMVER}(?P<bang>!)?$")
_STAGE_RE = re.compile(rf"^{NAME}#{_STAGE}(?P<bang>!)?#(?P<number>[1-9]\d*)$")
_DEPRECATE_RE = re.compile(rf"^{NAME}@deprecated$")

# What each kind of tag asks for. Only the first three release anything.
VERSION, REGISTER, STAGE = "version", "register", "stage"
DEREGISTER, UNASSIGN, DEPRECATE = "deregister", "unassign", "deprecate"
RELEASING = (VERSION, REGISTER, STAGE)


@dataclass(frozen=True)
class Tag:
    """A parsed release tag."""

    raw: str
    kind: str
    name: str | None = None  # artifact name (None for a plain version tag)
    path: str | None = None  # folder of the dvc.yaml declaring the artifact (PATH=NAME)
    version: str | None = None  # "1.2.3-rc.1", no "v"; None for stage tags until resolved
    stage: str | None = None
    number: int | None = None

    @property
    def releases(self) -> bool:
        return self.kind in RELEASING

    @property
    def prerelease(self) -> bool:
        return bool(self.version and _VERSION_RE.match("v" + self.version).group("pre"))

    @property
    def artifact(self) -> str | None:
        """The artifact's full name as DVC writes it (``path:name``), or None."""
        if self.name is None:
            return None
        return f"{self.path}:{self.name}" if self.path else self.name


def parse_tag(raw: str) -> Tag:
    """Parse a tag name (``refs/tags/`` prefix allowed); anything else is a one-line UserError."""
    tag = raw.strip()
    if tag.startswith("refs/tags/"):
        tag = tag[len("refs/tags/"):]
    elif tag.startswith("refs/"):
        raise UserError(f"'{_printable(raw)}' is not a tag ref; deploy runs on tags like v1.2.3, NAME@v1.2.3 or NAME#STAGE#N")
    if m := _VERSION_RE.match(tag):
        return Tag(tag, VERSION, version=_version(m))
    if m := _REGISTER_RE.match(tag):
        return Tag(tag, DEREGISTER if m.group("bang") else REGISTER, name=m.group("name"),
                   path=m.group("path"), version=_version(m))
    if m := _STAGE_RE.match(tag):
        return Tag(tag, UNASSIGN if m.group("bang") else STAGE, name=m.group("name"), path=m.group("path"),
                   stage=m.group("stage"), number=int(m.group("number")))
    if m := _DEPRECATE_RE.match(tag):
        return Tag(tag, DEPRECATE, name=m.group("name"), path=m.group("path"))
    raise UserError(_explain(_printable(tag)))


def version_key(version: str) -> tuple:
    """Sort key implementing SemVer precedence (build metadata ignored)."""
    m = _VERSION_RE.match("v" + version)
    if not m:
        raise ValueError(f"not a SemVer version: {version}")
    core = (int(m.group("major")), int(m.group("minor")), int(m.group("patch")))
    pre = m.group("pre")
    if pre is None:
        return (*core, 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (*core, 0, ids)


def docker_tag(text: str) -> str:
    """A string made safe as a Docker image tag ([A-Za-z0-9_.-], at most 128, no leading . or -)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).lstrip(".-")
    return safe[:128] or "latest"


def _version(m: re.Match[str]) -> str:
    text = f"{m.group('major')}.{m.group('minor')}.{m.group('patch')}"
    if m.group("pre"):
        text += f"-{m.group('pre')}"
    if m.group("build"):
        text += f"+{m.group('build')}"
    return text


def _printable(text: str) -> str:
    """The text with control characters escaped, so a message stays on one line."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _explain(tag: str) -> str:
    """Say why a tag was refused, as precisely as we can."""
    hint = "expected vX.Y.Z (SemVer), NAME@vX.Y.Z or NAME#STAGE#N"
    if not tag:
        return f"no tag given; {hint}"
    if "@" in tag:
        name, _, version = tag.partition("@")
        if not re.fullmatch(NAME, name):
            return f"tag '{tag}': '{name}' is not a valid artifact name (letters, digits, -, _, /; starts and ends with a letter or digit)"
        return f"tag '{tag}': '{version}' is not a SemVer version with a leading v (e.g. v1.2.3); {hint}"
    if "#" in tag:
        return f"tag '{tag}' is not a stage assignment NAME#STAGE#N (N a positive number); {hint}"
    if re.fullmatch(r"\d+\.\d+\.\d+.*", tag):
        return f"tag '{tag}' needs a leading v (v{tag}); {hint}"
    return f"tag '{tag}' is neither a version nor a model-registry tag; {hint}"
