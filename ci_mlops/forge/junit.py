"""The check verdict as a JUnit XML report: failed gates in GitLab's merge request widget.

Why JUnit rather than a Code Quality report (researched, see docs/gitlab.md):
GitLab's unit test reports are in every tier, show "N failed out of M" in the merge
request widget for the pipeline itself, and open each failed test with its message and
output. The Code Quality widget shows only the *difference* to the target branch's
report, so a gate that fails on both branches would not appear at all, and its inline
annotations in the diff are an Ultimate feature.

Each gate, data check and slice check is one ``<testcase>``: ``classname``
``ci-mlops.gates``/``ci-mlops.data``/``ci-mlops.slices``, ``file`` the config file, the
failure message naming ``.ci-mlops.yml:LINE`` where the gate is declared. Skipped gates
are ``<skipped/>``. The XML is built with ElementTree, so any text is escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

from ci_mlops.checks.locate import Locator
from ci_mlops.checks.records import Verdict

# XML 1.0 forbids most control characters even escaped; GitLab's parser would reject the file.
_XML_BAD = {c: None for c in range(32) if c not in (9, 10, 13)}
_KINDS = {"gate": "gates", "data": "data", "slice": "slices"}


@dataclass(frozen=True)
class CheckItem:
    """One gate or check of a ``check --format json`` document, flattened."""

    kind: str  # gates | data | slices
    name: str
    passed: bool
    skipped: bool
    message: str
    line: int | None  # of the config file, when known


def items(check: dict[str, Any], locator: Locator | None = None) -> list[CheckItem]:
    """Every gate and check of ``check``, with the config line :mod:`ci_mlops.checks.locate` places it on."""
    return [CheckItem(_KINDS[i.kind], i.case, i.passed, i.skipped, i.detail, locator.locate(i).line if locator else None)
            for i in Verdict.from_json(check).items()]


def junit_xml(check: dict[str, Any], config_file: str, config_line: Callable[..., int | None]) -> str:
    """The JUnit XML document for ``check``; ``config_line(*keys)`` is a key's line in ``config_file``."""
    found = items(check, Locator(config_file, config_line))
    failures = sum(1 for i in found if not i.passed and not i.skipped)
    skipped = sum(1 for i in found if i.skipped)
    suites = ET.Element("testsuites", name="ci-mlops", tests=str(len(found)), failures=str(failures))
    suite = ET.SubElement(suites, "testsuite", name="ci-mlops quality gates", tests=str(len(found)),
                          failures=str(failures), errors="0", skipped=str(skipped))
    seen: dict[str, int] = {}
    for item in found:
        name = _clean(item.name)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:  # GitLab keeps only the first of equal names
            name = f"{name} ({seen[name]})"
        where = f"{config_file}:{item.line}" if item.line else config_file
        case = ET.SubElement(suite, "testcase", name=name, classname=f"ci-mlops.{item.kind}", file=config_file,
                             time="0")
        if item.skipped:
            ET.SubElement(case, "skipped", message=_clean(item.message or "skipped"))
        elif not item.passed:
            failure = ET.SubElement(case, "failure", message=_clean(f"{item.message} ({where})"), type=item.kind)
            failure.text = _clean(f"{item.name}: {item.message}\ndeclared at {where}")
        ET.SubElement(case, "system-out").text = _clean(f"{item.name}: {item.message or 'passed'}\n{where}")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _clean(text: str) -> str:
    return text.translate(_XML_BAD)[:10_000]
