"""Which gates decide a pull request: the base branch's, never the PR's own.

A pull request can edit ``.ci-mlops.yml``. If its own gates judged it, it could drop or
relax the gate it fails. So in a pull request the gate sections (``metrics``, ``data``,
``slices``) come from the base branch's config, read from git at the base branch's tip
(``origin/$GITHUB_BASE_REF``, GitLab's ``$CI_MERGE_REQUEST_TARGET_BRANCH_NAME``); everything else (where metrics files are, report
settings) stays the PR's. When the PR changes a gate, the report lists each change and
what the PR's metric gates would decide; they apply once it is merged.

The first PR that adds ``.ci-mlops.yml`` has nothing to relax: when the base branch has
no config, the PR's gates decide, and the report says they are the PR's proposal.

``--gates-from`` chooses: ``auto`` (base in a GitHub pull request run, else the
workspace), ``base`` (also locally, to see what CI will decide) or ``workspace``.
"""

from __future__ import annotations

import json
import os

from ci_mlops.checks.gates import evaluate_gates
from ci_mlops.config import CONFIG_NAME, Config, parse_config
from ci_mlops.errors import UserError
from ci_mlops.escape import md_cell, md_code
from ci_mlops.git import BlobReader, Repo
from ci_mlops.record import field, mutable_record
from ci_mlops.report.revisions import FETCH_HINT, change_base_branch

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ci_mlops.checks.records import GateChange, GateSourceJson
    from ci_mlops.report.document import ReportDocument, Section

GATE_SECTIONS = ("metrics", "data", "slices")
CHOICES = ("auto", "base", "workspace")


@mutable_record
class GateSource:
    """Where the deciding gates came from: ``base`` (the base branch's config), ``proposed``
    (the base branch has none: the PR's own, as proposed) or ``workspace``."""

    origin: str
    ref: str | None = None
    sha: str | None = None
    path: str = CONFIG_NAME
    changes: list[GateChange] = field(default_factory=list)
    proposed: Config | None = None  # the PR's config, when its gates differ from the deciding ones

    def to_json(self) -> GateSourceJson:
        return {"from": self.origin, "ref": self.ref, "sha": self.sha, "path": self.path, "changes": self.changes}


def deciding_config(config: Config, root: str | os.PathLike[str] | Repo, *, gates_from: str = "auto", base: str | None = None,
                    env: Mapping[str, str] | None = None, reader: BlobReader | None = None) -> tuple[Config, GateSource]:
    """The config whose gates decide, and where they came from.

    ``config`` is the workspace's (the PR's); ``root`` the repository (a discovered
    :class:`~ci_mlops.git.Repo` saves a ``git rev-parse``); ``base`` is an explicit ``--base`` REF;
    ``reader`` the caller's blob reader, left open for its report (else one of its own, closed).
    UserError when the base branch is not in the clone or its config is invalid.
    """
    env = os.environ if env is None else env
    if gates_from not in CHOICES:
        raise UserError(f"--gates-from {gates_from!r}: use one of {', '.join(CHOICES)}")
    in_pr = change_base_branch(env) is not None  # a GitHub pull request or a GitLab merge request
    if gates_from == "workspace" or (gates_from == "auto" and not in_pr):
        return config, GateSource("workspace")
    root = root.top if isinstance(root, Repo) else Repo.discover(root).top
    blobs = BlobReader(root) if reader is None else reader  # one git process resolves the base branch, reads its file
    try:
        ref, sha = _base_tip(Repo(root, batch=blobs), base, config, env)
        rel = _relative_config_path(config, root)
        blob = blobs.read(sha, rel)
    finally:
        if reader is None:
            blobs.close()
    if blob is None:
        return config, GateSource("proposed", ref, sha, rel)
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{rel} at {ref}: not UTF-8 text") from None
    base_config = parse_config(text, f"{rel} at {ref}")  # named in messages as the Path of this text was
    changes = gate_changes(base_config.written, config.written)
    merged = {k: v for k, v in config.written.items() if k not in GATE_SECTIONS}
    merged.update({k: base_config.written[k] for k in GATE_SECTIONS if k in base_config.written})
    # The lines stay the PR's file's: checks.locate ignores its gate lines when the gates changed.
    deciding = Config(merged, config.file, config.lines)
    return deciding, GateSource("base", ref, sha, rel, changes, config if changes else None)


