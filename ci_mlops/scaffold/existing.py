"""The repository's own workflows: what they already do that ci-mlops would do again.

Read only, never edited. :func:`read_workflows` finds CML comments (``cml comment``,
``cml send-comment``), CML cloud runners (``cml runner``), ``dvc repro`` on pull requests
or pushes, tag-triggered deploys, GPU or self-hosted runners and the Python versions
they set up. :func:`overlaps` turns that into plan notes naming the double work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ci_mlops.safeload import DocumentError, load_yaml, read_limited

_MAX_BYTES = 1_000_000  # a workflow larger than this is not read


@dataclass
class Workflow:
    path: str
    events: set[str] = field(default_factory=set)  # pull_request, push (branches), tags, ...
    cml_comment: bool = False
    cml_runner: bool = False
    dvc_repro: bool = False
    pythons: list[str] = field(default_factory=list)
    gpu: list[str] = field(default_factory=list)  # why it looks like GPU training
    self_hosted: list[list[str]] = field(default_factory=list)

    @property
    def trains(self) -> bool:
        return (self.dvc_repro or self.cml_runner) and bool(self.events & {"pull_request", "push"})


def read_workflows(root: Path, paths: list[str]) -> list[Workflow]:
    out = []
    for rel in paths:
        wf = read_workflow(root / rel, rel)
        if wf is not None:
            out.append(wf)
    return out


def read_workflow(path: Path, rel: str) -> Workflow | None:
    import yaml  # lazy: PyYAML is slow to import

    try:
        doc = load_yaml(read_limited(path, _MAX_BYTES))
    except (OSError, DocumentError, yaml.YAMLError):
        return None  # not ours to judge; GitHub reports a broken workflow itself
    if not isinstance(doc, dict):
        return None
    wf = Workflow(rel, events=_events(doc.get("on", doc.get(True))))
    runs = "\n".join(_runs(doc))
    wf.cml_comment = bool(re.search(r"\bcml\s+(comment\s+(create|update)|send-comment)\b", runs))
    wf.cml_runner = bool(re.search(r"\bcml\s+runner\b", runs))
    wf.dvc_repro = bool(re.search(r"\bdvc\s+repro\b", runs))
    jobs = doc["jobs"] if isinstance(doc.get("jobs"), dict) else {}
    for job in jobs.values():
        if not isinstance(job, dict):
            continue
        labels = job.get("runs-on")
        labels = [labels] if isinstance(labels, str) else [str(x) for x in labels] if isinstance(labels, list) else []
        if labels and ("self-hosted" in labels or any("gpu" in label.lower() for label in labels)):
            wf.self_hosted.append(labels)
        container = job.get("container")
        if isinstance(container, dict) and "--gpus" in str(container.get("options", "")):
            wf.gpu.append(f"{rel} runs a container with --gpus")
        for step in job.get("steps") or []:
            if isinstance(step, dict) and "actions/setup-python" in str(step.get("uses", "")):
                version = str((step.get("with") or {}).get("python-version", ""))
                if re.fullmatch(r"\d+\.\d+(\.\d+)?", version):
                    wf.pythons.append(".".join(version.split(".")[:2]))
    if wf.cml_runner:
        match = re.search(r"--cloud-type[= ](\S+)", runs)
        hint = f" ({match.group(1)})" if match else ""
        wf.gpu.append(f"{rel} starts a cloud runner with `cml runner`{hint}")
    for labels in wf.self_hosted:
        if any("gpu" in label.lower() for label in labels):
            wf.gpu.append(f"{rel} runs on [{', '.join(labels)}]")
    return wf


def overlaps(workflows: list[Workflow], *, releases: bool) -> list[str]:
    """One plan note per existing workflow that would double what ci-mlops does."""
    notes = []
    for wf in workflows:
        doubles = []
        if wf.trains:
            doubles.append("two trainings per PR" if "pull_request" in wf.events else "two trainings per push")
        if wf.cml_comment:
            doubles.append("two comments per PR")
        if releases and "tags" in wf.events:
            doubles.append("two deploys per tag")
        if not doubles:
            continue
        does = [what for what, yes in (("`cml comment`", wf.cml_comment), ("`cml runner`", wf.cml_runner),
                                       ("`dvc repro`", wf.dvc_repro), ("a tag-triggered deploy", "tags" in wf.events))
                if yes]
        notes.append(f"{wf.path} already runs {', '.join(does)} ({_on(wf.events)}): with ci-mlops that is "
                     f"{' and '.join(doubles)}. ci-mlops leaves it untouched; remove the overlapping steps once "
                     "ci-mlops' workflows run (docs/init.md#existing-workflows)")
    return notes


def _events(on: Any) -> set[str]:
    events: set[str] = set()
    if isinstance(on, str):
        on = {on: None}
    elif isinstance(on, list):
        on = {str(e): None for e in on}
    if not isinstance(on, dict):
        return events
    for name, spec in on.items():
        name = str(name)
        if name == "push" and isinstance(spec, dict) and ("tags" in spec or "tags-ignore" in spec):
            events.add("tags")
            if "branches" in spec or "branches-ignore" in spec:
                events.add("push")
        elif name == "release":
            events.add("tags")
        else:
            events.add(name)
    return events


def _on(events: set[str]) -> str:
    words = {"pull_request": "on pull requests", "push": "on pushes", "tags": "on tags"}
    said = [words[e] for e in ("pull_request", "push", "tags") if e in events]
    return ", ".join(said) or "on " + ", ".join(sorted(events))


def _runs(node: Any) -> list[str]:
    """Every ``run:`` script in the document."""
    if isinstance(node, dict):
        found = [node["run"]] if isinstance(node.get("run"), str) else []
        for key, value in node.items():
            if not (key == "run" and isinstance(value, str)):  # a job may be named "run"
                found += _runs(value)
        return found
    if isinstance(node, list):
        return [r for item in node for r in _runs(item)]
    return []
