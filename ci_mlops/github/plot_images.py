"""The plot images of a report in its PR comment: checked, published to the PR's plot branch, shown.

Input: the folder ``ci-mlops report --plots-dir`` wrote (``plots.json`` listing SVG charts and
image plots), as the comment job downloaded it from the run's artifact. For a fork's pull
request that run executed the fork's code, so the folder is untrusted: the listing is
validated, files are read only inside the folder (no symlink, no special file, bounded
size), each image is checked by :mod:`ci_mlops.report.image_check` (format from the bytes,
size, pixels; SVG rebuilt from an allowlist) and only then published by
:mod:`ci_mlops.github.plot_branch`.

Nothing here fails the comment: an image that is refused or a publish that is impossible
(publishing off, a read-only token, a ruleset, an API failure) is one line, and the comment
keeps the report's own Mermaid charts and tables and links the run's artifact instead.
"""

from __future__ import annotations

import html
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_mlops.errors import ServiceError, UserError
from ci_mlops.escape import html_text, md_code, md_text, one_line
from ci_mlops.fsutil import read_head_nofollow
from ci_mlops.github import actions, plot_branch
from ci_mlops.markdown.blocks import details
from ci_mlops.report.image_check import ImageRefused, Limits, check_image
from ci_mlops.safeload import load_json

if TYPE_CHECKING:
    from ci_mlops.github.client import GitHubClient
    from ci_mlops.github.plot_branch import BranchPolicy

LISTING = "plots.json"
MAX_LISTING_BYTES = 1024 * 1024
MAX_LINES = 40  # failure lines shown; the rest are counted
START, END = "<!-- ci-mlops:plots -->", "<!-- /ci-mlops:plots -->"
_BLOCK_RE = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)


@dataclass
class Entry:
    """One image to show: a chart (base and head in one) or an image plot at one revision."""

    plot: str
    kind: str  # "chart" | "image"
    rev: str | None
    path: str  # relative to the folder, as listed
    name: str = ""  # file name in the published commit (empty: not publishable)
    data: bytes = b""  # the checked bytes to publish
    url: str | None = None
    problem: str | None = None
    removed: list[str] = field(default_factory=list)


@dataclass
class Gallery:
    entries: list[Entry]
    render_failures: list[str]  # plots the report could not draw (from the listing)
    published: bool = False
    reason: str | None = None  # why nothing was published
    commit: str | None = None
    branch: str | None = None
    notes: list[str] = field(default_factory=list)  # for the log

    @property
    def shown(self) -> list[Entry]:
        return [e for e in self.entries if e.url]


def load(folder: Path, limits: Limits = Limits()) -> Gallery | None:
    """The checked images of ``folder``; None when it holds no ``plots.json`` (no plots were drawn).

    A listing that is not what ``ci-mlops report`` writes is a Gallery with a ``reason``.
    """
    listing_path = folder / LISTING
    if not listing_path.exists() and not listing_path.is_symlink():
        return None
    try:
        data = load_json(_read_inside(folder, LISTING, MAX_LISTING_BYTES).decode("utf-8"))
        entries, failures = _entries(data, limits)
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        return Gallery([], [], reason=f"{LISTING} is not a listing ci-mlops wrote: {one_line(exc)[:200]}")
    total = 0
    used: set[str] = set()
    for index, entry in enumerate(entries, 1):
        try:
            data_bytes = _read_inside(folder, entry.path, limits.max_bytes)
            image = check_image(data_bytes, limits)
            if entry.kind == "chart" and image.kind != "svg":
                raise ImageRefused(f"a chart must be SVG, this is {image.kind.upper()}")
            total += len(image.data)
            if total > limits.max_total_bytes:
                raise ImageRefused(f"over the {limits.max_total_bytes:,}-byte limit for all images of a run")
        except (ImageRefused, ValueError, OSError) as exc:
            entry.problem = one_line(exc)[:200]
            continue
        entry.removed = image.removed
        entry.name = _name(index, entry, image.suffix, used)
        entry.data = image.data
    return Gallery(entries, failures)


