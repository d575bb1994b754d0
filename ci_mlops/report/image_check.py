"""Checks an image before it is published: its format from its bytes, its size, and for SVG
a sanitised copy that can carry no script and fetch nothing.

The images come from a plots directory a workflow run uploaded; for a fork's pull request
that run executed the fork's code, so every byte is untrusted. Nothing here trusts a file
name or an extension: the format is read from the magic bytes and must be one of
:data:`ALLOWED`, raster dimensions are read from the header (a 100-byte PNG can claim a
100,000 x 100,000 canvas), and an SVG is rebuilt from an allowlist of elements and
attributes, so whatever the fork put in it, the published copy holds only drawing.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xml.etree import ElementTree

__all__ = ["ALLOWED", "CheckedImage", "ImageRefused", "Limits", "check_image", "sanitize_svg"]

ALLOWED = ("png", "jpeg", "gif", "svg")
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "svg": "image/svg+xml"}
SUFFIXES = {"png": ".png", "jpeg": ".jpg", "gif": ".gif", "svg": ".svg"}


@dataclass(frozen=True)
class Limits:
    """What one run may publish (documented in docs/report.md, "Publishing the images")."""

    max_bytes: int = 2 * 1024 * 1024  # one image
    max_total_bytes: int = 25 * 1024 * 1024  # all images of one run
    max_images: int = 60  # 20 plots, each with a base and a head image, and room to spare
    max_side: int = 10_000  # pixels, width or height
    max_pixels: int = 40_000_000  # a decompression bomb is refused by its header, unread


class ImageRefused(ValueError):
    """The image is not published; the message says why in a few words."""


@dataclass
class CheckedImage:
    kind: str  # one of ALLOWED
    data: bytes  # what is published: the bytes as given, or the sanitised SVG
    width: int | None = None
    height: int | None = None
    removed: list[str] = field(default_factory=list)  # what sanitising took out of an SVG

    @property
    def suffix(self) -> str:
        return SUFFIXES[self.kind]


def sniff(data: bytes) -> str | None:
    """The format the bytes are, by their signature; None when not one of :data:`ALLOWED`."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096]:
        return "svg"
    return None


def check_image(data: bytes, limits: Limits = Limits()) -> CheckedImage:
    """The image to publish, or ImageRefused naming why not (format, size, dimensions, SVG content)."""
    if len(data) > limits.max_bytes:
        raise ImageRefused(f"{len(data):,} bytes, over the {limits.max_bytes:,}-byte limit per image")
    kind = sniff(data)
    if kind is None:
        raise ImageRefused("not a PNG, JPEG, GIF or SVG image (by its first bytes)")
    if kind == "svg":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ImageRefused("an SVG that is not UTF-8") from None
        clean, removed = sanitize_svg(text)
        out = clean.encode("utf-8")
        if len(out) > limits.max_bytes:
            raise ImageRefused(f"{len(out):,} bytes, over the {limits.max_bytes:,}-byte limit per image")
        return CheckedImage("svg", out, removed=removed)
    width, height = _dimensions(kind, data)
    if width <= 0 or height <= 0:
        raise ImageRefused(f"a {kind.upper()} with no pixels ({width} x {height})")
    if max(width, height) > limits.max_side or width * height > limits.max_pixels:
        raise ImageRefused(f"a {kind.upper()} of {width:,} x {height:,} pixels, over the "
                           f"{limits.max_side:,}-pixel side or {limits.max_pixels:,}-pixel limit")
    return CheckedImage(kind, data, width, height)


