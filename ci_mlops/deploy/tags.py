"""Release tags, in one place: SemVer ``vX.Y.Z`` and every tag GTO's registry accepts.

* ``v1.2.3`` (any SemVer 2.0 version with a leading ``v``): release the repo's model.
* ``NAME@v1.2.3``: register version 1.2.3 of artifact NAME.
* ``NAME#STAGE``: assign STAGE to NAME; deploys to the GitHub environment the
  default branch's allow-list maps the stage to.
* ``NAME@v1.2.3!`` (deregister), ``NAME#STAGE!`` (unassign), ``NAME@deprecated``,
  ``NAME@created``: recognised, but there is nothing to release for them.
* Each of those may end in a counter ``#N`` (``NAME@v2.0.0#11``, ``NAME#prod!#3``):
  GTO numbers its tags so a stage can be assigned again and history survives.

The grammar is GTO's own (``gto/constants.py``, ``tag_re``, GTO 1.x): names are letters,
digits, ``-``, ``_``, ``/``, starting and ending with a letter or digit; an artifact of a
``dvc.yaml`` in a sub-folder is ``DIRNAME=NAME`` (GTO's spelling of ``DIRNAME:NAME`` in a
tag). ``tests/unit/deploy/test_tags.py`` checks this module against GTO's parser.

Everything that reads tags (the facts of ``deploy --plan``, the release, ``audit``) asks
this module which commit a tag points at, which model and version it releases (a stage
tag's version: :func:`release_version`) and which release came before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_mlops.errors import UserError

if TYPE_CHECKING:  # annotations only: the tag grammar loads neither YAML nor git
    from ci_mlops.config import Config
    from ci_mlops.git import Repo

# semver.org's recommended expression, with the leading "v".
SEMVER = (
    r"v(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-/_]*[a-zA-Z0-9])?"  # GTO's `name`
_DIRNAME = r"[a-zA-Z0-9\-_./]+"  # GTO's `dirname`
NAME = rf"(?:(?P<path>{_DIRNAME})=)?(?P<name>{_NAME})"

_VERSION_RE = re.compile(rf"^{SEMVER}$")
# GTO's tag_re, with named groups for what a release needs.
_GTO_RE = re.compile(
    rf"^{NAME}(?:(?:#(?P<stage>{_NAME})|@(?P<version>{SEMVER}))(?P<cancel>!?)"
    r"|@(?:(?P<deprecated>deprecated)|(?P<created>created)))(?:#(?P<counter>[0-9]+))?$"
)
_NAME_RE = re.compile(rf"^{_NAME}$")

# What each kind of tag asks for. Only the first three release anything.
VERSION, REGISTER, STAGE = "version", "register", "stage"
DEREGISTER, UNASSIGN, DEPRECATE, CREATE = "deregister", "unassign", "deprecate", "create"
RELEASING = (VERSION, REGISTER, STAGE)
KINDS = (VERSION, REGISTER, STAGE, DEREGISTER, UNASSIGN, DEPRECATE, CREATE)


@dataclass(frozen=True)
class Tag:
    """A parsed release tag."""

    raw: str
    kind: str
    name: str | None = None  # artifact name (None for a plain version tag)
    path: str | None = None  # folder of the dvc.yaml declaring the artifact (DIRNAME=NAME)
    version: str | None = None  # "1.2.3-rc.1", no "v"; None for stage tags until resolved
    stage: str | None = None
    number: int | None = None  # GTO's counter (#N), when the tag has one

    @property
    def releases(self) -> bool:
        return self.kind in RELEASING

    @property
    def prerelease(self) -> bool:
        return is_prerelease(self.version)

    @property
    def artifact(self) -> str | None:
        """The artifact's full name as DVC and GTO write it (``dirname:name``), or None."""
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
    m = _GTO_RE.match(tag)
    if m is None:
        raise UserError(_explain(_printable(tag)))
    counter = int(m.group("counter")) if m.group("counter") is not None else None
    common: dict[str, Any] = {"name": m.group("name"), "path": m.group("path"), "number": counter}
    cancel = bool(m.group("cancel"))
    if m.group("version"):
        return Tag(tag, DEREGISTER if cancel else REGISTER, version=_version(m), **common)
    if m.group("stage"):
        return Tag(tag, UNASSIGN if cancel else STAGE, stage=m.group("stage"), **common)
    return Tag(tag, DEPRECATE if m.group("deprecated") else CREATE, **common)


def try_parse(raw: str) -> Tag | None:
    try:
        return parse_tag(raw)
    except UserError:
        return None


