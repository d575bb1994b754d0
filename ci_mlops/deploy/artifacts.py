"""Which files a release ships, and proof that they are exactly what ``dvc.lock`` says.

Resolution order (first that applies):

1. a registry tag (``NAME@vX.Y.Z``, ``NAME#STAGE#N``, ``FOLDER=NAME@...``) whose artifact
   is declared at the tag (``artifacts:`` of a ``dvc.yaml``, else GTO's ``artifacts.yaml``):
   that artifact's path;
2. ``deploy.artifacts`` in ``.ci-mlops.yml`` at the tag;
3. a registry tag naming an artifact that is not declared while others are: refused;
   a version tag ``vX.Y.Z``: the declared artifacts of ``type: model`` (all of them when
   none has a type of model);
4. the DVC outputs under ``models/`` in ``dvc.lock`` at the tag, only when nothing is declared.

Every artifact must be a DVC output hashed in ``dvc.lock`` at the tag, or a file
committed to git at the tag. Its bytes come from the workspace when they hash to
the locked md5, else from the DVC cache, else from the DVC remote (``dvc pull``
when the workspace is the tag, DVC's API at the tag otherwise). Content that does
not match ``dvc.lock`` is never released.
"""

from __future__ import annotations

import hashlib
import posixpath
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci_mlops.config import CONFIG_NAME, Config, parse_config
from ci_mlops.deploy.lineage import ArtifactRecord
from ci_mlops.deploy.registry import Declared, declared_artifacts
from ci_mlops.deploy.tags import Tag
from ci_mlops.dvc.project import DvcProject, cache_path
from ci_mlops.dvc.run import run_dvc
from ci_mlops.errors import UserError
from ci_mlops.fsutil import md5_file, sha256_file
from ci_mlops.git import BlobReader

MODELS_DIR = "models/"


@dataclass
class ReleasedFile:
    """One released file: where its verified bytes are and what they hash to."""

    path: str  # repo-relative
    file: Path  # verified bytes on disk (workspace, DVC cache or a staged copy)
    size: int
    sha256: str
    md5: str
    source: str  # "dvc" | "git"
    name: str = ""  # release asset name

    def record(self) -> ArtifactRecord:
        return {"path": self.path, "name": self.name, "size": self.size, "sha256": self.sha256,
                "md5": self.md5, "source": self.source}


class ArtifactError(UserError):
    """An artifact cannot be resolved or does not match dvc.lock (exit 2)."""


class NoArtifacts(ArtifactError):
    """Nothing at the tag says what to release (``deploy --plan``: nothing to release)."""


def resolve_paths(project: DvcProject, config: Config, tag: Tag | None,
                  declared: dict[str, Any] | None = None) -> tuple[list[str], str]:
    """The artifact paths to release and where that list came from (for messages); ``tag`` None:
    what any tag of the project would release (``init --dockerfile``).

    ``declared``: :func:`ci_mlops.deploy.registry.declared_artifacts` at the tag (default:
    the ``dvc.yaml`` artifacts of ``project``).
    """
    if declared is None:
        declared = _from_project(project)
    artifact = tag.artifact if tag is not None else None
    if artifact:
        spec = declared.get(artifact)
        if spec is not None:
            if not spec.path:
                raise ArtifactError(f"artifact '{artifact}' in {spec.source} has no path: nothing says which file "
                                    "to release; add its path, or set deploy.artifacts in .ci-mlops.yml")
            return [spec.path], f"artifact '{artifact}' in {spec.source}"
    configured = config.settings.deploy.artifacts if config.settings.deploy else None
    if configured:
        return [posixpath.normpath(p.strip("/")) for p in configured], "deploy.artifacts in .ci-mlops.yml"
    if artifact and declared:
        raise ArtifactError(
            f"the tag names artifact '{artifact}', which no dvc.yaml or artifacts.yaml declares at the tag "
            f"(declared: {', '.join(sorted(declared))}); declare it, or set deploy.artifacts in .ci-mlops.yml")
    if declared:
        models = [d for d in declared.values() if d.type == "model"] or list(declared.values())
        paths = sorted({d.path for d in models if d.path})
        if paths:
            sources = sorted({d.source for d in models if d.path})
            kind = "type: model artifacts" if models[0].type == "model" else "artifacts"
            return paths, f"{kind} in {', '.join(sources)}"
        raise ArtifactError(f"the declared artifacts ({', '.join(sorted(declared))}) have no path: nothing says which "
                            "file to release; add their paths, or set deploy.artifacts in .ci-mlops.yml")
    models = sorted(p for p in project.lock_outs if p.startswith(MODELS_DIR))
    if models:
        return models, "DVC outputs under models/ (no artifacts declared)"
    raise NoArtifacts(
        "no artifacts to release: set deploy.artifacts in .ci-mlops.yml, declare `artifacts:` in dvc.yaml "
        "(or GTO's artifacts.yaml), or write the model as a DVC output under models/"
    )


