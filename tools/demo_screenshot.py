"""Screenshot of the README's demo PR comment as GitHub shows it, for docs/report.md.

    python tools/demo_screenshot.py        # writes docs/images/demo-comment.png

Renders the comment the way tests/unit/report/test_render_browser.py does (markdown-it and Mermaid 12
from tests/support/render/node_modules, headless Chromium) and keeps the PNG small (scale 0.6).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

OUT = ROOT / "docs" / "images" / "demo-comment.png"
SCALE = 0.6


def main() -> int:
    from test_render_browser import demo_comment

    from tests.support.browser import Browser, find_chromium, missing_parts, page_for

    missing = missing_parts()
    if missing:
        print("cannot render: missing " + "; ".join(missing), file=sys.stderr)
        return 1
    chromium = find_chromium()
    if chromium is None:  # missing_parts() names it; kept for the type checker
        print("cannot render: missing chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp, Browser(chromium) as browser:
        page = browser.open(page_for(demo_comment(), Path(tmp)).as_uri())
        page.wait_for("typeof window.rendered === 'object'")
        page.evaluate("window.rendered")
        page.screenshot(OUT, ".comment", scale=SCALE)
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
