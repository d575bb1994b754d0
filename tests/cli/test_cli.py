import os
import subprocess
import sys
from pathlib import Path

from conftest import git, run_cli


def test_version_and_help():
    out = run_cli("--version")
    assert out.returncode == 0 and "ci-mlops, version" in out.stdout
    out = run_cli("--help")
    assert out.returncode == 0
    assert "Exit codes" in out.stdout
    assert "config" in out.stdout


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys; from ci_mlops.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('dvc', 'pandas', 'numpy', 'requests', 'jinja2', 'jsonschema', 'scipy') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_unknown_command_is_exit_2():
    out = run_cli("no-such-command")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr


def test_config_schema_prints_json():
    import json

    out = run_cli("config", "--schema")
    assert out.returncode == 0
    assert json.loads(out.stdout)["title"].startswith("ci-mlops")


def test_usage_errors_are_one_line():
    out = run_cli("init", "--deploy", "kube")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "'kube' is not one of" in lines[0] and "ci-mlops init --help" in lines[0]


def test_debug_shows_the_traceback_but_keeps_the_exit_code(tmp_path):
    (tmp_path / ".ci-mlops.yml").write_text("deploy:\n  target: kubernetes\n")
    plain = run_cli("config", "--config", str(tmp_path / ".ci-mlops.yml"))
    debug = run_cli("--debug", "config", "--config", str(tmp_path / ".ci-mlops.yml"))
    assert plain.returncode == debug.returncode == 2
    assert "Traceback" not in plain.stderr and "Traceback" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == plain.stderr.strip()


def test_prerendered_help_is_what_click_prints(tmp_path, monkeypatch):
    # Regenerated from the current sources, the saved screens are click's own output...
    import importlib.util

    from ci_mlops import cli
    from ci_mlops.app import all_help

    spec = importlib.util.spec_from_file_location("gen_help", Path(__file__).parents[2] / "tools" / "gen_help.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    namespace: dict = {}
    exec(gen.render(), namespace)
    assert namespace["HELP"] == all_help() and namespace["SOURCES"] == cli.sources_digest()
    # ... and are used only while the sources they came from are unchanged.
    from ci_mlops import helptext

    monkeypatch.setattr(helptext, "HELP", {**namespace["HELP"], "drift": "SAVED\n"})
    monkeypatch.setattr(helptext, "SOURCES", namespace["SOURCES"])
    monkeypatch.setenv("COLUMNS", "100")
    assert cli._prerendered(["drift", "--help"]) == "SAVED\n"
    monkeypatch.setattr(helptext, "SOURCES", "an older digest")
    assert cli._prerendered(["drift", "--help"]) is None


def test_help_and_version_do_not_import_click():
    code = (
        "import sys; from ci_mlops import cli, helptext; from ci_mlops.cli import main\n"
        "helptext.SOURCES = cli.sources_digest()  # as after tools/gen_help.py, whatever changed since\n"
        "for args in (['--help'], ['drift', '--help'], ['report', '-h'], ['--version']):\n"
        "    try:\n        main(args)\n    except SystemExit as exc:\n        assert exc.code == 0, exc.code\n"
        "print('CLICK=' + str('click' in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "COLUMNS": "100"})
    assert out.returncode == 0, out.stderr
    assert "Usage: ci-mlops drift [OPTIONS]" in out.stdout and "ci-mlops, version" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "CLICK=False"


def test_narrow_terminal_and_other_arguments_go_through_click():
    narrow = run_cli("drift", "--help", env={"COLUMNS": "60"})
    assert narrow.returncode == 0 and max(len(line) for line in narrow.stdout.splitlines()) <= 58
    assert run_cli("drift", "--bogus", "--help").returncode == 2  # click parses (and rejects) it


def test_report_with_history_imports_no_numeric_stack(git_repo):
    # The report is on every PR's path: DVC, NumPy and pandas only when a feature needs them.
    (git_repo / "dvc.yaml").write_text("stages:\n  eval:\n    cmd: python eval.py\n    metrics:\n"
                                       "      - metrics.json:\n          cache: false\n")
    (git_repo / "params.yaml").write_text("lr: 0.1\n")
    for i in range(6):
        (git_repo / "metrics.json").write_text(f'{{"acc": 0.{80 + i}, "loss": 0.{30 - i}}}')
        git(git_repo, "add", "-A")
        git(git_repo, "commit", "-qm", f"c{i}")
    (git_repo / "metrics.json").write_text('{"acc": 0.5, "loss": 0.9}')
    code = (
        "import sys; from ci_mlops.cli import main\n"
        "try:\n    main(['report', '--base', 'HEAD', '--history', '5', '--no-summary'])\n"
        "except SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
        "print('HEAVY=' + ','.join(m for m in ('dvc', 'numpy', 'pandas', 'scipy', 'requests', 'jinja2') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=git_repo)
    assert out.returncode == 0, out.stderr
    assert "acc" in out.stdout and "0.5" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_the_saved_help_screens_are_current():
    """A stale ci_mlops/helptext.py is not wrong (click renders the help instead) but costs every
    `--help` click's import (~40 ms, 3x slower): any change to the app or a command module must
    come with `python tools/gen_help.py`."""
    from ci_mlops import cli, helptext

    assert cli.sources_digest() == helptext.SOURCES, "ci_mlops/helptext.py is stale: run python tools/gen_help.py"
