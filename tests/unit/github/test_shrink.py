"""Shrinking reports to GitHub's comment limit: always fits, degrades gracefully."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ci_mlops.github.shrink import COMMENT_LIMIT, shrink, size


def table(rows: int, width: int = 10) -> str:
    return "| name | value |\n|---|---|\n" + "".join(f"| {'k' * width}{i} | {i} |\n" for i in range(rows))


def test_short_text_is_untouched():
    assert shrink("# hi\n") == "# hi\n"


def test_details_are_collapsed_before_tables_are_dropped():
    report = "# R\n\n" + table(20) + "\n<details><summary>Plots</summary>\n\n" + "p" * 70000 + "\n</details>\n"
    out = shrink(report, run_url="https://github.com/o/r/actions/runs/1")
    assert size(out) <= COMMENT_LIMIT
    assert "<summary>Plots</summary>" in out and "ppppp" not in out
    assert table(20) in out  # the small table survived
    assert "[workflow run](https://github.com/o/r/actions/runs/1)" in out


def test_longest_table_goes_first():
    small, big = table(30), table(5000)
    out = shrink("# R\n\n" + small + "\n## big\n\n" + big)
    assert small in out and big not in out
    assert "rows was omitted" in out and size(out) <= COMMENT_LIMIT


def test_last_resort_cuts_at_a_line_and_closes_code_fences():
    out = shrink("```\n" + "line of code\n" * 20000)
    assert size(out) <= COMMENT_LIMIT
    body = out.split("\n\n> [!NOTE]")[0]
    assert body.count("```") % 2 == 0


def test_astral_characters_count_double():
    out = shrink("😀" * 40000)
    assert len(out.encode("utf-16-le")) // 2 <= COMMENT_LIMIT


blocks = st.one_of(
    st.text(min_size=0, max_size=3000),
    st.integers(0, 3000).map(table),
    st.tuples(st.text(max_size=50), st.text(max_size=20000)).map(
        lambda t: f"<details><summary>{t[0]}</summary>\n\n{t[1]}\n</details>\n"),
    st.just("```\n"),
    st.text(alphabet="😀|<>`\n-", max_size=5000),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(blocks, max_size=12), st.integers(200, COMMENT_LIMIT))
def test_any_input_ends_within_the_limit(parts, limit):
    text = "\n".join(parts)
    out = shrink(text, limit)
    assert size(out) <= limit
    if size(text) <= limit:
        assert out == text


# -- a large fork report reaches the PR ------------------------------------------------------------------


@pytest.mark.parametrize("size_mib,shape", [(5, "tables"), (5, "details"), (6, "one-line"), (1, "astral")])
def test_fork_run_shrinks_the_report_before_uploading(tmp_path, size_mib, shape):
    from ci_mlops.github.artifact import MAX_REPORT_BYTES, read_artifact, write_artifact
    from ci_mlops.github.comments import marker
    from ci_mlops.github.shrink import COMMENT_LIMIT, shrink, size

    target = size_mib * 1024 * 1024
    if shape == "tables":
        row = "| metric | 0.1 | 0.2 |\n"
        report = "# Report\n\n" + ("| a | b | c |\n|---|---|---|\n" + row * 2000 + "\n") * (target // (len(row) * 2000) + 1)
    elif shape == "details":
        block = "<details><summary>plot</summary>\n\n" + "x" * 100_000 + "\n\n</details>\n"
        report = "# Report\n\n" + block * (target // len(block) + 1)
    elif shape == "one-line":
        report = "y" * target
    else:
        report = "😀" * (target // 4)
    assert len(report.encode()) > min(target, MAX_REPORT_BYTES) - 1
    run_url = "https://github.com/fork/r/actions/runs/99"
    write_artifact(tmp_path, report, 7, "a" * 40, "ci-mlops", run_url=run_url)
    artifact = read_artifact(tmp_path)  # the comment run accepts it
    assert size(artifact.report) <= COMMENT_LIMIT - 2048 and run_url in artifact.report
    body = shrink(f"{marker('ci-mlops')}\n{artifact.report}")
    assert body == f"{marker('ci-mlops')}\n{artifact.report}"  # fits without a second cut
    assert size(body) <= COMMENT_LIMIT


def test_a_small_fork_report_is_uploaded_unchanged(tmp_path):
    from ci_mlops.github.artifact import read_artifact, write_artifact

    write_artifact(tmp_path, "small report\n", 7, "a" * 40, None, run_url="https://x/run")
    assert read_artifact(tmp_path).report == "small report\n"
