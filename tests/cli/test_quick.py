"""`ci-mlops report` parsed without click (ci_mlops/quick.py) is the click command, only faster.

The parser's option table must be the click command's declared options; on any arguments
the parser accepts, it gives the parameters click gives, and it accepts nothing click
rejects. A whole run through either way prints the same, exits the same, and fails the
same (user error, internal error, interrupt, broken pipe).
"""

from __future__ import annotations

import errno
import os
import random
import subprocess
import sys

import click
import pytest

from ci_mlops import quick
from ci_mlops.commands import report_run
from ci_mlops.commands.report import command
from ci_mlops.errors import UserError
from tests.conftest import git, run_cli


def _expected_table() -> tuple[dict[str, tuple[str, str, object]], dict[str, object]]:
    table: dict[str, tuple[str, str, object]] = {}
    defaults: dict[str, object] = {}
    ctx = click.Context(command)
    for param in command.params:
        assert isinstance(param, click.Option), param
        # What the quick parser does not model: a new option of this kind needs it first.
        assert param.nargs == 1 and not param.multiple and param.envvar is None and param.callback is None
        assert not param.prompt and not param.count and param.expose_value and param.name
        defaults[param.name] = param.get_default(ctx)
        kind = param.type
        if param.is_flag:
            assert isinstance(kind, click.types.BoolParamType)
            # a plain flag without its own flag_value gives the opposite of its default
            value = param.flag_value if isinstance(param.flag_value, bool) else not defaults[param.name]
            for opt in param.opts:
                table[opt] = (param.name, "flag", True if param.secondary_opts else value)
            for opt in param.secondary_opts:
                table[opt] = (param.name, "flag", False)
            continue
        if isinstance(kind, click.Choice):
            assert kind.case_sensitive
            spec: tuple[str, str, object] = (param.name, "choice", tuple(kind.choices))
        elif isinstance(kind, click.IntRange):
            assert not (kind.min_open or kind.max_open or kind.clamp)
            spec = (param.name, "int", (kind.min, kind.max))
        elif isinstance(kind, click.Path):
            assert not (kind.exists or kind.allow_dash or kind.resolve_path or kind.executable)
            assert kind.readable and kind.type is None
            spec = (param.name, "path", (kind.file_okay, kind.dir_okay, kind.writable))
        else:
            assert isinstance(kind, click.types.StringParamType), kind
            spec = (param.name, "text", None)
        for opt in param.opts:
            table[opt] = spec
    return table, defaults


def test_the_option_table_is_the_click_commands():
    table, defaults = _expected_table()
    assert table == quick.OPTIONS
    assert defaults == quick.DEFAULTS


def _click_params(args: list[str]) -> dict[str, object] | str:
    try:
        with command.make_context("report", list(args)) as ctx:
            return dict(ctx.params)
    except click.exceptions.Exit:
        return "exit"
    except click.ClickException as exc:
        return f"error: {exc.format_message()}"


COMMON = [
    [], ["--base", "main"], ["-o", "out/report.md"], ["-o", "report.md", "--plots-dir", "plots"],
    ["--base", "main", "--head", "HEAD", "--history", "50"], ["--format", "json", "--no-summary"],
    ["--max-chars=65536", "--no-checks", "--all", "--no-plots"], ["--config", "cfg.yml", "--gates-from", "base"],
    ["--history", "0", "--history", "3"], ["--summary", "--no-summary", "--checks"],
]


