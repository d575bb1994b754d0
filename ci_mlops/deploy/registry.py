"""What a repository declares as its model registry: artifacts and stages.

Artifacts are declared the DVC way (``artifacts:`` in any ``dvc.yaml``; one in a
sub-folder is ``FOLDER:NAME``, ``FOLDER=NAME`` in a tag) or the older GTO way (a
root ``artifacts.yaml``: name -> path, type, description). Stages come from GTO's
``.gto`` (``stages: [dev, prod]``). Readers are given a ``read(path) -> bytes | None``
so the same code reads a commit (through git) or the workspace.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ci_mlops.deploy.tags import is_stage_name
from ci_mlops.dvc.project import load_yaml
from ci_mlops.errors import UserError
from ci_mlops.safeload import DocumentError

Read = Callable[[str], "bytes | None"]
ARTIFACTS_YAML = "artifacts.yaml"  # GTO's index
GTO_CONFIG = ".gto"


@dataclass(frozen=True)
class Declared:
    """One declared artifact."""

    name: str  # full name: NAME, or FOLDER:NAME for a dvc.yaml in a sub-folder
    path: str | None  # repo-relative; None when the declaration has no path (a GTO "virtual" artifact)
    type: str | None
    source: str  # "dvc.yaml", "sub/dvc.yaml" or "artifacts.yaml"


def declared_artifacts(dvcyaml_paths: list[str], read: Read, label: str) -> dict[str, Declared]:
    """Every declared artifact by full name; a ``dvc.yaml`` declaration wins over ``artifacts.yaml``."""
    out: dict[str, Declared] = {}
    for yaml_path in dvcyaml_paths:
        folder = posixpath.dirname(yaml_path)
        data = _yaml(read(yaml_path), yaml_path, label, load_yaml)
        section = data.get("artifacts") if isinstance(data, dict) else None
        for name, spec in _entries(section, yaml_path, label):
            full = f"{folder}:{name}" if folder else name
            out[full] = Declared(full, _path(spec, folder, f"{yaml_path} at {label}", name), _type(spec), yaml_path)
    data = _yaml(read(ARTIFACTS_YAML), ARTIFACTS_YAML, label, load_yaml)
    for name, spec in _entries(data, ARTIFACTS_YAML, label):
        out.setdefault(name, Declared(name, _path(spec, "", f"{ARTIFACTS_YAML} at {label}", name), _type(spec),
                                      ARTIFACTS_YAML))
    return out


def gto_stages(read: Read, label: str) -> list[str] | None:
    """``stages:`` of GTO's ``.gto`` config (None when there is no such file or key)."""
    data = _yaml(read(GTO_CONFIG), GTO_CONFIG, label, load_yaml)
    if not isinstance(data, dict) or data.get("stages") is None:
        return None
    stages = data["stages"]
    if not isinstance(stages, list) or not all(isinstance(s, str) and is_stage_name(s) for s in stages):
        raise UserError(f"{GTO_CONFIG} at {label}: stages must be a list of stage names (letters, digits, -, _, /)")
    return list(stages)


def _yaml(blob: bytes | None, path: str, label: str, load_yaml: Any) -> Any:
    if blob is None:
        return None
    import yaml  # lazy: PyYAML is slow to import

    try:
        return load_yaml(blob.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} at {label}: not UTF-8 text") from exc
    except yaml.YAMLError as exc:
        raise UserError(f"{path} at {label}: not valid YAML") from exc
    except DocumentError as exc:
        raise UserError(f"{path} at {label}: {exc}") from exc


def _entries(section: Any, path: str, label: str) -> list[tuple[str, dict[str, Any]]]:
    if section is None:
        return []
    if not isinstance(section, dict):
        raise UserError(f"{path} at {label}: artifacts must be a mapping of name to path/type/desc")
    out = []
    for name, spec in section.items():
        if not isinstance(spec, dict):
            raise UserError(f"{path} at {label}: artifact '{name}' must be a mapping (path, type, desc)")
        out.append((str(name), spec))
    return out


def _path(spec: dict[str, Any], folder: str, where: str, name: str) -> str | None:
    raw = spec.get("path")
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise UserError(f"{where}: artifact '{name}' path must be a string")
    joined = posixpath.normpath(posixpath.join(folder, raw)) if folder else posixpath.normpath(raw)
    if "://" in raw or joined.startswith(("/", "../")) or joined == ".." or joined == ".":
        raise UserError(f"{where}: artifact '{name}' path '{raw}' is not a file inside the repository")
    return joined


def _type(spec: dict[str, Any]) -> str | None:
    value = spec.get("type")
    return str(value) if value is not None else None
