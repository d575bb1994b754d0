"""A metric's trend (sparkline, least and greatest value) and its anomaly check, each series' finite
numbers worked out once: the same results as the plain definitions, whatever a history holds."""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ci_mlops.dvc.values import finite_floats, is_finite_number
from ci_mlops.report.anomaly import MAD_SCALE, MEAN_AD_SCALE, finite_anomalies, metric_anomalies, robust_z
from ci_mlops.report.history import SPARKS, sparkline, trend

VALUES = st.lists(st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.floats(0.5, 0.6), st.integers(-10**15, 10**15),
    st.integers(0, 3), st.sampled_from([10**400, -(10**309)]), st.booleans(), st.none(), st.text(max_size=3)),
    max_size=40)
FLOAT_MAX = 1.7976931348623157e308


def plain_trend(values):
    """The trend by its definition: bars by round() between the least and greatest of the finite
    numbers a float can hold."""
    numbers = [v for v in values if is_finite_number(v) and -FLOAT_MAX <= v <= FLOAT_MAX]
    if not numbers:
        return {"values": values, "sparkline": "", "min": None, "max": None}
    low, high = min(numbers), max(numbers)
    if math.isclose(float(low), float(high)):
        bars = SPARKS[3] * len(numbers)
    else:
        scale = (len(SPARKS) - 1) / (float(high) - float(low))
        if 0 < scale < math.inf:
            bars = "".join(SPARKS[round((float(v) - float(low)) * scale)] for v in numbers)
        else:  # the span overflows, or 7 / span does: the exact position, rounded half to even
            span = Fraction(high) - Fraction(low)
            bars = "".join(SPARKS[round((Fraction(v) - Fraction(low)) / span * 7)] for v in numbers)
    return {"values": values, "sparkline": bars, "min": low, "max": high}


@pytest.mark.parametrize(("values", "bars"), [
    ([0.0, 2.2250738585e-313], "▁█"), ([0.0, -2.2250738585e-313, -1e-320], "█▁█"),
    ([1e308, -1e308, 0.0], "█▁▅"), ([-FLOAT_MAX, FLOAT_MAX, FLOAT_MAX / 7], "▁█▅")])
def test_a_span_too_small_or_too_large_for_a_float_scale_still_draws(values, bars) -> None:
    """7 / span overflows below a span of ~2.2e-308, and high - low beyond the float range: such a
    history is drawn by exact arithmetic (it ended the report with an internal error)."""
    assert trend(values)["sparkline"] == bars == plain_trend(values)["sparkline"]


def test_a_bar_halfway_between_two_rounds_to_the_even_one() -> None:
    # (v - low) * scale is exactly 0.5, 1.5, 2.5, 3.5, 4.5, 5.5 and 6.5: round() goes to the even bar
    assert sparkline([0, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7]) == "▁▁▃▃▅▅▇▇█"


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_trend_is_its_definition_with_or_without_the_numbers_given(values) -> None:
    expected = plain_trend(values)
    assert trend(values) == expected
    finite = finite_floats(values)
    got = trend(values, finite)
    assert got == expected
    assert [type(got["min"]), type(got["max"])] == [type(expected["min"]), type(expected["max"])]
    assert len(got["sparkline"]) == len(finite[0]) == len(finite[1])  # the Markdown counts the values by the bars


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=3), VALUES, max_size=4), st.integers(1, 6))
def test_anomalies_of_finite_floats_are_those_of_the_raw_series(history, min_points) -> None:
    finite = {m: [float(v) for v in s if is_finite_number(v) and -FLOAT_MAX <= v <= FLOAT_MAX]
              for m, s in history.items()}
    assert finite_anomalies(finite, min_points=min_points) == metric_anomalies(history, min_points=min_points)


def test_a_series_with_an_anomaly_is_found_either_way() -> None:
    series = [0.9, 0.91, None, 0.905, float("nan"), 0.899, 0.902, "n/a", 0.908, 0.80]
    found = metric_anomalies({"acc": series})
    assert [a["metric"] for a in found] == ["acc"]
    assert finite_anomalies({"acc": finite_floats(series)[1]}) == found


def plain_robust_z(history, latest):
    """The robust z-score by its definition: median and median absolute deviation (else the mean one)."""
    median = statistics.median(history)
    deviations = sorted(abs(v - median) for v in history)
    mad = statistics.median(deviations)
    if mad > 0:
        return MAD_SCALE * (latest - median) / mad, median, mad
    mean_ad = sum(deviations) / len(history)
    if mean_ad > 0:
        return MEAN_AD_SCALE * (latest - median) / mean_ad, median, mean_ad
    return (0.0 if latest == median else math.copysign(math.inf, latest - median)), median, 0.0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e6, 1e6), st.sampled_from([0.5, 0.25, -0.5])), min_size=1, max_size=30),
       st.floats(-1e6, 1e6))
def test_robust_z_is_its_definition(history, latest) -> None:
    assert robust_z(history, latest) == plain_robust_z(history, latest)