def test_the_parser_reads_what_the_workflows_pass_as_click_does(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfg.yml").write_text("version: 1\n")
    for args in COMMON:
        parsed = quick.parse(args)
        assert parsed is not None, args
        assert parsed == _click_params(args), args


def test_the_parser_never_accepts_what_click_rejects_nor_parses_differently(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    (tmp_path / "locked").write_text("x")
    (tmp_path / "locked").chmod(0o444)
    values = ["main", "HEAD~1", "json", "markdown", "JSON", "0", "50", "1000", "1001", "-1", "+5", "1_0", "999",
              "65536", "x", "", "-", "--base", "adir", "afile", "locked", "new.md", "auto", "base", "workspace",
              "٣", " 7"]
    names = [*quick.OPTIONS, "--help", "-h", "--", "--debug", "--bogus", "-x", "stray", "-oafile", "--all=1",
             "--no-plots=yes"]
    rng = random.Random(20)
    accepted = 0
    for _ in range(3000):
        args: list[str] = []
        for _ in range(rng.randint(0, 4)):
            name = rng.choice(names)
            if rng.random() < 0.3:
                args.append(f"{name}={rng.choice(values)}")
            else:
                args.append(name)
                if rng.random() < 0.8:
                    args.append(rng.choice(values))
        parsed = quick.parse(args)
        if parsed is not None:
            accepted += 1
            assert parsed == _click_params(args), args
    assert accepted > 200  # the comparison above ran on many accepted argument lists


@pytest.fixture
def repo(tmp_path):
    """Two commits of a plain repository reporting `metrics.json` (report.metrics_files)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".ci-mlops.yml").write_text("version: 1\nreport:\n  metrics_files: [metrics.json]\n"
                                        "metrics:\n  acc:\n    min: 0.5\n")
    (repo / "metrics.json").write_text('{"acc": 0.7, "loss": 0.3}\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "metrics.json").write_text('{"acc": 0.75, "loss": 0.2}\n')
    git(repo, "commit", "-qam", "two")
    (repo / "metrics.json").write_text('{"acc": 0.4, "loss": 0.25}\n')
    return repo


def _both(monkeypatch, *args: str, cwd) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    fast = run_cli(*args, cwd=cwd)
    with monkeypatch.context() as patch:
        patch.setattr(quick, "parse", lambda argv: None)  # click parses and runs the command
        slow = run_cli(*args, cwd=cwd)
    return fast, slow


@pytest.mark.parametrize("args", [
    ("report", "--base", "main~1"),
    ("report", "--base", "main~1", "--head", "main", "--format", "json"),
    ("report", "--base", "main~1", "--all", "--no-checks", "--history", "2"),
    ("report", "--base", "no-such-revision"),
    ("report", "--config", "missing.yml"),
    ("report", "--history", "5000"),
    ("report", "--bogus"),
])
def test_a_run_either_way_prints_and_exits_the_same(repo, monkeypatch, args):
    fast, slow = _both(monkeypatch, *args, cwd=repo)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    assert fast.returncode in (0, 2)


def test_output_to_a_file_either_way(repo, monkeypatch):
    fast, slow = _both(monkeypatch, "report", "--base", "main~1", "-o", "a.md", cwd=repo)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    assert fast.stderr == "ci-mlops: report written to a.md\n" and "acc" in (repo / "a.md").read_text()


@pytest.mark.parametrize(("raised", "code"), [
    (UserError("metrics.json: cannot read"), 2),
    (RuntimeError("a bug"), 4),
    (KeyboardInterrupt(), 2),
    (EOFError(), 2),
])
def test_a_failure_either_way_ends_the_same(repo, monkeypatch, raised, code):
    def boom(*args: object, **kwargs: object) -> None:
        raise raised

    monkeypatch.setattr(report_run, "run", boom)
    monkeypatch.setattr("ci_mlops.commands.report.run", boom)
    fast, slow = _both(monkeypatch, "report", "--base", "main~1", cwd=repo)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    from ci_mlops.errors import EXIT_INTERNAL_ERROR

    assert fast.returncode == (EXIT_INTERNAL_ERROR if code == 4 else code)
    assert fast.stderr.strip()


def test_a_broken_pipe_exits_1_quietly_either_way(repo, monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr(report_run, "run", broken)
    monkeypatch.setattr("ci_mlops.commands.report.run", broken)
    saved = sys.stdout, sys.stderr
    try:
        fast, slow = _both(monkeypatch, "report", cwd=repo)
    finally:
        sys.stdout, sys.stderr = saved  # both ways wrap the streams, as click does
    assert (fast.returncode, fast.stderr) == (slow.returncode, slow.stderr) == (1, "")


def test_the_quick_path_does_not_import_click(repo):
    code = ("import sys\nfrom ci_mlops.cli import main\ntry:\n    main(['report', '--base', 'main~1'])\n"
            "finally:\n    print('click' in sys.modules, file=sys.stderr)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stderr.strip().splitlines()[-1] == "False", done.stderr
    assert "| acc |" in done.stdout or "acc" in done.stdout
    bad = subprocess.run([sys.executable, "-c", code.replace("'main~1'", "'main~1', '--bogus'")], cwd=repo,
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "No such option '--bogus'" in bad.stderr