def _from_project(project: DvcProject) -> dict[str, Any]:
    return {name: Declared(name, spec.get("path") or None, spec.get("type"), "dvc.yaml")
            for name, spec in project.artifacts.items()}


def config_at(reader: BlobReader, commit: str, rev_label: str) -> Config:
    """``.ci-mlops.yml`` as committed at the tag (defaults when there is none).

    What a tag releases is decided by the tag alone, so ``deploy`` and ``audit verify``
    resolve the same artifacts whatever the checkout's config says.
    """
    blob = reader.read(commit, CONFIG_NAME)
    if blob is None:
        return parse_config("")
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{CONFIG_NAME} at {rev_label}: not UTF-8 text") from exc
    return parse_config(text, Path(f"{CONFIG_NAME} at {rev_label}"))


def expected_at(project: DvcProject, config: Config, tag: Tag, tracked: set[str], reader: BlobReader, commit: str,
                rev_label: str) -> tuple[dict[str, tuple[str, str]], str]:
    """path -> (source, md5) of everything ``tag`` releases, git files hashed too; and where the list came from."""
    declared = declared_artifacts(project.dvcyaml_paths, lambda path: reader.read(commit, path), rev_label)
    paths, origin = resolve_paths(project, config, tag, declared)
    expected = expected_hashes(paths, project, tracked, rev_label)
    out: dict[str, tuple[str, str]] = {}
    for path, (source, md5) in expected.items():
        if md5 is None:
            blob = reader.read(commit, path)
            if blob is None:
                raise ArtifactError(f"{path}: not a file in git at {rev_label}")
            md5 = hashlib.md5(blob).hexdigest()
        out[path] = (source, md5)
    return out, origin


def expected_hashes(paths: list[str], project: DvcProject, tracked: set[str], rev_label: str) -> dict[str, tuple[str, str | None]]:
    """path -> (source, locked md5). ``tracked`` = files committed at the tag."""
    out: dict[str, tuple[str, str | None]] = {}
    for path in paths:
        entry = project.lock_outs.get(path)
        if entry is not None:
            md5 = entry.get("md5")
            if not md5:
                raise ArtifactError(f"{path}: dvc.lock at {rev_label} has no md5 for it (only {', '.join(entry) or 'nothing'})")
            if md5.endswith(".dir"):
                raise ArtifactError(
                    f"{path}: is a directory output; list the files to release in deploy.artifacts "
                    "or make the model a single file")
            out[path] = ("dvc", md5)
        elif any(path in stage.outs for stage in project.stages.values()):
            raise ArtifactError(
                f"{path}: declared in dvc.yaml but not in dvc.lock at {rev_label}; run `dvc repro`, commit dvc.lock and re-tag")
        elif path in tracked:
            out[path] = ("git", None)
        elif any(path.startswith(o.rstrip("/") + "/") for o, e in project.lock_outs.items()
                 if str(e.get("md5", "")).endswith(".dir")):
            raise ArtifactError(f"{path}: is inside a directory output; release the whole model file, not part of a directory")
        else:
            raise ArtifactError(f"{path}: neither a DVC output in dvc.lock nor a file committed at {rev_label}")
    return out


