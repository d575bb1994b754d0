"""action.yml: lint it with the real linters, and run its steps the way the runner does.

The emulation follows the composite-action rules: each ``run:`` step gets only its
``env:`` (expressions substituted from the inputs, ``github``, ``runner`` and
``steps`` contexts) plus the runner's own variables, runs as
``bash --noprofile --norc -eo pipefail`` in its ``working-directory``, and its
outputs are read back from ``$GITHUB_OUTPUT``. The ``actions/cache`` step is
replaced by a restored cache: the venv path points at this checkout's venv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

ACTION = ROOT / "action.yml"
PINS = json.loads(Path("/work/shared/data/action-pins.json").read_text()) if Path("/work/shared/data/action-pins.json").exists() else None
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
CONTEXT_REF = re.compile(r"^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$")


def load_action() -> dict:
    return yaml.safe_load(ACTION.read_text())


# -- the runner, emulated ------------------------------------------------------------------


def lookup(ref: str, ctx: dict) -> str:
    """Value of a context reference such as ``inputs.base`` or ``steps.run.outputs.drift``."""
    assert CONTEXT_REF.match(ref), f"expression too clever for the emulator (keep action.yml simple): {ref}"
    node = ctx
    for part in ref.split("."):
        node = node.get(part, "") if isinstance(node, dict) else ""
    return "" if node is None else str(node)


def evaluate(expr: str, ctx: dict) -> str | bool:
    """The expression subset action.yml uses: a context reference, or ``ref == 'literal'``."""
    match = re.fullmatch(r"(\S+)\s*(==|!=)\s*'([^']*)'", expr.strip())
    if match:
        equal = lookup(match[1], ctx) == match[3]
        return equal if match[2] == "==" else not equal
    return lookup(expr.strip(), ctx)


def substitute(text: str, ctx: dict) -> str:
    return EXPR.sub(lambda m: str(evaluate(m[1], ctx)), str(text))


def parse_outputs(path: Path) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` in both its forms (``k=v`` and ``k<<DELIM``); later values win."""
    out: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            end = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        name, _, value = line.partition("=")
        out[name] = value
        i += 1
    return out


def run_action(inputs: dict[str, str], workspace: Path, tmp: Path) -> tuple[int, dict[str, str], str]:
    """Run action.yml like the runner; returns (exit code of the failing or last step, action outputs, log)."""
    action = load_action()
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    values.update(inputs)
    unknown = set(inputs) - set(action["inputs"])
    assert not unknown, f"not inputs of action.yml: {unknown}"
    runner_temp = tmp / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    ctx = {
        "inputs": values,
        "github": {"action_path": str(ROOT), "token": "test-token", "workspace": str(workspace)},
        "runner": {"temp": str(runner_temp), "os": "Linux", "arch": "X64"},
        "steps": {},
    }
    base_env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", str(tmp)),
        "GITHUB_ACTIONS": "true", "GITHUB_ACTION_PATH": str(ROOT), "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(runner_temp), "RUNNER_OS": "Linux",
        "GITHUB_REPOSITORY": "octo/ml", "GITHUB_EVENT_NAME": "workflow_dispatch",
    }
    log = []
    status = 0
    for index, step in enumerate(action["runs"]["steps"]):
        if "if" in step and not evaluate(step["if"], ctx):
            continue
        step_id = step.get("id", f"__{index}")
        if "uses" in step:
            assert step["uses"].startswith("actions/cache@")
            venv = Path(substitute(step["with"]["path"], ctx))
            venv.parent.mkdir(parents=True, exist_ok=True)
            if not venv.exists():  # a cache hit: this checkout's venv, which has ci-mlops installed
                venv.symlink_to(Path(sys.executable).parent.parent)
            ctx["steps"][step_id] = {"outputs": {"cache-hit": "true"}}
            continue
        assert step.get("shell") == "bash"
        output_file = tmp / f"output-{uuid.uuid4().hex}"
        output_file.touch()
        env = {**base_env, "GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(tmp / "summary.md")}
        env.update({k: substitute(v, ctx) for k, v in (step.get("env") or {}).items()})
        cwd = workspace / substitute(step.get("working-directory", "."), ctx)
        script = tmp / f"step-{index}.sh"
        script.write_text(step["run"])
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              cwd=cwd, env=env, capture_output=True, text=True)
        log.append(f"## {step.get('name')}\n{proc.stdout}{proc.stderr}")
        ctx["steps"][step_id] = {"outputs": parse_outputs(output_file)}
        status = proc.returncode
        if status != 0:
            break
    outputs = {name: substitute(spec["value"], ctx) for name, spec in action["outputs"].items()}
    return status, outputs, "\n".join(log)


# -- static properties ---------------------------------------------------------------------


def test_inputs_reach_the_shell_only_through_env():
    action = load_action()
    assert action["runs"]["using"] == "composite"
    assert action["branding"]["icon"] and action["branding"]["color"]
    assert 0 < len(action["description"]) <= 125  # the Marketplace truncates longer descriptions
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], step["name"]
            assert step["shell"] == "bash", step["name"]
    for name, spec in action["outputs"].items():
        assert spec["value"].startswith("${{ steps."), name
    assert {"command", "base", "config", "token", "working-directory", "args"} <= set(action["inputs"])
    assert {"comment-url", "gate-status", "report-path", "release-url", "drift"} == set(action["outputs"])
    assert action["inputs"]["token"]["default"] == "${{ github.token }}"


@pytest.mark.skipif(PINS is None, reason="no action pins file on this machine")
def test_third_party_actions_are_pinned_to_the_known_shas():
    text = ACTION.read_text()
    uses = re.findall(r"uses:\s*([\w./-]+)@(\S+)\s*#\s*(v\S+)", text)
    assert uses and len(uses) == text.count("uses:")
    for name, sha, version in uses:
        assert PINS[name]["sha"] == sha and PINS[name]["version"] == version


