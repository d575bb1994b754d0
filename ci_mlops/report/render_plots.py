"""Render every plot `dvc plots diff` knows into files: SVG charts and copied images.

DVC's own code collects the plot definitions and data of both revisions and builds the
renderers (``dvc.render.match.match_defs_renderers``, what ``dvc plots diff --json`` prints),
so templates, custom templates in ``.dvc/plots``, multi-file x/y definitions and plot
directories are read exactly as DVC reads them, with base and head in one chart.
``dvc-render`` fills the Vega-Lite template and ``vl-convert`` draws it to SVG in-process:
no browser, no Node, no network (remote data URLs are refused), no data leaves the machine.

Both libraries are imported only here, and this module only when plots are rendered.
A plot that cannot be rendered becomes one line in ``RenderResult.failures``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ci_mlops.record import field, mutable_record

__all__ = ["RenderResult", "check_svg", "render_plots"]

MAX_SVG_BYTES = 20 * 1024 * 1024  # a chart bigger than this is not something a reviewer can read


@mutable_record
class RenderResult:
    """What ``render_plots`` wrote: one entry per chart or image, one line per failure."""

    charts: list[dict[str, Any]] = field(default_factory=list)  # {"id", "svg", "spec", "revs"}
    images: list[dict[str, Any]] = field(default_factory=list)  # {"id", "rev", "path"}
    failures: list[str] = field(default_factory=list)

    def to_json(self, relative_to: str | Path | None = None) -> dict[str, Any]:
        """The listing; with ``relative_to`` (the output directory) paths are relative to it,
        so the listing stays true inside an uploaded artifact."""
        def rel(path: str) -> str:
            return Path(path).relative_to(Path(relative_to).resolve()).as_posix() if relative_to else path

        return {"charts": [{**c, "svg": rel(c["svg"]), "spec": rel(c["spec"])} for c in self.charts],
                "images": [{**i, "path": rel(i["path"])} for i in self.images],
                "failures": self.failures}


def render_plots(root: str | Path, out_dir: str | Path, base: str, head: str | None = None) -> RenderResult:
    """Render the plots of ``base`` against ``head`` (None = the workspace) into ``out_dir``.

    Writes ``<slug>.svg`` and ``<slug>.vl.json`` (the Vega-Lite spec) per data plot and copies
    each image plot as ``<rev>_<path>`` under ``out_dir/images``. Never raises for a plot:
    a plot DVC cannot load or vl-convert cannot draw is one line in ``failures``.
    """
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    result = RenderResult()
    try:
        renderers = _dvc_renderers(Path(root), out / "images", [base] if head is None else [base, head])
    except Exception as exc:
        result.failures.append(f"plots: DVC could not collect the plots of {base}..{head or 'workspace'}: "
                               f"{_one_line(exc)}")
        return result
    used: set[str] = set()
    for renderer, src_errors, def_errors in renderers:
        name = renderer.name
        for rev, per_source in src_errors.items():
            for source, error in per_source.items():
                result.failures.append(f"{name}: {source} at {rev} could not be read: {_one_line(error)}")
        for rev, error in def_errors.items():
            result.failures.append(f"{name}: definition at {rev} could not be used: {_one_line(error)}")
        if renderer.TYPE == "image":
            for dp in renderer.datapoints:
                _add_image(result, name, dp.get("rev"), Path(str(dp.get("src"))))
            continue
        if not renderer.datapoints:
            continue
        try:
            result.charts.append(_draw(renderer, out, _slug(name, used)))
        except Exception as exc:
            result.failures.append(f"{name}: could not be drawn: {_one_line(exc)}")
    return result


def _dvc_renderers(root: Path, images_dir: Path, revs: list[str]) -> list[Any]:
    from dvc.render.match import match_defs_renderers  # lazy: DVC is slow to import
    from dvc.repo import Repo  # lazy: DVC is slow to import

    with Repo(str(root)) as repo:
        data = repo.plots.diff(revs=list(revs))
        images_dir.mkdir(parents=True, exist_ok=True)
        renderers: list[Any] = match_defs_renderers(data=data, out=str(images_dir),
                                                    templates_dir=repo.plots.templates_dir)
        return renderers


def _add_image(result: RenderResult, name: str, rev: Any, path: Path) -> None:
    """An image plot as DVC wrote it; an SVG that could carry a script or fetch a URL is removed."""
    if path.suffix.lower() == ".svg":
        try:
            check_svg(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            path.unlink(missing_ok=True)
            result.failures.append(f"{name}: image at {rev} left out: {_one_line(exc)}")
            return
    result.images.append({"id": name, "rev": rev, "path": str(path)})


def _draw(renderer: Any, out: Path, slug: str) -> dict[str, Any]:
    import vl_convert  # lazy: vl-convert is slow to import

    spec = renderer.get_filled_template()
    # allowed_base_urls=[]: a custom template's `data.url` or image mark fetches nothing
    svg = vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])
    check_svg(svg)
    svg_path, spec_path = out / f"{slug}.svg", out / f"{slug}.vl.json"
    svg_path.write_text(svg, encoding="utf-8")
    spec_path.write_text(json.dumps(spec, indent=1, default=str), encoding="utf-8")
    return {"id": renderer.name, "svg": str(svg_path), "spec": str(spec_path), "revs": renderer.get_revs()}


# url(...) of anything but a local #id; the quote is consumed before the check, so url('#a') is local
_EXTERNAL = re.compile(r"url\(\s*['\"]?\s*(?!['\"\s#])", re.IGNORECASE)


def check_svg(svg: str) -> None:
    """Raise ValueError unless ``svg`` is well-formed XML with no script, event handler,
    foreign object or reference outside the document (``href``/``url()`` other than ``#id``)."""
    if len(svg.encode("utf-8")) > MAX_SVG_BYTES:
        raise ValueError(f"SVG larger than {MAX_SVG_BYTES // (1024 * 1024)} MB")
    if "<!DOCTYPE" in svg or "<!ENTITY" in svg:
        raise ValueError("SVG declares a DOCTYPE or entities")
    from xml.etree import ElementTree  # lazy: only an SVG needs the XML parser (~10 ms to import)

    try:
        root = ElementTree.fromstring(svg)
    except ElementTree.ParseError as exc:
        raise ValueError(f"SVG is not well-formed XML: {exc}") from exc
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1].lower()
        if tag in ("script", "foreignobject", "iframe", "embed", "object"):
            raise ValueError(f"SVG contains a <{tag}> element")
        for key, value in element.attrib.items():
            attr = key.rsplit("}", 1)[-1].lower()
            if attr.startswith("on"):
                raise ValueError(f"SVG has an event handler attribute {attr!r}")
            if attr == "href" and not value.startswith("#"):
                raise ValueError(f"SVG references {value[:60]!r}")
            if _EXTERNAL.search(value):
                raise ValueError(f"SVG attribute {attr!r} references a URL")
        if tag == "style" and element.text and (_EXTERNAL.search(element.text) or "@import" in element.text):
            raise ValueError("SVG style references a URL")


def _slug(name: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "plot"
    slug, n = base[:100], 2
    while slug in used:
        slug, n = f"{base[:95]}-{n}", n + 1
    used.add(slug)
    return slug


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]

