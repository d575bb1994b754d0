"""Plot series -> a Mermaid ``xychart-beta`` block that GitHub renders, base and head on one chart.

What the grammar and the renderer allow shapes the choices here (checked in a real browser
by tests/unit/report/test_render_browser.py, Mermaid 10.9 and 12.3):

- Numbers in ``line [...]`` and axis ranges must be plain decimals: ``3e-05`` is a syntax
  error. Values are printed in fixed point with enough decimals for the chart's own span,
  and an axis whose values are tiny or huge is scaled by a power of 1000 named in its title
  (``lr (×10⁻⁶)``), so no value rounds to 0 and tick labels stay short.
- A numeric x uses Mermaid's linear x axis (``x-axis "fpr (%)" 5 --> 100``), which draws its
  own round ticks (about ten, never crowded) and places a line's points evenly: every series
  is resampled onto one even grid (see :class:`_NumericAxis`). ISO dates become days (or
  weeks) since the first date. Other x values are categories: at most ``MAX_LABELS`` of them, fewer when long,
  cut to ``LABEL_CHARS`` characters; the caption says when some were left out.
- Lines have one width and no dash, so a base series is drawn as a wide pale band (three
  overlapping lines) and its head series as a thin dark line on top, in the same hue:
  where they coincide the head runs inside the band, visibly. Hues are blue, orange, purple
  and gold, never the red and green the report uses for regressed and improved.
"""

from __future__ import annotations

import math

from ci_mlops.escape import md_code, md_text, mermaid_label

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; see ci_mlops/record.py)
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any

    from ci_mlops.report.document import PlotData, PlotEntry, Series

MAX_LABELS = 20  # category labels on an x axis (about 30 px each on a 700 px chart)
LABEL_CHARS = 14
MAX_SERIES = 4  # y columns per chart, each as a base band and a head line
PLOT_WIDTH_PX = 600  # Mermaid's default 700 px chart, less the y axis
CHAR_PX = 8  # a label character at Mermaid's 14 px axis font, generously
BAND = 0.004  # gap between a base band's three lines, as a fraction of the y axis (≈ 1.7 px: they overlap)
# (name, head line, base band): readable on GitHub's light and dark backgrounds.
HUES = (("blue", "#2a6fe8", "#9dc1f5"), ("orange", "#d8620f", "#f5bc94"),
        ("purple", "#8a4fe0", "#cfb6f3"), ("gold", "#a87d00", "#e6cf86"))
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def mermaid_chart(entry: PlotEntry, base_label: str, head_label: str) -> str | None:
    """The chart and its caption for one plot entry, or None when it has no finite numbers."""
    names = _series_names(entry)
    if not names:
        return None
    drawn, left_out = names[:MAX_SERIES], names[MAX_SERIES:]
    sides = {"base": _series(entry.get("base")), "head": _series(entry.get("head"))}
    axis, notes = _x_axis(entry, [s for side in sides.values() for n, s in side.items() if n in drawn])
    lines: list[tuple[bool, str, list[float]]] = []  # (is base, colour, values): bands first
    y_values: list[float] = []
    for side in ("base", "head"):
        for i, name in enumerate(drawn):
            series = sides[side].get(name)
            if series is None or not _finite(series["y"]):
                continue
            values = axis.sample(series)
            lines.append((side == "base", HUES[i][2] if side == "base" else HUES[i][1], values))
            y_values += values
    low, high = min(y_values), max(y_values)
    if math.isclose(low, high, rel_tol=1e-12, abs_tol=0.0):
        pad = abs(low) * 0.1 or 1.0
    else:
        pad = (high - low) * 0.06
    low, high = low - pad, high + pad
    y_scale = _scale(max(abs(low), abs(high)))
    band = (high - low) * BAND
    body: list[tuple[str, list[float]]] = []
    for is_base, color, values in lines:
        offsets = (-band, 0.0, band) if is_base else (0.0,)
        body += [(color, [v + d for v in values]) for d in offsets]
    decimals = _decimals((high - low) / y_scale)
    y_title = drawn[0] if len(drawn) == 1 else "value"
    out = [
        "```mermaid",
        '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "'
        + ", ".join(color for color, _ in body) + '"}}}}%%',
        "xychart-beta",
        f"  x-axis {axis.syntax()}",
        (f"  y-axis {_quote(_titled(y_title, y_scale))} {_number(low / y_scale, decimals)} --> "
         f"{_number(high / y_scale, decimals)}"),
    ]
    out += ["  line [" + ", ".join(_number(v / y_scale, decimals) for v in values) + "]" for _, values in body]
    out.append("```")
    caption = _caption(drawn, sides, base_label, head_label)
    if left_out:
        notes.append(f"{len(left_out)} more series not drawn: " + ", ".join(md_code(n) for n in left_out))
    return "\n".join(out) + "\n\n<sub>" + " ".join([caption, *(n + "." for n in notes)]) + "</sub>"


