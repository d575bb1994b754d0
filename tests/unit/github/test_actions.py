"""The Actions runtime files and workflow commands, in-process: outputs, job summary, annotations, masks."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_mlops.github import actions


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An Actions step: GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files in ``tmp_path``."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary"))
    return tmp_path


def test_outside_actions_nothing_is_written_or_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    actions.set_output("tag", "v1.0.0")
    assert actions.append_summary("# report") is False
    actions.annotate("error", "gate failed", file="metrics.json", line=3)
    actions.mask("s3cret")
    assert not actions.in_actions()
    assert capsys.readouterr().out == ""
    assert list(tmp_path.iterdir()) == []


def test_one_line_outputs_are_name_equals_value(runner: Path) -> None:
    actions.set_output("tag", "v1.0.0")
    actions.set_output("count", 3)  # type: ignore[arg-type]  # values are written as text
    assert (runner / "output").read_text() == "tag=v1.0.0\ncount=3\n"


@pytest.mark.parametrize("value", ["line one\nline two", "carriage\rreturn", "ends in newline\n"])
def test_multi_line_outputs_use_a_delimiter_the_value_cannot_contain(runner: Path, value: str) -> None:
    actions.set_output("notes", value)
    text = (runner / "output").read_bytes().decode("utf-8")  # as written: a CR stays a CR
    head, _, rest = text.partition("\n")
    name, _, delimiter = head.partition("<<")
    assert name == "notes" and delimiter.startswith("ghadelimiter_")
    assert delimiter not in value
    assert rest == f"{value}\n{delimiter}\n"


def test_two_multi_line_outputs_get_different_delimiters(runner: Path) -> None:
    actions.set_output("a", "1\n2")
    actions.set_output("b", "3\n4")
    heads = [line for line in (runner / "output").read_text().splitlines() if "<<" in line]
    assert len({h.partition("<<")[2] for h in heads}) == 2


def test_the_summary_is_appended(runner: Path) -> None:
    assert actions.append_summary("# one")
    assert actions.append_summary("# two")
    assert (runner / "summary").read_text() == "# one\n# two\n"


def test_the_summary_stays_within_the_limit_and_says_it_was_cut(runner: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actions, "SUMMARY_LIMIT", 200)
    (runner / "summary").write_text("x" * 50)
    assert actions.append_summary("é" * 300)  # two bytes each: the cut must not split one
    data = (runner / "summary").read_bytes()
    assert len(data) <= 200
    text = data.decode("utf-8")  # still valid UTF-8
    assert text.startswith("x" * 50 + "é")
    assert text.endswith("> Truncated: the full report is in the workflow run's logs and artifacts.\n\n")


def test_annotations_escape_what_would_end_the_command(runner: Path, capsys: pytest.CaptureFixture[str]) -> None:
    actions.annotate("error", "50% worse\nsee log", file="a,b:c.json", line=7, title="gate: acc")
    out = capsys.readouterr().out
    assert out == "::error file=a%2Cb%3Ac.json,line=7,title=gate%3A acc::50%25 worse%0Asee log\n"


def test_an_annotation_without_place_is_the_bare_command(runner: Path, capsys: pytest.CaptureFixture[str]) -> None:
    actions.annotate("warning", "drift found")
    assert capsys.readouterr().out == "::warning::drift found\n"


def test_a_secret_is_masked_and_an_empty_one_is_not(runner: Path, capsys: pytest.CaptureFixture[str]) -> None:
    actions.mask("tok%en\nnext")
    actions.mask("")
    actions.mask(None)
    assert capsys.readouterr().out == "::add-mask::tok%25en%0Anext\n"