def _entries(data: Any, limits: Limits) -> tuple[list[Entry], list[str]]:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    charts, images, failures = data.get("charts", []), data.get("images", []), data.get("failures", [])
    if not all(isinstance(x, list) for x in (charts, images, failures)):
        raise ValueError('"charts", "images" and "failures" must be lists')
    if len(charts) + len(images) > limits.max_images:
        raise ValueError(f"{len(charts) + len(images)} images listed, over the limit of {limits.max_images}")
    entries = []
    for kind, items, key in (("chart", charts, "svg"), ("image", images, "path")):
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get(key), str):
                raise ValueError(f'each of "{kind}s" needs a string "id" and "{key}"')
            rev = item.get("rev")
            entries.append(Entry(item["id"][:300], kind, str(rev)[:100] if rev is not None else None, item[key]))
    return entries, [one_line(f)[:300] for f in failures[:200] if isinstance(f, str)]


def _read_inside(folder: Path, relative: str, limit: int) -> bytes:
    """The bytes of ``folder/relative``: a relative path that stays inside the folder through
    no symlink, naming a regular file, read up to ``limit`` bytes whatever its claimed size."""
    parts = Path(relative).parts
    if not relative or Path(relative).is_absolute() or ".." in parts or "\x00" in relative:
        raise ValueError(f"path {relative[:80]!r} is not inside the plots folder")
    path = folder
    for part in parts:
        path = path / part
        info = path.lstat()  # FileNotFoundError is an OSError: one line
        if stat.S_ISLNK(info.st_mode):
            raise ValueError(f"{relative[:80]} is a symlink")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{relative[:80]} is not a regular file")
    data = read_head_nofollow(path, limit)
    if len(data) > limit:
        raise ImageRefused(f"{max(info.st_size, len(data)):,} bytes, over the {limit:,}-byte limit per image")
    return data


def _name(index: int, entry: Entry, suffix: str, used: set[str]) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", entry.plot).strip("._")[:60] or "plot"
    rev = f"-{re.sub(r'[^A-Za-z0-9._-]+', '_', entry.rev)[:30]}" if entry.kind == "image" and entry.rev else ""
    name = f"{index:02d}-{slug}{rev}{suffix}"
    used.add(name)
    return name


def publish_gallery(gallery: Gallery, client: GitHubClient, repo: str, server_url: str, pr: int, head_sha: str,
                    policy: BranchPolicy, log: Callable[[str], None] | None = None) -> None:
    """Publish the checked images; on any failure, ``gallery.reason`` says why in one line."""
    files = {e.name: e.data for e in gallery.entries if e.name}
    if not files:
        return
    try:
        done = plot_branch.publish(client, repo, server_url, pr, head_sha, files, policy, log=log)
    except (UserError, ServiceError) as exc:  # ApiError is a UserError
        gallery.reason = _why(exc)
        return
    folder = head_sha[:12]
    for entry in gallery.entries:
        if entry.name:
            entry.url = done.urls[f"{folder}/{entry.name}"]
    gallery.published, gallery.commit, gallery.branch = True, done.commit, done.branch
    gallery.notes.append(f"published {len(files)} plot image(s) to {done.branch} at {done.commit[:12]} "
                         f"({done.uploaded} uploaded, {len(files) - done.uploaded} unchanged since the last run; "
                         f"run {done.run} of the branch{'; older runs pruned' if done.squashed else ''})")
    if done.deleted:
        gallery.notes.append(f"deleted the plot branches of closed pull requests: {', '.join(done.deleted)}")


def _why(exc: Exception) -> str:
    text = one_line(exc)
    if "Resource not accessible by integration" in text:
        return "the token cannot write to the repository (the comment job needs contents: write)"
    if "rule violations" in text.lower():
        return "a repository rule forbids the plot branch"
    return text[:240]


# -- Markdown --------------------------------------------------------------------------------