# -- x axis ------------------------------------------------------------------------------


class _NumericAxis:
    """A linear x axis whose points sit one axis unit apart, which every Mermaid version draws alike.

    Mermaid 11+ spreads a line's N points evenly from min to max; 10.x steps by
    ``(max - min + 1) / N`` (mermaid-js/mermaid#5555). Both agree exactly when ``max - min`` is
    ``N - 1``, so the axis counts grid steps: the step is a power of ten (20 to 200 steps over
    the data; whole numbers keep a step of at least 1) and the title names the unit
    (``fpr (%)``, ``step (×10³)``). The grid's ends are the data's ends rounded out to a step;
    lines are flat over that last part-step.
    """

    def __init__(self, title: str, xs: list[float], to_number: Any = float, whole: bool = False,
                 unit: str | None = None):
        self.to_number = to_number
        low, high = xs[0], xs[-1]
        power = math.ceil(math.log10((high - low) / 200))
        if whole:
            power = max(power, 0)
        self.step = 10.0 ** power
        self.first = math.floor(low / self.step + 1e-9)
        self.last = math.ceil(high / self.step - 1e-9)
        self.grid = [i * self.step for i in range(self.first, self.last + 1)]
        if unit is not None and power == 0:
            self.title = f"{title} ({unit})"
        elif power == -2 and low >= 0 and high <= 1:
            self.title = f"{title} (%)"
        elif power == 0:
            self.title = title
        else:
            self.title = f"{title} (×10{str(power).translate(SUPERSCRIPT)}{' ' + unit if unit else ''})"

    def sample(self, series: Series) -> list[float]:
        pairs = sorted((self.to_number(x), float(y)) for x, y in zip(series["x"], series["y"])
                       if _is_finite(y) and self.to_number(x) is not None)
        xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
        return [_interp(xs, ys, at) for at in self.grid]

    def syntax(self) -> str:
        return f"{_quote(self.title)} {self.first} --> {self.last}"