def gate_changes(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[GateChange]:
    """Every gate setting the head adds, removes or changes: ``{"key": [...path], "base", "head"}``
    (``None`` for an absent side), in a stable order."""
    old, new = _leaves({k: base.get(k) for k in GATE_SECTIONS}), _leaves({k: head.get(k) for k in GATE_SECTIONS})
    keys = sorted(set(old) | set(new), key=lambda k: [str(p) for p in k])
    return [{"key": list(k), "base": _plain(old.get(k)), "head": _plain(new.get(k))}
            for k in keys if old.get(k, _ABSENT) != new.get(k, _ABSENT)]


_ABSENT = object()


def _leaves(node: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Leaf settings by path; an empty or null entry (``test.acc: {}``, a bare required gate) is a leaf too."""
    if isinstance(node, dict) and node:
        out: dict[tuple[str, ...], Any] = {}
        for key, value in node.items():
            out.update(_leaves(value, (*path, str(key))))
        return out
    if len(path) == 1 and not node:  # an absent or empty section
        return {}
    return {path: "(present)" if node is None or node == {} else node}


def _plain(value: Any) -> Any:
    return None if value is _ABSENT else value


def _base_tip(repo: Repo, base: str | None, config: Config, env: Mapping[str, str]) -> tuple[str, str]:
    """The base branch's name and its newest commit: the gates in force when the PR merges."""
    if base:
        return base, repo.rev_parse(base)
    name = change_base_branch(env) or config.settings.base or repo.default_branch()
    for candidate in (f"refs/remotes/origin/{name}", name):
        sha = repo.try_rev_parse(candidate)
        if sha:
            return name, sha
    raise UserError(f"the base branch '{name}' is not in this clone, so its gates cannot be read: "
                    + FETCH_HINT.format(ref=name))


def _relative_config_path(config: Config, root: str) -> str:
    if config.file is None:
        return CONFIG_NAME
    real, real_root = os.path.realpath(config.file), os.path.realpath(root)  # Path.resolve()'s text
    if real == real_root:
        return "."
    below = real_root if real_root.endswith("/") else real_root + "/"
    if real.startswith(below):
        return real[len(below):]
    raise UserError(f"{config.file}: outside the repository, so the base branch's version of it cannot be "
                    "read; use --gates-from workspace to judge with this file")


def render_changes(source: GateSource, report: ReportDocument | None = None) -> Section | None:
    """The report section about the gates' origin: changes in this PR, or the first config; None otherwise."""
    where = f"{md_code(source.ref)} ({md_code((source.sha or '')[:7])})" if source.ref else "the base branch"
    if source.origin == "proposed":
        text = (f"{where} has no {md_code(source.path)}: the gates this pull request adds decided this run, as "
                "proposed (there were none to relax). Once it is merged, the base branch's gates decide every "
                "later pull request.")
        return {"title": "Quality gates proposed by this PR", "markdown": text, "passed": None}
    if source.origin != "base" or not source.changes:
        return None
    lines = [(f"This pull request changes the quality gates in {md_code(source.path)}. The gates of {where} "
              "decided this run; the new ones apply after merge."), "",
             f"| Setting | {md_cell(source.ref)} | this PR |", "|---|---|---|"]
    for change in source.changes:
        lines.append(f"| {md_code('.'.join(change['key']), cell=True)} | {_shown(change['base'])} | "
                     f"{_shown(change['head'])} |")
    if source.proposed is not None and source.proposed.settings.metrics and report is not None:
        gates = evaluate_gates(source.proposed, report)
        failed = [g for g in gates if not g["passed"]]
        verdict = (f"❌ {len(failed)} of {len(gates)} would fail: " + ", ".join(md_code(g["metric"]) for g in failed[:5])
                   if failed else f"✅ all {len(gates)} would pass")
        lines += ["", f"Under this PR's metric gates: {verdict}."]
    return {"title": "Gate changes in this PR", "markdown": "\n".join(lines), "passed": None}


def _shown(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    return md_cell(value if not isinstance(value, (list, dict)) else _compact(value))


def _compact(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def text_line(source: GateSource) -> str | None:
    """One line for `check`'s text output naming where the gates came from."""
    if source.origin == "workspace":
        return None
    at = f"{source.ref} ({(source.sha or '')[:7]})"
    if source.origin == "proposed":
        return f"Gates: this PR's own ({at} has no {source.path}; they are the first)"
    changed = f"; this PR changes {len(source.changes)} gate setting(s), applied after merge" if source.changes else ""
    return f"Gates: from {source.path} at {at}{changed}"
