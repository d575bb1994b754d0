"""Headless Chromium driven over the DevTools protocol on a pipe (no WebSocket, no extra package).

``Browser`` starts Debian's ``chromium`` with ``--remote-debugging-pipe``: the browser reads
NUL-terminated JSON commands on fd 3 and writes replies and events on fd 4. Enough of the
protocol for tests: open a page, wait for a script's promise, evaluate, take a screenshot.
Nothing here touches the network: pages are local files, and background networking is off.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe",
         "--allow-file-access-from-files", "--force-color-profile=srgb", "--font-render-hinting=none")


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class BrowserError(RuntimeError):
    pass


class Browser:
    """One Chromium process with a fresh profile; use as a context manager."""

    def __init__(self, executable: str, timeout: float = 60.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="ci-mlops-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire() -> None:  # in the child: the protocol's fixed descriptors 3 and 4, open across exec
            import fcntl

            high_r, high_w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 5) for fd in (to_child_r, from_child_w))
            os.dup2(high_r, 3, inheritable=True)
            os.dup2(high_w, 4, inheritable=True)

        self.proc = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=wire, close_fds=False)  # os.pipe() ends are close-on-exec; only 3 and 4 pass
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self._kept: dict[str, Page] = {}

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    # -- protocol ----------------------------------------------------------------------

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def _read(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("no answer from Chromium in time")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace")[-2000:] if self.proc.stderr else ""
                raise BrowserError(f"Chromium closed the pipe: {err.strip()}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(line)

    # -- pages -------------------------------------------------------------------------

    def open(self, url: str, width: int = 1012, height: int = 800) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        page.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        page.call("Page.enable")
        page.call("Page.navigate", {"url": url})
        return page

    def kept(self, key: str, url: str) -> Page:
        """The page opened at ``url`` the first time ``key`` is asked for, kept open for the next calls,
        and brought to the front (a page in the background gets no frames: a screenshot would wait)."""
        if key not in self._kept:
            self._kept[key] = self.open(url)
        page = self._kept[key]
        page.call("Page.bringToFront")
        return page

    def drop(self, key: str) -> None:
        """Close the page kept under ``key`` (the next :meth:`kept` opens a fresh one)."""
        page = self._kept.pop(key, None)
        if page is not None:
            try:
                page.call("Page.close")
            except BrowserError:
                pass


class Page:
    def __init__(self, browser: Browser, session: str):
        self.browser, self.session = browser, session

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` (awaited when it is a promise), as JSON."""
        result = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True, "timeout": self.browser.timeout * 1000})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = (details.get("exception") or {}).get("description") or details.get("text")
            raise BrowserError(f"page script failed: {text}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except BrowserError:
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"page never reached: {expression}")
            time.sleep(0.1)

    def screenshot(self, path: Path, selector: str | None = None, index: int = 0, scale: float = 1.0) -> None:
        """A PNG of the whole page (not just the viewport), or of the ``index``-th element ``selector`` matches."""
        if selector is None:
            box = self.evaluate("({x: 0, y: 0, width: document.documentElement.scrollWidth,"
                                " height: document.documentElement.scrollHeight})")
        else:
            box = self.evaluate(f"(() => {{ const r = document.querySelectorAll({json.dumps(selector)})[{index}]"
                                ".getBoundingClientRect(); return {x: r.left + scrollX, y: r.top + scrollY,"
                                " width: r.width, height: r.height}; })()")
        data = self.call("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True, "clip": {**box, "scale": scale}})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))


# -- PR comments ---------------------------------------------------------------------------

RENDER_DIR = Path(__file__).resolve().parent / "render"
MODULES = RENDER_DIR / "node_modules"
MERMAID = {"12": MODULES / "mermaid" / "dist" / "mermaid.min.js",
           "10": MODULES / "mermaid-10" / "dist" / "mermaid.min.js"}
MARKDOWN_IT = MODULES / "markdown-it" / "dist" / "browser" / "markdown-it.umd.min.js"


def missing_parts() -> list[str]:
    """What the rendering test needs and this machine lacks (empty when it can run)."""
    missing = [] if find_chromium() else ["Debian's chromium (apt-get install chromium)"]
    for path in (MARKDOWN_IT, *MERMAID.values()):
        if not path.is_file():
            missing.append(f"{path.relative_to(RENDER_DIR.parents[2])} (npm ci --prefix tests/support/render)")
    return missing


def page_for(markdown: str, workdir: Path, *, mermaid: str = "12", theme: str = "light") -> Path:
    """An HTML file that renders ``markdown`` with the pinned markdown-it and Mermaid when opened."""
    page_html = (RENDER_DIR / "page.html").read_text(encoding="utf-8")
    source = json.dumps(markdown).replace("</", "<\\/")  # cannot close the <script> it sits in
    page_html = (page_html.replace("@@MARKDOWN_IT@@", MARKDOWN_IT.as_uri())
                 .replace("@@MERMAID@@", MERMAID[mermaid].as_uri()).replace("@@THEME@@", theme)
                 .replace("@@SOURCE@@", source))
    workdir.mkdir(parents=True, exist_ok=True)
    page_file = workdir / f"comment-{mermaid}-{theme}-{abs(hash(markdown))}.html"
    page_file.write_text(page_html, encoding="utf-8")
    return page_file


def comment_page(mermaid: str, theme: str) -> str:
    """The key of the page :func:`render_comment` keeps for this Mermaid version and theme."""
    return f"comment-{mermaid}-{theme}"


def render_comment(browser: Browser, markdown: str, workdir: Path, *, mermaid: str = "12", theme: str = "light",
                   screenshot: Path | None = None, open_details: bool = True) -> dict[str, Any]:
    """Render ``markdown`` as GitHub would; ``{"blocks", "closed", "charts", "texts", "labels", "problems"}``.

    The screenshot is taken as the reader first sees the comment (folds closed); text
    boxes are measured with every ``<details>`` open when ``open_details``.

    Loading and compiling markdown-it and Mermaid (9 MB of script) is most of a page's cost, so
    one page per Mermaid version and theme is kept open and renders each comment afresh
    (``window.render`` in page.html empties the comment and the body first); a page whose
    render failed is closed, and the next comment gets a new one.
    """
    key = comment_page(mermaid, theme)
    page = browser.kept(key, page_for("", workdir, mermaid=mermaid, theme=theme).as_uri())
    try:
        page.wait_for("document.readyState === 'complete' && typeof window.rendered === 'object'")
        page.evaluate("window.rendered")  # the empty comment it was opened with
        blocks = page.evaluate(f"window.render({json.dumps(markdown)})")
        closed = page.evaluate("[...document.querySelectorAll('details')].filter((d) => !d.open).length")
        if screenshot is not None:
            page.screenshot(screenshot)
        if open_details:
            page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; }); true")
        measured = page.evaluate("window.measure()")
        if screenshot is not None:  # each chart alone too, at full size, for a person to look at
            for index in range(measured["charts"]):
                page.screenshot(screenshot.with_name(f"{screenshot.stem}-chart{index + 1}.png"),
                                ".mermaid-chart svg", index)
    except BaseException:
        browser.drop(key)
        raise
    return {"blocks": blocks, "closed": closed, **measured}