# -- the real linters ----------------------------------------------------------------------


@pytest.mark.lint
def test_linters_have_no_findings():
    # zizmor --persona pedantic and check-jsonschema vendor.github-actions; lint() leaves
    # action.yml out of actionlint, which checks workflow files only.
    from tests.support.lint import lint

    assert lint([ACTION]) == []


@pytest.mark.lint
def test_run_scripts_pass_shellcheck(tmp_path):
    # actionlint checks workflows only, not action.yml; shellcheck the run: bodies directly.
    from tests.support.lint import shellcheck_available, tool

    if not shellcheck_available():
        pytest.skip("shellcheck is not installed (Debian package shellcheck)")
    shellcheck = tool("shellcheck")
    for index, step in enumerate(load_action()["runs"]["steps"]):
        if "run" in step:
            script = tmp_path / f"step{index}.sh"
            script.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + step["run"])
            proc = subprocess.run([shellcheck, "-s", "bash", str(script)], capture_output=True, text=True)
            assert proc.returncode == 0, f"{step['name']}:\n{proc.stdout}"


# -- running the steps ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def dvc_template(dvc_layouts):
    return dvc_layouts.template(remote=False)  # each test takes a copy


@pytest.fixture
def workspace(dvc_template, tmp_path):
    from tests.support.dvc_factory import copy_repo

    return copy_repo(dvc_template, tmp_path / "ws")


def _gates(repo: Path, accuracy_min: float) -> None:
    (repo / "ci-gates.yml").write_text(f"version: 1\nmetrics:\n  test.accuracy: {{min: {accuracy_min}}}\n")


def test_unknown_command_is_refused_before_anything_runs(tmp_path):
    status, outputs, log = run_action({"command": "rm -rf /"}, tmp_path, tmp_path)
    assert status == 2
    assert "::error title=ci-mlops::input 'command' must be" in log
    assert outputs["gate-status"] == ""


def test_a_command_input_cannot_inject_a_workflow_command(tmp_path):
    status, _, log = run_action({"command": "nope\n::add-mask::x"}, tmp_path, tmp_path)
    assert status == 2
    assert not any(line.startswith("::add-mask::") for line in log.splitlines())


def test_setup_keys_the_cache_on_the_code(tmp_path):
    action = load_action()
    setup = action["runs"]["steps"][0]
    assert setup["id"] == "setup"
    out = tmp_path / "key-out"
    env = {"PATH": os.environ["PATH"], "ACTION_PATH": str(ROOT), "RUNNER_TEMP_DIR": str(tmp_path), "GITHUB_OUTPUT": str(out)}
    subprocess.run(["bash", "-eo", "pipefail", "-c", setup["run"]], env=env, check=True)
    first = parse_outputs(out)
    assert first["venv"] == str(tmp_path / "ci-mlops-venv")
    assert re.fullmatch(r"ci-mlops-venv-\w+-\w+-py3\.\d+-[0-9a-f]{32}", first["key"])


def test_check_passing_sets_gate_status_and_config(workspace, tmp_path):
    _gates(workspace, 0.0)
    status, outputs, log = run_action({"command": "check", "base": "main", "config": "ci-gates.yml"}, workspace, tmp_path)
    assert status == 0, log
    assert outputs["gate-status"] == "passed"
    assert "Using the cached ci-mlops, version" in log


def test_check_failing_gate_fails_the_step(workspace, tmp_path):
    _gates(workspace, 1.5)
    status, outputs, log = run_action({"command": "check", "config": "ci-gates.yml"}, workspace, tmp_path)
    assert status == 1, log
    assert outputs["gate-status"] == "failed"


def test_args_are_split_like_a_shell_without_expansion(workspace, tmp_path):
    _gates(workspace, 0.0)
    target = workspace / "out dir" / "check result.json"
    target.parent.mkdir()
    status, outputs, log = run_action(
        {"command": "check", "config": "ci-gates.yml", "args": "--format json -o 'out dir/check result.json'"},
        workspace, tmp_path)
    assert status == 0, log
    assert json.loads(target.read_text())["passed"] is True


@pytest.mark.parametrize("field", ["args", "base"])
def test_inputs_are_never_evaluated_by_the_shell(workspace, tmp_path, field):
    _gates(workspace, 0.0)
    hostile = "$(touch pwned) `touch pwned2`; touch pwned3"
    status, _, log = run_action({"command": "check", "config": "ci-gates.yml", field: hostile}, workspace, tmp_path)
    assert status == 2, log  # ci-mlops refuses the odd argument/revision
    assert not any((workspace / name).exists() for name in ("pwned", "pwned2", "pwned3"))


def test_unbalanced_quotes_in_args_are_one_clear_error(workspace, tmp_path):
    status, _, log = run_action({"command": "check", "args": "--format 'json"}, workspace, tmp_path)
    assert status == 2
    assert "input 'args' is not valid" in log


def test_working_directory_and_report_path(workspace, tmp_path):
    if not (ROOT / "ci_mlops" / "commands" / "report.py").exists():
        pytest.skip("ci-mlops report has not landed in this build")
    nested = tmp_path / "outer"
    nested.mkdir()
    shutil.move(str(workspace), nested / "ml")
    status, outputs, log = run_action({"command": "report", "base": "main", "working-directory": "ml", "args": "--all"}, nested, tmp_path)
    assert status == 0, log
    report = Path(outputs["report-path"])
    assert report.is_file() and report.parent == tmp_path / "runner-temp" / "ci-mlops"
    assert "test.accuracy" in report.read_text()
