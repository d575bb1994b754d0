"""DVC plots -> data for the report, and Markdown that GitHub renders with no image host.

Curves (``linear``, ``simple``, ``scatter``, ``smooth`` and unknown templates) become
Mermaid ``xychart-beta`` charts with the base and head series on one chart; the
``confusion`` templates become Markdown tables of counts with the change against base.
"""

from __future__ import annotations

import io

from ci_mlops.dvc.values import ParseError, parse
from ci_mlops.escape import md_cell, md_code, md_text
from ci_mlops.markdown.blocks import table
from ci_mlops.report.mermaid import mermaid_chart

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from typing import Any

    from ci_mlops.report.document import PlotData, PlotEntry, Series

__all__ = ["build_plot", "confusion_table", "mermaid_chart", "read_rows", "render_plot"]

CONFUSION_TEMPLATES = {"confusion", "confusion_normalized"}
MAX_CLASSES = 20  # rows and columns of a confusion table; more labels would grow it quadratically


# -- data --------------------------------------------------------------------------------


def read_rows(blob: bytes, path: str) -> list[dict[str, Any]]:
    """Rows of a plot file: CSV/TSV by header, JSON/YAML as a list of records (or the first list in a mapping)."""
    suffix = path.rsplit(".", 1)[-1].lower()
    if suffix in ("csv", "tsv"):
        try:
            text = blob.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ParseError("not UTF-8 text") from exc
        import csv  # lazy: only a CSV or TSV plot file needs it (the report's start-up)

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


def series_of(rows: list[dict[str, Any]], x: str | None, ys: list[str]) -> tuple[list[Any], dict[str, list[Any]]]:
    """The x values and each y column's values; without ``x`` the row index is the step, as in DVC."""
    xs = [_num(row.get(x)) for row in rows] if x else list(range(len(rows)))
    return xs, {col: [_num(row.get(col)) for row in rows] for col in ys}


def confusion_of(rows: list[dict[str, Any]], x: str, y: str) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (str(row.get(x)), str(row.get(y)))
        counts[key] = counts.get(key, 0) + 1
    return counts


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp")


def build_plot(decl: dict[str, Any], base_raw: dict[str, bytes], head_raw: dict[str, bytes]) -> PlotEntry:
    """One report entry for a plot declaration: every plot DVC lists appears in the report.

    Unreadable plot data is not fatal (a plot is illustration, not a measurement):
    the entry carries an ``error`` string instead. A plot that is not drawn (its files are
    at neither revision, an image) carries a one-line ``reason``.
    """
    files = decl["files"]
    template = decl.get("template") or "linear"
    entry: PlotEntry = {
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
        entry["base"] = _side_data(decl, template, base_raw)
        entry["head"] = _side_data(decl, template, head_raw)
    except ParseError as exc:
        entry["error"] = str(exc)
        return entry
    entry["changed"] = entry["base"] != entry["head"]
    return entry


def _side_data(decl: dict[str, Any], template: str, raw: dict[str, bytes]) -> PlotData | None:
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
    out: dict[str, Series] = {}
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
        xs, columns = series_of(rows, x, ys)
        prefix = f"{path}:" if len(decl["files"]) > 1 else ""
        for col, values in columns.items():
            out[f"{prefix}{col}"] = {"x": xs, "y": values}
    return {"series": out}


def _sort_key(value: str) -> tuple[int, Any]:
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


# -- Markdown ----------------------------------------------------------------------------


def confusion_table(entry: PlotEntry, base_label: str = "base", head_label: str = "head") -> str:
    """A labelled confusion matrix: rows are ``x`` values, columns ``y`` values, head counts with the change vs base in brackets."""
    head = entry.get("head") or {}
    base = entry.get("base") or {}
    counts_h = {(a, b): n for a, b, n in head.get("counts", [])}
    counts_b = {(a, b): n for a, b, n in base.get("counts", [])}
    rows_v = sorted(set(head.get("x_values", [])) | set(base.get("x_values", [])), key=_sort_key)
    cols_v = sorted(set(head.get("y_values", [])) | set(base.get("y_values", [])), key=_sort_key)
    note = ""
    if len(rows_v) > MAX_CLASSES or len(cols_v) > MAX_CLASSES:
        rows_v, cols_v, note = _most_frequent(rows_v, cols_v, counts_h or counts_b)
    x_name = entry["x"] if isinstance(entry.get("x"), str) else "x"
    y_name = entry["y"] if isinstance(entry.get("y"), str) else "y"
    body = []
    changed = False
    for r in rows_v:
        cells = []
        for c in cols_v:
            now = counts_h.get((r, c), 0) if head else None
            before = counts_b.get((r, c), 0) if base else None
            text = str(now) if now is not None else "–"
            if now is not None and before is not None and now != before:
                text += f" ({now - before:+d})"
                changed = True
            if r == c:
                text = f"**{text}**"
            cells.append(text)
        body.append([f"**{md_cell(r)}**", *cells])
    lines = table([f"{md_cell(x_name)} \\ {md_cell(y_name)}", *map(md_cell, cols_v)], ["---"] + ["---:"] * len(cols_v),
                  body)
    side = f"head {head_label}" if head else f"base {base_label}"
    intro = (f"Confusion matrix at {side}: rows are {md_code(x_name)}, columns {md_code(y_name)}, "
             "the diagonal (bold) is where they agree.")
    if changed:
        intro += f" In brackets: the change in each count from base {base_label}."
    return intro + "\n\n" + "\n".join(lines) + note


def _most_frequent(rows_v: list[str], cols_v: list[str],
                   counts: dict[tuple[str, str], int]) -> tuple[list[str], list[str], str]:
    """The :data:`MAX_CLASSES` labels with the most rows (actual or predicted), and a note on the rest."""
    totals: dict[str, int] = {}
    for (actual, predicted), n in counts.items():
        totals[actual] = totals.get(actual, 0) + n
        totals[predicted] = totals.get(predicted, 0) + n
    labels = set(rows_v) | set(cols_v)
    keep = set(sorted(labels, key=lambda v: (-totals.get(v, 0), _sort_key(v)))[:MAX_CLASSES])
    hidden = sum(n for (a, p), n in counts.items() if a not in keep or p not in keep)
    note = (f"\n\n_Showing the {len(keep)} most frequent of {len(labels)} classes; {hidden} "
            f"row{'s' if hidden != 1 else ''} involving other classes not shown (see `--format json`)._")
    return [r for r in rows_v if r in keep], [c for c in cols_v if c in keep], note



def render_plot(entry: PlotEntry, base_label: str, head_label: str) -> str:
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
        return note + confusion_table(entry, base_label, head_label)
    chart = mermaid_chart(entry, base_label, head_label)
    return note + (chart or "_No numeric data to plot._")
