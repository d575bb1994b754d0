"""What ``ci-mlops deploy`` reports about a tag and its bundle: step outputs and log lines (pure)."""

from __future__ import annotations

from ci_mlops.checks.render import gate_line
from ci_mlops.deploy.bundle import Bundle
from ci_mlops.deploy.tags import Tag, is_prerelease, release_version, tags_at
from ci_mlops.escape import md_code
from ci_mlops.git import Repo
from ci_mlops.markdown.blocks import table


def no_release(tag: Tag, model: str, environment: str) -> tuple[str, dict[str, str]]:
    """The line and step outputs for a deregistration tag, which releases nothing."""
    verb = {"deregister": f"deregisters {model} v{tag.version}", "unassign": f"unassigns stage '{tag.stage}' of {model}",
            "deprecate": f"deprecates {model}", "create": f"records the creation of {model}"}[tag.kind]
    outputs = {"tag": tag.raw, "model": model, "release": "false", "environment": environment}
    return f"tag '{tag.raw}' {verb}: nothing to release", outputs


def tag_facts(repo: Repo, tag: Tag, commit: str, *, model: str, environment: str, target: str,
              artifacts: list[str], origin: str) -> dict[str, str]:
    """The facts ``--plan`` prints and sets as outputs; a stage tag's version comes from the tags at its commit."""
    version = release_version(tag, tags_at(repo, commit))
    return {"tag": tag.raw, "kind": tag.kind, "model": model, "version": version or "", "stage": tag.stage or "",
            "environment": environment, "prerelease": str(is_prerelease(version)).lower(), "target": target,
            "commit": commit, "artifacts": ",".join(artifacts), "artifacts-from": origin, "release": "true"}


def nothing_to_release(tag_text: str, reason: str) -> tuple[str, dict[str, str]]:
    """The line and step outputs of ``--plan`` for a tag that releases nothing (the release job is skipped)."""
    return f"tag '{tag_text}': {reason}: nothing to release", {"tag": tag_text, "release": "false"}


def bundle_lines(bundle: Bundle) -> list[str]:
    """The release, its artifacts and its gate verdicts, one line each."""
    lines = [f"{bundle.title}: tag {bundle.tag.raw} at {bundle.commit[:12]}, environment {bundle.environment}"]
    lines += [f"  artifact {a.path}  {a.size} bytes  sha256 {a.sha256}  md5 {a.md5} ({a.source})"
              for a in bundle.artifacts]
    lines += [f"  {gate_line(gate)}" for gate in bundle.gates]
    return lines


def gate_failure(bundle: Bundle) -> str | None:
    """Why the release stops (a failed gate at the tag), or None."""
    if not bundle.failed_gates:
        return None
    names = ", ".join(sorted({str(g.get("metric")) for g in bundle.failed_gates}))
    return f"{len(bundle.failed_gates)} quality gate(s) failed at {bundle.tag.raw} ({names}); nothing was released"


def bundle_outputs(bundle: Bundle) -> dict[str, str]:
    """The step outputs every target sets."""
    return {"tag": bundle.tag.raw, "model": bundle.model, "version": bundle.version or "",
            "stage": bundle.stage or "", "environment": bundle.environment,
            "prerelease": str(bool(bundle.lineage.get("prerelease"))).lower(), "release": "true",
            "output-dir": str(bundle.out_dir), "lineage": str(bundle.paths["lineage"]),
            "model-card": str(bundle.paths["card"])}


def summary_markdown(bundle: Bundle, target: str, outputs: dict[str, str], dry_run: bool) -> str:
    """The job-summary section of a release."""
    lines = [f"### {'Dry run: ' if dry_run else ''}{bundle.title} ({target})", ""]
    if outputs.get("release-url"):
        lines += [f"Release: {outputs['release-url']}", ""]
    lines += table(["Artifact", "Size", "SHA-256"], ["---"] * 3,
                   [[md_code(a.path, cell=True), str(a.size), f"`{a.sha256}`"] for a in bundle.artifacts])
    return "\n".join(lines) + "\n"
