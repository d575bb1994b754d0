"""DVC plots -> data for the report, and Markdown that GitHub renders with no image host.

Curves (``linear``, ``simple``, ``scatter``, ``smooth`` and unknown templates) become
Mermaid ``xychart-beta`` charts with the base and head series on one chart; the
``confusion`` templates become Markdown tables of counts with the change against base.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from ci_mlops.escape import md_cell, md_text, mermaid_label
from ci_mlops.report.values import ParseError, parse

CONFUSION_TEMPLATES = {"confusion", "confusion_normalized"}
MAX_POINTS = 40  # x positions per chart: keeps the comment small and the chart legible
MAX_LINES = 6
BASE_COLOR, HEAD_COLORS = "#9e9e9e", ("#1f6feb", "#d73a49", "#2da44e")


# -- data --------------------------------------------------------------------------------


def read_rows(blob: bytes, path: str) -> list[dict[str, Any]]:
    """Rows of a plot file: CSV/TSV by header, JSON/YAML as a list of records (or the first list in a mapping)."""
    suffix = path.rsplit(".", 1)[-1].lower()
    if suffix in ("csv", "tsv"):
        try:
            text = blob.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ParseError("not UTF-8 text") from exc
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == "tsv" else ",")
        return [dict(row) for row in reader]
    data = parse(blob, path)
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), [])
    if not isinstance(data, list):
        raise ParseError("expected a list of records")
    return [row for row in data if isinstance(row, dict)]


def _num(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return value
    return int(number) if number.is_integer() and "." not in str(value) and "e" not in str(value).lower() else number


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    return list(rows[0].keys()) if rows else []


def series_of(rows: list[dict[str, Any]], x: str | None, ys: list[str]) -> dict[str, Any]:
    """``{"x": [...], "y": {col: [...]}}``; without ``x`` the row index is the step, as in DVC."""
    xs = [_num(row.get(x)) for row in rows] if x else list(range(len(rows)))
    return {"x": xs, "y": {col: [_num(row.get(col)) for row in rows] for col in ys}}


def confusion_of(rows: list[dict[str, Any]], x: str, y: str) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (str(row.get(x)), str(row.get(y)))
        counts[key] = counts.get(key, 0) + 1
    return counts


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp")


def build_plot(decl: dict[str, Any], base_raw: dict[str, bytes], head_raw: dict[str, bytes]) -> dict[str, Any]:
    """One report entry for a plot declaration: every plot DVC lists appears in the report.

    Unreadable plot data is not fatal (a plot is illustration, not a measurement):
    the entry carries an ``error`` string instead. A plot that is not drawn (its files are
    at neither revision, an image) carries a one-line ``reason``.
    """
    files = decl["files"]
    template = decl.get("template") or "linear"
    entry: dict[str, Any] = {
        "id": decl["id"], "files": files, "template": template, "title": decl.get("title"),
        "x": decl.get("x"), "y": decl.get("y"), "base": None, "head": None, "changed": False,
    }
    if decl.get("directory"):
        entry["directory"] = decl["directory"]
    if not any(f in base_raw or f in head_raw for f in files):
        entry["reason"] = (f"{', '.join(files)} at neither revision (declared, but not written, or not "
                           "committed or pushed)")
        entry["missing"] = True
        return entry
    if all(f.lower().endswith(IMAGE_SUFFIXES) for f in files):
        entry["reason"] = "an image: not rendered in the report yet"
        entry["changed"] = [base_raw.get(f) for f in files] != [head_raw.get(f) for f in files]
        return entry
    try:
        for side, raw in (("base", base_raw), ("head", head_raw)):
            entry[side] = _side_data(decl, template, raw)
    except ParseError as exc:
        entry["error"] = str(exc)
        return entry
    entry["changed"] = entry["base"] != entry["head"]
    return entry


def _side_data(decl: dict[str, Any], template: str, raw: dict[str, bytes]) -> Any:
    present = [f for f in decl["files"] if f in raw]
    if not present:
        return None
    if template in CONFUSION_TEMPLATES:
        rows = read_rows(raw[present[0]], present[0])
        cols = _columns(rows)
        x = decl.get("x") if isinstance(decl.get("x"), str) else (cols[0] if cols else None)
        y = decl.get("y") if isinstance(decl.get("y"), str) else (cols[-1] if cols else None)
        if x is None or y is None:
            return {"labels": [], "counts": []}
        counts = confusion_of(rows, x, y)
        return {"x_values": sorted({a for a, _ in counts}, key=_sort_key),
                "y_values": sorted({b for _, b in counts}, key=_sort_key),
                "counts": [[a, b, n] for (a, b), n in sorted(counts.items(), key=lambda kv: (_sort_key(kv[0][0]), _sort_key(kv[0][1])))]}
    out: dict[str, Any] = {}
    for path in present:
        rows = read_rows(raw[path], path)
        x_decl, y_decl = decl.get("x"), decl.get("y")
        x = x_decl.get(path) if isinstance(x_decl, dict) else x_decl
        if isinstance(y_decl, dict):
            ys = y_decl.get(path) or []
            ys = [ys] if isinstance(ys, str) else list(ys)
        elif isinstance(y_decl, list):
            ys = [str(c) for c in y_decl]
        elif isinstance(y_decl, str):
            ys = [y_decl]
        else:
            cols = [c for c in _columns(rows) if c != x]
            ys = cols[-1:]
        series = series_of(rows, x, ys)
        prefix = f"{path}:" if len(decl["files"]) > 1 else ""
        for col, values in series["y"].items():
            out[f"{prefix}{col}"] = {"x": series["x"], "y": values}
    return {"series": out}


def _sort_key(value: str) -> tuple[int, Any]:
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


# -- Markdown ----------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _finite(values: list[Any]) -> list[float]:
    return [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]


def _interp(xs: list[float], ys: list[float], at: float) -> float:
    """Linear interpolation on sorted ``xs``, clamped at the ends (xychart lines cannot have gaps)."""
    if at <= xs[0]:
        return ys[0]
    if at >= xs[-1]:
        return ys[-1]
    lo, hi = 0, len(xs) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xs[mid] <= at:
            lo = mid
        else:
            hi = mid
    if xs[hi] == xs[lo]:
        return ys[lo]
    t = (at - xs[lo]) / (xs[hi] - xs[lo])
    return ys[lo] + t * (ys[hi] - ys[lo])


def _downsample(values: list[Any], limit: int) -> list[Any]:
    if len(values) <= limit:
        return values
    step = (len(values) - 1) / (limit - 1)
    return [values[round(i * step)] for i in range(limit)]


def _numeric_grid(xs: list[float]) -> list[float]:
    """The x positions of a chart with a numeric x.

    xychart-beta spaces x categories evenly, so x values that are not (an ROC curve's
    false-positive rates, say) would bend the curve. They are resampled onto an even
    grid over the same range, which keeps the shape true; evenly spaced x values (steps,
    epochs) are kept as they are when there are few enough.
    """
    if len(xs) <= MAX_POINTS and _evenly_spaced(xs):
        return xs
    low, high = xs[0], xs[-1]
    step = _nice_step((high - low) / (min(MAX_POINTS, len(xs)) - 1))
    # the data's own ends, and round multiples of the step in between (round labels)
    first = math.ceil(low / step - 1e-9)
    inner = [k * step for k in range(first, math.floor(high / step + 1e-9) + 1)]
    inner = [x for x in inner if not math.isclose(x, low) and not math.isclose(x, high)]
    return [low, *inner, high]


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least ``raw``: round axis labels."""
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))