def _dimensions(kind: str, data: bytes) -> tuple[int, int]:
    if kind == "png":
        # the IHDR chunk must come first: length 13, type, width, height (big-endian)
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise ImageRefused("a PNG without its IHDR header")
        return struct.unpack(">II", data[16:24])
    if kind == "gif":
        if len(data) < 10:
            raise ImageRefused("a truncated GIF")
        return struct.unpack("<HH", data[6:10])
    return _jpeg_dimensions(data)


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_dimensions(data: bytes) -> tuple[int, int]:
    """Width and height from the first start-of-frame segment."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ImageRefused("a JPEG whose segments do not parse")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if marker in _SOF:
            if pos + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return width, height
        if marker in (0xD9, 0xDA) or length < 2:  # end of image, or scan data before any frame
            break
        pos += 2 + length
    raise ImageRefused("a JPEG without a frame header")


# -- SVG -------------------------------------------------------------------------------------

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
# Drawing, text, paint servers, clipping, masking, filters, markers and metadata. Not in the
# list, so never kept: script, foreignObject, iframe/embed/object, use of other documents,
# animation (<set>/<animate> can rewrite an href after the checks), a, image of a URL.
ELEMENTS = frozenset([
    "svg", "g", "defs", "symbol", "use", "title", "desc", "metadata", "switch", "path", "rect", "circle",
    "ellipse", "line", "polyline", "polygon", "text", "tspan", "textPath", "linearGradient", "radialGradient",
    "stop", "pattern", "clipPath", "mask", "marker", "filter", "feBlend", "feColorMatrix", "feComponentTransfer",
    "feComposite", "feConvolveMatrix", "feDiffuseLighting", "feDisplacementMap", "feDistantLight", "feDropShadow",
    "feFlood", "feFuncA", "feFuncB", "feFuncG", "feFuncR", "feGaussianBlur", "feMerge", "feMergeNode",
    "feMorphology", "feOffset", "fePointLight", "feSpecularLighting", "feSpotLight", "feTile", "feTurbulence",
    "image", "style",
])
# Presentation and geometry attributes; event handlers (on*) and anything else are dropped.
ATTRIBUTES = frozenset([
    "id", "class", "style", "transform", "viewBox", "preserveAspectRatio", "width", "height", "x", "y", "x1",
    "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "d", "points", "pathLength", "fill", "fill-opacity",
    "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-linecap", "stroke-linejoin",
    "stroke-dasharray", "stroke-dashoffset", "stroke-miterlimit", "opacity", "visibility", "display",
    "font-family", "font-size", "font-weight", "font-style", "font-variant", "text-anchor", "dominant-baseline",
    "alignment-baseline", "baseline-shift", "letter-spacing", "word-spacing", "text-decoration", "writing-mode",
    "dx", "dy", "rotate", "textLength", "lengthAdjust", "startOffset", "method", "spacing", "clip-path",
    "clip-rule", "mask", "filter", "marker-start", "marker-mid", "marker-end", "markerWidth", "markerHeight",
    "markerUnits", "refX", "refY", "orient", "gradientUnits", "gradientTransform", "spreadMethod", "fx", "fy",
    "fr", "offset", "stop-color", "stop-opacity", "patternUnits", "patternContentUnits", "patternTransform",
    "maskUnits", "maskContentUnits", "clipPathUnits", "filterUnits", "primitiveUnits", "in", "in2", "result",
    "stdDeviation", "mode", "operator", "k1", "k2", "k3", "k4", "values", "type", "tableValues", "slope",
    "intercept", "amplitude", "exponent", "kernelMatrix", "order", "divisor", "bias", "targetX", "targetY",
    "edgeMode", "kernelUnitLength", "preserveAlpha", "surfaceScale", "diffuseConstant", "specularConstant",
    "specularExponent", "lighting-color", "flood-color", "flood-opacity", "azimuth", "elevation", "z",
    "pointsAtX", "pointsAtY", "pointsAtZ", "limitingConeAngle", "scale", "xChannelSelector", "yChannelSelector",
    "radius", "baseFrequency", "numOctaves", "seed", "stitchTiles", "color", "color-interpolation",
    "color-interpolation-filters", "color-rendering", "shape-rendering", "text-rendering", "image-rendering",
    "paint-order", "vector-effect", "overflow", "version", "role", "lang", "space", "href", "pointer-events",
    "cursor", "focusable",
])
XML_NS = "http://www.w3.org/XML/1998/namespace"
# A local reference (#id) or an embedded raster image; any other URL would be fetched.
_SAFE_HREF = re.compile(r"#[\w.:-]*|data:image/(?:png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*", re.ASCII)
_URL = re.compile(r"url\(\s*['\"]?\s*(?!['\"\s#])", re.IGNORECASE)
_CSS_DANGER = re.compile(r"@import|expression\s*\(|javascript:|-moz-binding|behavior\s*:", re.IGNORECASE)


def sanitize_svg(text: str) -> tuple[str, list[str]]:
    """``text`` rebuilt from allowed elements and attributes, and what was removed.

    ImageRefused when it is not an SVG document one can parse safely: a DOCTYPE or entity
    declaration (entity expansion), malformed XML, or a root that is not ``<svg>``.
    """
    if re.search(r"<!DOCTYPE|<!ENTITY", text, re.IGNORECASE):
        raise ImageRefused("an SVG declaring a DOCTYPE or entities")
    from xml.etree import ElementTree  # lazy: only an SVG needs the XML parser (~10 ms to import)

    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise ImageRefused(f"an SVG that is not well-formed XML ({exc})") from None
    if _local(root.tag) != "svg":
        raise ImageRefused(f"an XML document whose root is <{_local(root.tag)[:40]}>, not <svg>")
    removed: list[str] = []
    _clean(root, removed)
    ElementTree.register_namespace("", SVG_NS)
    ElementTree.register_namespace("xlink", XLINK_NS)
    out = ElementTree.tostring(root, encoding="unicode")
    return out, sorted(set(removed))


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else "?"


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _clean(element: ElementTree.Element, removed: list[str]) -> None:
    if _local(element.tag) == "metadata":  # RDF and the like (matplotlib's): not drawing, dropped quietly
        for child in list(element):
            element.remove(child)
    for child in list(element):
        raw: object = child.tag  # a comment's or processing instruction's tag is a function
        tag = raw if isinstance(raw, str) else ""
        name = _local(tag)
        if not tag or _namespace(tag) not in ("", SVG_NS) or name not in ELEMENTS:
            removed.append(f"<{name}>" if tag else "a processing instruction")
            element.remove(child)
            continue
        if name == "style" and child.text and (_URL.search(child.text) or _CSS_DANGER.search(child.text)):
            removed.append("a <style> that loads or runs something")
            element.remove(child)
            continue
        _clean(child, removed)
    for key in list(element.attrib):
        value = element.attrib[key]
        name, ns = _local(key), _namespace(key)
        known = name in ATTRIBUTES or name.startswith("aria-")
        if ns not in ("", XLINK_NS, XML_NS) or not known or (ns == XLINK_NS and name != "href"):
            removed.append("event handler attributes" if name.lower().startswith("on") else f"attribute {name}")
            del element.attrib[key]
        elif (name == "href" and not _SAFE_HREF.fullmatch(value.strip())) or _URL.search(value) or _CSS_DANGER.search(value):
            removed.append("an external reference")
            del element.attrib[key]
    if _local(element.tag) == "image" and "href" not in {_local(k) for k in element.attrib}:
        element.attrib.clear()  # an image left with no embedded data draws nothing