class _CategoryAxis:
    """Category labels, at most as many as fit side by side; values at the shown categories only."""

    def __init__(self, title: str, categories: list[str]):
        self.title = title
        widest = min(max(len(c) for c in categories), LABEL_CHARS)
        fit = max(2, min(MAX_LABELS, PLOT_WIDTH_PX // (widest * CHAR_PX + 12)))
        self.total = len(categories)
        self.shown = _spread(categories, fit)

    def sample(self, series: Series) -> list[float]:
        by_x = {str(x): float(y) for x, y in zip(series["x"], series["y"]) if _is_finite(y)}
        known = [by_x[c] for c in self.shown if c in by_x]
        fallback = known[0] if known else 0.0
        values, last = [], fallback
        for c in self.shown:  # a category a series lacks repeats its previous value (lines have no gaps)
            last = by_x.get(c, last)
            values.append(last)
        return values

    def syntax(self) -> str:
        labels = _unique_labels(self.shown)
        return f"{_quote(self.title)} [{', '.join(_quote(label) for label in labels)}]"


def _x_axis(entry: PlotEntry, series: list[Series]) -> tuple[Any, list[str]]:
    x = entry.get("x")
    title = x if isinstance(x, str) else "step"
    xs = [x for s in series for x in s["x"]]
    notes: list[str] = []
    if xs and all(_is_finite(x) for x in xs):
        values = sorted({float(x) for x in xs})
        if len(values) > 1:
            whole = all(float(x).is_integer() for x in values)
            return _NumericAxis(title, values, whole=whole), notes
    dates = _as_dates(xs)
    if dates is not None and len(set(dates.values())) > 1:
        first = min(dates.values())
        days = {text: (when - first).total_seconds() / 86400 for text, when in dates.items()}
        span = max(days.values())
        per = 7.0 if 200 < span <= 1400 else 1.0  # weeks when days would be too many points
        unit = "weeks" if per == 7.0 else "days"
        axis = _NumericAxis(f"{title}: {unit} since {first.date().isoformat()}",
                            sorted({d / per for d in days.values()}), whole=True, unit=None,
                            to_number=lambda x: None if str(x) not in days else days[str(x)] / per)
        return axis, notes
    categories = list(dict.fromkeys(str(x) for x in xs))
    category_axis = _CategoryAxis(title, categories)
    if category_axis.total > len(category_axis.shown):
        notes.append(f"x: {len(category_axis.shown)} of {category_axis.total} values shown, evenly spaced")
    return category_axis, notes


def _as_dates(xs: list[Any]) -> dict[str, datetime] | None:
    """ISO dates or date-times (as DVC's CSV and JSON plots carry them), or None."""
    from datetime import datetime  # lazy: ~1.5 ms, and only a plot whose x values look like dates needs it

    out: dict[str, datetime] = {}
    for x in xs:
        text = str(x)
        if len(text) < 8 or not text[:4].isdigit():
            return None
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        out[text] = when.replace(tzinfo=None) if when.tzinfo is None else when.astimezone().replace(tzinfo=None)
    return out or None


def _spread(items: list[str], count: int) -> list[str]:
    if len(items) <= count:
        return items
    step = (len(items) - 1) / (count - 1)
    return [items[round(i * step)] for i in range(count)]


def _unique_labels(items: list[str]) -> list[str]:
    """Labels cut to ``LABEL_CHARS``; a cut that collides with another gets a number (Mermaid merges equal labels)."""
    seen: dict[str, int] = {}
    out = []
    for item in items:
        label = item if len(item) <= LABEL_CHARS else item[: LABEL_CHARS - 1] + "…"
        if label in seen:
            seen[label] += 1
            label = f"{label[: LABEL_CHARS - 3]}…{seen[label]}"
        seen.setdefault(label, 1)
        out.append(label)
    return out


# -- numbers -----------------------------------------------------------------------------


def _scale(magnitude: float) -> float:
    """A power of 1000 that brings tiny or huge values near 1 (1 for ordinary ones)."""
    if magnitude == 0 or 1e-3 <= magnitude < 1e5:
        return 1.0
    power = math.floor(math.log10(magnitude) / 3) * 3
    return 10.0 ** power


def _titled(title: str, scale: float) -> str:
    if scale == 1.0:
        return title
    power = round(math.log10(scale))
    return f"{title} (×10{str(power).translate(SUPERSCRIPT)})"


def _decimals(span: float) -> int:
    """Decimals that resolve a thousandth of ``span`` (at least 4 significant digits across it)."""
    if span <= 0 or not math.isfinite(span):
        return 4
    return max(0, min(30, 3 - math.floor(math.log10(span))))


def _number(value: float, decimals: int) -> str:
    """A plain decimal Mermaid accepts: no exponent, trailing zeros dropped, never ``-0``."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# -- helpers -----------------------------------------------------------------------------


def _series(data: PlotData | None) -> dict[str, Series]:
    """A revision's curves by name (none for a side the plot lacks)."""
    return (data.get("series") or {}) if data else {}


def _series_names(entry: PlotEntry) -> list[str]:
    names: dict[str, None] = {}
    for side in (entry.get("base"), entry.get("head")):
        for name, series in _series(side).items():
            if _finite(series["y"]):
                names[name] = None
    return list(names)


def _caption(drawn: list[str], sides: dict[str, dict[str, Series]], base_label: str, head_label: str) -> str:
    hues = ", ".join(f"{HUES[i][0]}: {md_text(name)}" for i, name in enumerate(drawn)) + "." if len(drawn) > 1 else ""
    parts = []
    if any(n in sides["base"] for n in drawn):
        parts.append(f"wide pale band: base {base_label}")
    if any(n in sides["head"] for n in drawn):
        parts.append(f"thin line: head {head_label}")
    legend = "; ".join(parts) + "."
    if len(drawn) == 1:
        legend = f"{md_text(drawn[0])}: {legend}"
    return f"{hues} {legend}".strip()


def _is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _finite(values: list[Any]) -> list[float]:
    return [float(v) for v in values if _is_finite(v)]


def _interp(xs: list[float], ys: list[float], at: float) -> float:
    """Linear interpolation on sorted ``xs``, clamped at the ends (Mermaid lines cannot have gaps)."""
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


def _quote(text: Any) -> str:
    """A double-quoted Mermaid string that shows ``text`` as written (one line)."""
    return mermaid_label(text)
