"""``model-card.md``: a model card in the sections of Google's Model Card Toolkit
and Hugging Face model cards, filled from the lineage record and the
``model_card:`` section of ``.ci-mlops.yml``.

Pure text in, text out: everything shown comes from the arguments and is a function
of the tag and its commit (the date shown is the tag's), so a retried release renders
the same card byte for byte. Who ran the release and in which workflow run are in
``lineage.json`` only.
"""

from __future__ import annotations

from typing import Any

from ci_mlops.checks.render import card_gates
from ci_mlops.config.records import ModelCard
from ci_mlops.deploy.lineage import Lineage
from ci_mlops.escape import md_cell, md_code
from ci_mlops.markdown.blocks import table


class _Code(str):
    """A table cell shown verbatim as inline code (paths, keys, hashes, tags)."""


class _Md(str):
    """A table cell that is already Markdown ci-mlops built (a link to the commit)."""

TODO = "_Not documented yet: add `model_card.{key}` to `.ci-mlops.yml`._"


def render_model_card(
    lineage: Lineage,
    card: ModelCard | None = None,
    *,
    notes: str | None = None,
    slices: str | None = None,
    server_url: str = "https://github.com",
) -> str:
    """Render the card. ``notes`` is the metrics diff against the previous release and
    ``slices`` the slice/fairness results, both Markdown."""
    card = card or ModelCard()
    name = card.name or lineage["model"]
    version = lineage.get("version") or lineage["tag"]
    out: list[str] = [f"# Model card: {name} {_v(version)}", ""]
    if card.overview:
        out += [card.overview.strip(), ""]

    out += ["## Model details", ""]
    commit = lineage["commit"]
    repo = lineage.get("repository")
    commit_text = _Md(f"[{md_code(commit[:12])}]({server_url}/{repo}/commit/{commit})") if repo else _Code(commit)
    rows = [
        ("Name", name),
        ("Version", _v(version) + (" (pre-release)" if lineage.get("prerelease") else "")),
        ("Stage", lineage.get("stage") or "—"),
        ("Tag", _Code(lineage['tag'])),
        ("Commit", commit_text),
        ("Tagged", lineage["created_at"]),
        ("Owners", ", ".join(card.owners or ()) or "—"),
        ("License", card.license or "—"),
    ]
    out += _table(["", ""], rows)
    if card.references:
        out += ["", "References:", ""] + [f"- {ref}" for ref in card.references]
    out += ["", "### Artifacts", ""]
    out += _table(["Path", "Size (bytes)", "SHA-256", "MD5 (dvc.lock)"],
                  [(_Code(a['path']), a["size"], _Code(a['sha256']), _Code(a['md5'])) for a in lineage["artifacts"]])

    out += ["", "## Intended use", "", _text(card.intended_use, "intended_use")]
    out += ["", "### Out-of-scope use", "", _text(card.out_of_scope, "out_of_scope")]

    out += ["", "## Training data", ""]
    if card.training_data:
        out += [card.training_data.strip(), ""]
    if lineage["data"]:
        out += _table(["Path", "MD5 (dvc.lock)", "Size (bytes)"],
                      [(_Code(d['path']), _Code(d['md5']), d.get("size", "—")) for d in lineage["data"]])
    else:
        out.append("_No DVC-tracked data dependencies in `dvc.lock`._")
    if card.evaluation_data:
        out += ["", "### Evaluation data", "", card.evaluation_data.strip()]

    out += ["", "## Training parameters", ""]
    params = [(_Code(f), _Code(k), _val(v)) for f, keys in sorted(lineage["params"].items())
              for k, v in sorted(keys.items())]
    out += _table(["File", "Param", "Value"], params) if params else ["_No params recorded._"]

    out += ["", "## Quantitative analysis", "", "### Metrics", ""]
    metrics = [(_Code(f), _Code(k), _val(v)) for f, keys in sorted(lineage["metrics"].items())
               for k, v in sorted(keys.items())]
    out += _table(["File", "Metric", "Value"], metrics) if metrics else ["_No metrics recorded._"]
    gates = lineage.get("gates") or []
    if gates:
        out += ["", *card_gates(gates)]
    if slices:
        out += ["", "### Slices and fairness", "", slices.strip()]
    if notes:
        earlier = lineage.get("previous")
        previous = earlier["tag"] if earlier else None
        title = f"Changes since `{previous}`" if previous else "Changes"
        out += ["", f"### {title}", "", notes.strip()]

    out += ["", "## Considerations", "", "### Limitations", "", _text(card.limitations, "limitations")]
    if card.tradeoffs:
        out += ["", "### Trade-offs", "", card.tradeoffs.strip()]
    out += ["", "### Ethical considerations, bias and risks", "", _text(card.ethical_considerations, "ethical_considerations")]

    out += ["", "## How to reproduce", "", "```sh"]
    out += [f"git clone {server_url}/{repo}.git" if repo else "git clone <this repository>"]
    out += [f"git checkout {lineage['tag']}", "dvc pull", "dvc repro", "dvc status   # nothing changed: same model"]
    out += ["```", "", "Verify a downloaded release against this record:", "", "```sh"]
    out += [f"ci-mlops audit verify {lineage['tag']}", "```", ""]
    out += [(f"<sub>Generated by ci-mlops {lineage.get('ci_mlops_version', '')}; "
             "hashes in `lineage.json`.</sub>"), ""]
    return "\n".join(out)


def _v(version: str) -> str:
    return version if not version[:1].isdigit() else f"v{version}"


def _text(value: str | None, key: str) -> str:
    return value.strip() if value else TODO.format(key=key)


def _val(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)



def _table(header: list[str], rows: list[tuple[Any, ...]]) -> list[str]:
    return table(header, ["---"] * len(header), [[_cell(c) for c in row] for row in rows])


def _cell(value: Any) -> str:
    if isinstance(value, _Md):
        return str(value)
    if isinstance(value, _Code):
        return md_code(str(value), cell=True)
    return md_cell(value)