def parse_all(tags: Iterable[str]) -> list[Tag]:
    """The tags that parse, in the given order; others (``baseline-experiment``) are not release tags."""
    return [t for t in map(try_parse, tags) if t is not None]


def meant_as_release(raw: str) -> bool:
    """Whether a tag that does not parse looks like an attempt at one (``1.2.3``, ``m@1.0``, ``v1.2``),
    as opposed to a tag with another purpose (``baseline-experiment``, ``0-git-init``)."""
    text = raw.strip().removeprefix("refs/tags/")
    return "@" in text or "#" in text or bool(re.match(r"v?\d+\.\d+", text))


def is_stage_name(text: str) -> bool:
    return bool(_NAME_RE.match(text))


def is_prerelease(version: str | None) -> bool:
    m = _VERSION_RE.match("v" + version) if version else None
    return bool(m and m.group("pre"))


def stage_version(tag: Tag, at_commit: Iterable[Tag]) -> str | None:
    """The version a stage tag assigns, as GTO finds it: the version of the same artifact
    registered at the tagged commit (the highest, when several are), else the highest plain
    ``vX.Y.Z`` there; None when the commit has neither (GTO then names the version by commit)."""
    tags = list(at_commit)
    for kind, artifact in ((REGISTER, tag.artifact), (VERSION, None)):
        versions = [t.version for t in tags if t.kind == kind and t.artifact == artifact and t.version]
        if versions:
            return max(versions, key=version_key)
    return None


def release_version(tag: Tag, at_commit: Iterable[Tag]) -> str | None:
    """The version a releasing tag stands for: its own, or for a stage tag the version assigned at its
    commit (``at_commit``: the tags there, :func:`tags_at`)."""
    return stage_version(tag, at_commit) if tag.kind == STAGE else tag.version


def tags_at(repo: Repo, commit: str) -> list[Tag]:
    """The release tags pointing at ``commit`` (``repo``: a :class:`ci_mlops.git.Repo`)."""
    return parse_all(repo.git("tag", "--points-at", commit).splitlines())


def tag_commit(repo: Repo, tag: Tag) -> str:
    """The commit a tag points at; a one-line UserError when the tag is not here."""
    commit: str | None = repo.try_rev_parse(f"refs/tags/{tag.raw}^{{commit}}")
    if commit is None:
        hint = " (this is a shallow clone: use `fetch-depth: 0` in actions/checkout)" if repo.is_shallow() else \
            " (fetch tags with `git fetch --tags`)"
        raise UserError(f"tag '{tag.raw}' does not exist in this repository{hint}")
    return commit


def model_name(tag: Tag, config: Config, repository: str | None, root: Path) -> str:
    """The model a tag releases: the tag's artifact name, else ``deploy.name``, ``model_card.name``,
    the repository's name, the folder's."""
    deploy, card = config.settings.deploy, config.settings.model_card
    return (tag.name or (deploy.name if deploy else None) or (card.name if card else None)
            or (repository.split("/")[-1] if repository else root.name))


def previous_tag(tag: Tag, all_tags: list[Tag]) -> Tag | None:
    """The release of the same artifact just before ``tag``: SemVer order for versions; for stage
    assignments the earlier assignment of the same stage (``all_tags`` in creation order, GTO's
    order; counters break no ties between tags made in the same second, they only order them)."""
    if tag.kind == STAGE:
        same = [t for t in all_tags if t.kind == STAGE and t.artifact == tag.artifact and t.stage == tag.stage]
        if tag.number is not None and all(t.number is not None for t in same):
            earlier = [t for t in same if (t.number or 0) < tag.number]
            return max(earlier, key=lambda t: t.number or 0, default=None)
        position = next((i for i, t in enumerate(same) if t.raw == tag.raw), len(same))
        return same[position - 1] if position > 0 else None
    assert tag.version
    earlier = [t for t in all_tags if t.kind == tag.kind and t.artifact == tag.artifact and t.version
               and version_key(t.version) < version_key(tag.version)]
    return max(earlier, key=lambda t: version_key(t.version or "0.0.0"), default=None)


def version_key(version: str) -> tuple[Any, ...]:
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
        return (f"tag '{tag}': '{version}' is not a SemVer version with a leading v (e.g. v1.2.3, optionally "
                f"followed by ! and a counter #N), nor deprecated or created; {hint}")
    if "#" in tag:
        return f"tag '{tag}' is not a stage assignment NAME#STAGE or NAME#STAGE#N (N a number); {hint}"
    if re.fullmatch(r"\d+\.\d+\.\d+.*", tag):
        return f"tag '{tag}' needs a leading v (v{tag}); {hint}"
    return f"tag '{tag}' is neither a version nor a model-registry tag; {hint}"