def asset_names(paths: list[str]) -> dict[str, str]:
    """Release asset names: the file name, or the path with '/' as '--' where two names collide."""
    base = [posixpath.basename(p) for p in paths]
    return {p: (b if base.count(b) == 1 else p.replace("/", "--")) for p, b in zip(paths, base)}


def materialize(
    root: Path,
    expected: Mapping[str, tuple[str, str | None]],
    *,
    commit: str,
    at_head: bool,
    staging: Path,
    reader: BlobReader,
    rev_label: str,
) -> list[ReleasedFile]:
    """Find verified bytes for every artifact; pull from the DVC remote when they are nowhere local."""
    found: dict[str, Path] = {}
    to_pull: list[str] = []
    for path, (source, md5) in expected.items():
        if source == "git":
            found[path] = _from_git(reader, commit, path, staging, rev_label)
            continue
        assert md5
        local = root / path
        if local.is_file() and md5_file(local) == md5:
            found[path] = local
            continue
        if local.exists() and at_head:
            raise ArtifactError(
                f"{path}: the workspace file does not match dvc.lock at {rev_label} (md5 {md5_file(local) if local.is_file() else 'of a directory'} "
                f"!= {md5}); run `dvc checkout {path}` to restore it, or `dvc repro` and commit dvc.lock, then re-tag")
        cached = cache_path(root, md5)
        if cached.is_file() and md5_file(cached) == md5:
            found[path] = cached
            continue
        to_pull.append(path)
    if to_pull:
        if at_head:
            _dvc_pull(root, to_pull)
            for path in to_pull:
                md5 = expected[path][1]
                local = root / path
                if not (local.is_file() and md5_file(local) == md5):
                    raise ArtifactError(f"{path}: `dvc pull` did not restore the content dvc.lock expects ({md5})")
                found[path] = local
        else:
            for path in to_pull:
                found[path] = _fetch_at_rev(root, path, commit, staging, expected[path][1] or "", rev_label)
    names = asset_names(list(expected))
    artifacts = []
    for path, file in found.items():
        source, md5 = expected[path]
        actual_md5 = md5_file(file)
        if md5 and actual_md5 != md5:  # cheap insurance: never release unverified bytes
            raise ArtifactError(f"{path}: content md5 {actual_md5} does not match dvc.lock ({md5})")
        artifacts.append(ReleasedFile(path=path, file=file, size=file.stat().st_size, sha256=sha256_file(file),
                                  md5=actual_md5, source=source, name=names[path]))
    return sorted(artifacts, key=lambda a: a.path)


def _from_git(reader: BlobReader, commit: str, path: str, staging: Path, rev_label: str) -> Path:
    data = reader.read(commit, path)
    if data is None:
        raise ArtifactError(f"{path}: not a file in git at {rev_label}")
    target = staging / "git" / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def _dvc_pull(root: Path, paths: list[str]) -> None:
    proc = run_dvc(root, "pull", "-q", *paths)
    if not proc.ok:
        reason = _last_line(proc.stderr or proc.stdout)
        raise ArtifactError(
            f"{', '.join(paths)}: not in the workspace, the DVC cache or the DVC remote ({reason}); "
            "run `dvc push` where the model was trained")


def _fetch_at_rev(root: Path, path: str, commit: str, staging: Path, md5: str, rev_label: str) -> Path:
    """Stream a file as of ``commit`` from the DVC cache or remote into the staging folder."""
    import dvc.api  # lazy: DVC is slow to import

    target = staging / "dvc" / path
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.md5()
    try:
        with dvc.api.open(path, repo=str(root), rev=commit, mode="rb") as src, open(target, "wb") as dst:
            while block := src.read(1 << 20):
                digest.update(block)
                dst.write(block)
    except Exception as exc:  # DVC raises many types for a missing remote object
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
        raise ArtifactError(
            f"{path}: not in the DVC cache and could not be fetched from the DVC remote for {rev_label} "
            f"({_last_line(str(exc)) or type(exc).__name__}); run `dvc push` where the model was trained") from exc
    if digest.hexdigest() != md5:
        raise ArtifactError(f"{path}: the DVC remote returned content with md5 {digest.hexdigest()}, dvc.lock says {md5}")
    return target


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1] if lines else "no details"