def section(gallery: Gallery, *, artifact: str, run_url: str | None, fork: bool = False) -> str:
    """The comment's plots section: the images when published, else where they are and why not."""
    lines: list[str] = []
    where = f"the run's artifact {md_code(artifact)}" + (f" ([workflow run]({run_url}))" if run_url else "")
    if gallery.published and gallery.shown:
        title = "#### Plots" + (" (images from the fork's run, checked and published by ci-mlops)" if fork else "")
        lines.append(title)
        lines += _images(gallery)
        lines.append(f"<sub>Images: commit {md_code(str(gallery.commit)[:12])} of the branch "
                     f"{md_code(gallery.branch)}, also in {where}.</sub>")
    else:
        drawn = [e for e in gallery.entries if not e.problem]
        lines.append("#### Plots as images")
        if drawn:
            lines.append(f"{len(drawn)} image(s) of the plots are in {where}"
                         + (f"; not shown here: {md_text(gallery.reason)}." if gallery.reason else "."))
        elif gallery.reason:
            lines.append(f"Not shown: {md_text(gallery.reason)}.")
    problems = [f"- ⚠️ {md_code(e.plot)}{_at(e)}: not published: {md_text(e.problem)}"
                for e in gallery.entries if e.problem]
    problems += [f"- ⚠️ {md_code(e.plot)}{_at(e)}: sanitised, removed {md_text(', '.join(e.removed))}"
                 for e in gallery.entries if e.removed and not e.problem]
    # plots the report could not draw are already named in its own "Plot images" section
    if len(problems) > MAX_LINES:
        problems = [*problems[:MAX_LINES], f"- … and {len(problems) - MAX_LINES} more (see the job log)"]
    if problems:
        lines.append("\n".join(problems))
    return f"{START}\n" + "\n\n".join(lines) + f"\n{END}"


def _at(entry: Entry) -> str:
    return f" at {md_code(entry.rev)}" if entry.kind == "image" and entry.rev else ""


def _images(gallery: Gallery) -> list[str]:
    out = []
    by_plot: dict[str, list[Entry]] = {}
    for entry in gallery.shown:
        by_plot.setdefault(entry.plot, []).append(entry)
    for plot, entries in by_plot.items():
        alt = html_text(plot)
        if len(entries) == 1 and entries[0].kind == "chart":
            body = f'<img src="{_attr_url(entries[0].url)}" alt="{alt}" width="720">'
        else:  # an image plot: its revisions side by side
            cells = "".join(f'<td><img src="{_attr_url(e.url)}" alt="{alt} at {html_text(e.rev)}" width="360"></td>'
                            for e in entries)
            heads = "".join(f"<th>{html_text(e.rev)}</th>" for e in entries)
            body = f"<table><tr>{heads}</tr><tr>{cells}</tr></table>"
        out.append(details(f"<code>{alt}</code>", body, open=True))
    return out


def _attr_url(url: str | None) -> str:
    """A URL we built (server, repository, commit, our own file name) as an attribute value: only
    escaped, never "defused" like untrusted text (a word joiner in ``https://`` would break it)."""
    return html.escape(str(url), quote=True)


def merge(report: str, block: str, *, replace_charts: bool) -> str:
    """``report`` with the plots section: in place of the report's own charts when the images are
    shown (``replace_charts``), else added at the end."""
    if replace_charts and _BLOCK_RE.search(report):
        return _BLOCK_RE.sub(lambda _m: block, report, count=1)
    return report.rstrip("\n") + "\n\n" + block + "\n"


# -- the comment ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlotOptions:
    """``ci-mlops comment --plots-dir``: where the images are and whether to publish them."""

    folder: Path
    publish: bool
    policy: BranchPolicy
    artifact: str = "ci-mlops-report"


def attach(text: str, options: PlotOptions, client: GitHubClient, repo: str, ctx: Any, pr: int, head_sha: str,
           *, fork: bool, notes: list[str], log: Callable[[str], None] | None = None) -> str:
    """``text`` (the comment's report) with its plots section, and the job summary told where the images are.

    Never raises for an image or a publish that fails: each is a line in the section and in ``notes``.
    """
    gallery = load(options.folder)
    if gallery is None:
        return text
    if not options.publish:
        gallery.reason = gallery.reason or "publishing is off (report.images.publish: false)"
    elif gallery.reason is None and head_sha:
        publish_gallery(gallery, client, repo, ctx.server_url, pr, head_sha, options.policy, log=log)
    notes.extend(gallery.notes)
    if gallery.reason:
        notes.append(f"plot images not published: {gallery.reason}")
    notes.extend(f"plot {e.plot}{' at ' + e.rev if e.rev else ''}: not published: {e.problem}"
                 for e in gallery.entries if e.problem)
    block = section(gallery, artifact=options.artifact, run_url=ctx.run_url, fork=fork)
    actions.append_summary(block + "\n")
    return merge(text, block, replace_charts=gallery.published and not fork)