def _evenly_spaced(xs: list[float]) -> bool:
    if len(xs) < 3:
        return True
    gaps = [b - a for a, b in zip(xs, xs[1:])]
    mean = (xs[-1] - xs[0]) / len(gaps)
    return all(abs(g - mean) <= 0.01 * mean for g in gaps)


def _lines(entry: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(side, series name, series) for base then head, at most MAX_LINES."""
    lines = []
    for side in ("base", "head"):
        data = entry.get(side) or {}
        for name, series in (data.get("series") or {}).items():
            lines.append((side, name, series))
    return lines[:MAX_LINES]


def mermaid_chart(entry: dict[str, Any], base_label: str, head_label: str) -> str | None:
    """A Mermaid ``xychart-beta`` block comparing base and head, or None when there is nothing to draw."""
    lines = _lines(entry)
    lines = [(side, name, s) for side, name, s in lines if _finite(s["y"])]
    if not lines:
        return None
    numeric_x = all(len(_finite(s["x"])) == len(s["x"]) for _, _, s in lines)
    if numeric_x:
        grid = _numeric_grid(sorted({float(v) for _, _, s in lines for v in s["x"]}))
    else:
        grid = _downsample(list(dict.fromkeys(str(v) for _, _, s in lines for v in s["x"])), MAX_POINTS)
    plotted: list[list[float]] = []
    for _, _, s in lines:
        if numeric_x:
            pairs = sorted((float(x), float(y)) for x, y in zip(s["x"], s["y"])
                           if isinstance(y, (int, float)) and math.isfinite(float(y)))
            xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
            plotted.append([_interp(xs, ys, at) for at in grid])
        else:
            by_x = {str(x): float(y) for x, y in zip(s["x"], s["y"]) if isinstance(y, (int, float))}
            fallback = next(iter(by_x.values()), 0.0)
            plotted.append([by_x.get(at, fallback) for at in grid])
    low = min(min(p) for p in plotted)
    high = max(max(p) for p in plotted)
    if high == low:
        high, low = high + 1, low - 1 if low != 0 else 0
    pad = (high - low) * 0.05
    colors = []
    head_index = 0
    for side, _, _ in lines:
        if side == "base":
            colors.append(BASE_COLOR)
        else:
            colors.append(HEAD_COLORS[head_index % len(HEAD_COLORS)])
            head_index += 1
    x_title = entry["x"] if isinstance(entry.get("x"), str) else "step"
    names = sorted({name for _, name, _ in lines})
    y_title = ", ".join(names) if len(names) <= 2 else "value"
    title = entry.get("title") or entry["id"]
    out = [
        "```mermaid",
        f"%%{{init: {{\"themeVariables\": {{\"xyChart\": {{\"plotColorPalette\": \"{', '.join(colors)}\"}}}}}}}}%%",
        "xychart-beta",
        f"  title {_quote(title)}",
        f"  x-axis {_quote(x_title)} [{', '.join(_quote(_fmt(v)) for v in grid)}]",
        f"  y-axis {_quote(y_title)} {_fmt(round(low - pad, 6))} --> {_fmt(round(high + pad, 6))}",
    ]
    out += [f"  line [{', '.join(_fmt(round(v, 6)) for v in p)}]" for p in plotted]
    out.append("```")
    legend = []
    for (side, name, _), color in zip(lines, colors):
        who = base_label if side == "base" else head_label
        legend.append(f"{'grey' if side == 'base' else _color_name(color)}: {md_text(name)} at {who}")
    return "\n".join(out) + "\n\n<sub>" + "; ".join(legend) + "</sub>"


def _color_name(color: str) -> str:
    return {"#1f6feb": "blue", "#d73a49": "red", "#2da44e": "green"}.get(color, color)


def _quote(text: Any) -> str:
    return mermaid_label(text)


def confusion_table(entry: dict[str, Any]) -> str:
    """Markdown counts table: rows are ``x`` values, columns ``y`` values, change vs base in brackets."""
    head = entry.get("head") or {}
    base = entry.get("base") or {}
    counts_h = {(a, b): n for a, b, n in head.get("counts", [])}
    counts_b = {(a, b): n for a, b, n in base.get("counts", [])}
    rows_v = sorted(set(head.get("x_values", [])) | set(base.get("x_values", [])), key=_sort_key)
    cols_v = sorted(set(head.get("y_values", [])) | set(base.get("y_values", [])), key=_sort_key)
    x_name = entry["x"] if isinstance(entry.get("x"), str) else "x"
    y_name = entry["y"] if isinstance(entry.get("y"), str) else "y"
    lines = [f"| {md_cell(x_name)} \\ {md_cell(y_name)} | " + " | ".join(md_cell(v) for v in cols_v) + " |",
             "|---|" + "---:|" * len(cols_v)]
    for r in rows_v:
        cells = []
        for c in cols_v:
            now = counts_h.get((r, c), 0) if head else None
            before = counts_b.get((r, c), 0) if base else None
            text = str(now) if now is not None else "–"
            if now is not None and before is not None and now != before:
                text += f" ({now - before:+d})"
            if r == c:
                text = f"**{text}**"
            cells.append(text)
        lines.append(f"| **{md_cell(r)}** | " + " | ".join(cells) + " |")
    return "\n".join(lines)



def render_plot(entry: dict[str, Any], base_label: str, head_label: str) -> str:
    """Markdown for one plot entry (chart or table), with a note when a side is missing."""
    if entry.get("error"):
        return f"_Could not read plot data: {md_text(entry['error'])}_"
    if entry.get("reason"):
        return f"_Not drawn: {md_text(entry['reason'])}._"
    note = ""
    if entry.get("base") is None:
        note = f"_New plot (not at {base_label})._\n\n"
    elif entry.get("head") is None:
        return f"_Removed at {head_label}._"
    if entry["template"] in CONFUSION_TEMPLATES:
        return note + confusion_table(entry)
    chart = mermaid_chart(entry, base_label, head_label)
    return note + (chart or "_No numeric data to plot._")
