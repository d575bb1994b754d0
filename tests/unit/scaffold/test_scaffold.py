"""Unit tests of the scaffold pieces: templates location, rendering helpers, detection, never-clobber logic."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ci_mlops import __version__
from ci_mlops.errors import UserError
from ci_mlops.scaffold import templates_dir
from ci_mlops.scaffold.detect import detect_python, parse_dvcyaml, read_remotes
from ci_mlops.scaffold.needs import detect_env
from ci_mlops.scaffold.plan import PlannedFile, Settings, config_text, reusable_workflows
from ci_mlops.scaffold.render import (
    action_pins,
    comment_text,
    flow_list,
    install_spec,
    run_block,
    shell_quote,
    uses,
    yaml_scalar,
)
from ci_mlops.scaffold.write import (
    CREATE,
    KEEP_DELETED,
    KEEP_EDITED,
    KEEP_STALE,
    OVERWRITE,
    REMOVE,
    UNCHANGED,
    UPDATE,
    compare,
    new_manifest,
    sha256,
)

ROOT = Path(__file__).resolve().parents[3]


# -- templates location -----------------------------------------------------------------


def test_templates_found_in_a_source_checkout():
    assert templates_dir() == ROOT / "templates"


def test_templates_found_inside_an_installed_wheel(tmp_path):
    # a wheel has ci_mlops/templates (force-included from the repo's templates/) and no checkout around it
    package = tmp_path / "site-packages" / "ci_mlops"
    (package / "templates" / "workflows").mkdir(parents=True)
    assert templates_dir(package) == package / "templates"


def test_missing_templates_is_a_clear_error(tmp_path):
    (tmp_path / "ci_mlops").mkdir()
    with pytest.raises(FileNotFoundError, match="templates not found"):
        templates_dir(tmp_path / "ci_mlops")


def test_wheel_config_ships_the_templates():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"templates" = "ci_mlops/templates"' in pyproject


# -- the project's own reusable workflows -------------------------------------------------


def test_committed_reusable_workflows_equal_a_fresh_render():
    for rel, text in reusable_workflows().items():
        path = ROOT / rel
        assert path.is_file(), f"{rel} missing: run `python -m ci_mlops.scaffold`"
        assert path.read_text() == text, f"{rel} is stale: run `python -m ci_mlops.scaffold`"


def test_reusable_workflows_default_to_this_version():
    pr = yaml.safe_load(reusable_workflows()[".github/workflows/reusable-pr.yml"])
    assert pr[True]["workflow_call"]["inputs"]["ci-mlops-version"]["default"] == __version__


# -- rendering helpers ------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
def test_yaml_scalar_reads_back_the_same(value):
    assert yaml.safe_load(f"key: {yaml_scalar(value)}") == {"key": value}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abc $\"'-:#{}[]|>", min_size=1, max_size=12).map(str.strip).filter(bool),
                min_size=2, max_size=4))
def test_multiline_run_block_reads_back_the_same(lines):
    command = "\n".join(lines)
    assume("${{" not in command)  # refused (below)
    doc = yaml.safe_load(f"steps:\n  - run: {run_block(command, 6)}\n")
    assert doc["steps"][0]["run"].rstrip("\n") == command


def test_run_block_refuses_an_actions_expression():
    with pytest.raises(UserError, match=r"must not contain '\$\{\{'"):
        run_block("echo ${{ github.head_ref }}", 10)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20),
                min_size=1, max_size=4))
def test_flow_list_reads_back_the_same_items(items):
    assert yaml.safe_load(f"runs-on: {flow_list(items)}") == {"runs-on": items}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30))
def test_shell_quote_is_one_word_that_bash_reads_back(value):
    import shlex

    assert shlex.split(shell_quote(value)) == [value]


def test_shell_quote_keeps_command_substitution_literal(tmp_path):
    out = subprocess.run(["bash", "-c", f"printf %s {shell_quote('$(id); `id` ${HOME}')}"],
                         capture_output=True, text=True, check=True)
    assert out.stdout == "$(id); `id` ${HOME}"


def test_comment_text_stays_on_one_line():
    assert comment_text("prod\n    runs-on: evil") == "prod\\n    runs-on: evil"


def test_uses_pins_a_full_sha_with_the_version():
    pin = action_pins()["actions/checkout"]
    assert uses("actions/checkout") == f"actions/checkout@{pin['sha']} # {pin['version']}"
    assert len(pin["sha"]) == 40
    with pytest.raises(KeyError):
        uses("someone/unpinned")


def test_packaged_pins_match_the_shared_list():
    # shared/ sits beside the checkout (a developer's tree and CI's fresh clone alike)
    candidates = [ROOT.parent / "shared" / "data" / "action-pins.json", Path("/work/shared/data/action-pins.json")]
    shared = next((p for p in candidates if p.exists()), None)
    if shared is None:
        pytest.skip("shared pin list not present on this machine")
    # every shared pin is used as is; pins the project adds (read from the action's own
    # repository first) sit beside them
    pins = action_pins()
    for action, pin in json.loads(shared.read_text()).items():
        assert pins.get(action) == pin, action


def test_own_workflows_use_the_packaged_pins():
    """This project's workflows (tests, release) pin the same SHAs as the generated ones."""
    import re

    pins = action_pins()
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for line in path.read_text().splitlines():
            match = re.search(r"uses: ([\w.-]+/[\w.-]+)@(\S+) # (\S+)", line)
            if match and not match.group(1).startswith("ci-mlops/"):
                action, sha, version = match.groups()
                assert pins[action] == {**pins[action], "sha": sha, "version": version}, (path.name, line)


def test_install_spec_pins_the_running_version():
    assert install_spec() == f"ci-mlops=={__version__}"


def test_generated_config_is_valid_and_keeps_answers():
    text = config_text(Settings(base="develop", python="3.12", test=None, runner=["self-hosted", "gpu"],
                                deploy="custom", dvc_secrets=["AWS_ACCESS_KEY_ID"], model_name="churn"))
    data = yaml.safe_load(text)
    assert data["base"] == "develop" and data["python"] == "3.12" and data["test"] is False
    assert data["runner"] == ["self-hosted", "gpu"] and data["deploy"]["target"] == "custom"
    assert data["dvc"] == {"secrets": ["AWS_ACCESS_KEY_ID"]} and data["model_card"]["name"] == "churn"


# -- detection --------------------------------------------------------------------------


def test_remotes_from_config_and_config_local(tmp_path):
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text(
        "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://bucket/path\n"
        "['remote \"backup\"']\n    url = /mnt/backup\n")
    (tmp_path / ".dvc" / "config.local").write_text("['remote \"backup\"']\n    url = /elsewhere\n")
    remotes, default = read_remotes(tmp_path)
    assert default == "storage"
    assert {r.name: (r.url, r.scheme) for r in remotes} == {
        "storage": ("s3://bucket/path", "s3"), "backup": ("/elsewhere", "local")}


def test_broken_dvc_config_is_a_user_error(tmp_path):
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text("no section header\n")
    with pytest.raises(UserError, match=r"\.dvc/config: cannot parse"):
        read_remotes(tmp_path)


@pytest.mark.parametrize("files, expected", [
    ({".python-version": "3.12.4\n"}, "3.12"),
    ({"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.10,<4"\n'}, "3.10"),
    ({"runtime.txt": "python-3.9.18\n"}, "3.9"),
    ({}, None),
])
def test_python_version(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert detect_python(tmp_path)[0] == expected


def test_install_command(tmp_path):
    assert detect_env(tmp_path, []).install is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[project.optional-dependencies]\ntest = ["pytest"]\n')
    assert detect_env(tmp_path, []).install == 'pip install -e ".[test]"'
    assert detect_env(tmp_path, []).pytest
    (tmp_path / "requirements.txt").write_text("numpy\n")
    assert detect_env(tmp_path, []).install == "pip install -r requirements.txt"


def test_dvcyaml_outputs_metrics_and_plots(tmp_path):
    path = tmp_path / "dvc.yaml"
    path.write_text(yaml.safe_dump({
        "metrics": ["reports/top.json"],
        "plots": [{"roc.csv": {"x": "fpr"}}],
        "stages": {"train": {"cmd": "python train.py", "wdir": "src",
                             "outs": ["../models/model.pkl"], "metrics": [{"metrics.json": {"cache": False}}]}},
    }))
    parsed = parse_dvcyaml(path, "dvc.yaml")
    assert parsed["stages"] == ["train"]
    assert parsed["metrics"] == ["reports/top.json", "src/metrics.json"]
    assert parsed["plots"] == ["roc.csv"]
    assert ("src", "../models/model.pkl") in parsed["outs"]


@pytest.mark.parametrize("text, needle", [
    ("stages: [a, b]\n", "'stages' must be a mapping"),
    ("- just a list\n", "expected a mapping"),
    ("stages:\n  train: python x.py\n", "stage 'train' must be a mapping"),
    ("stages: {train: {cmd: [\n", "invalid YAML"),
])
def test_bad_dvcyaml(tmp_path, text, needle):
    path = tmp_path / "dvc.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=needle):
        parse_dvcyaml(path, "dvc.yaml")


# -- never clobber ------------------------------------------------------------------------


def test_compare_classifies_every_case(tmp_path):
    files = {"same": "A\n", "ours-old": "old\n", "edited": "mine\n", "stale-ours": "gone\n", "stale-edited": "mine\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    manifest = {"files": {
        "ours-old": {"sha256": sha256("old\n")}, "edited": {"sha256": sha256("generated\n")},
        "deleted": {"sha256": sha256("x\n")}, "stale-ours": {"sha256": sha256("gone\n")},
        "stale-edited": {"sha256": sha256("generated\n")},
    }}
    planned = [PlannedFile(name, "A\n" if name == "same" else "new\n", "t")
               for name in ("same", "ours-old", "edited", "deleted", "new")]
    actions = {c.path: c.action for c in compare(tmp_path, planned, manifest)}
    assert actions == {"same": UNCHANGED, "ours-old": UPDATE, "edited": KEEP_EDITED, "deleted": KEEP_DELETED,
                       "new": CREATE, "stale-ours": REMOVE, "stale-edited": KEEP_STALE}
    forced = {c.path: c.action for c in compare(tmp_path, planned, manifest, force=True)}
    assert forced["edited"] == OVERWRITE and forced["deleted"] == CREATE and forced["stale-edited"] == REMOVE


def test_manifest_keeps_the_generated_hash_of_kept_files(tmp_path):
    (tmp_path / "edited").write_text("mine\n")
    previous = {"files": {"edited": {"sha256": sha256("generated\n"), "template": "t"}}}
    changes = compare(tmp_path, [PlannedFile("edited", "new\n", "t"), PlannedFile("fresh", "f\n", "t")], previous)
    manifest = new_manifest(changes, "full", previous)
    assert manifest["files"]["edited"]["sha256"] == sha256("generated\n")
    assert manifest["files"]["fresh"]["sha256"] == sha256("f\n")


def test_packaged_workflows_ref_points_at_these_reusable_workflows():
    """Callers written by `init --mode reusable` must call exactly what this version renders."""
    import subprocess

    from ci_mlops.scaffold.plan import WorkflowRef

    ref = WorkflowRef.packaged()
    assert len(ref.sha) == 40 and ref.version == __version__
    known = subprocess.run(["git", "cat-file", "-e", f"{ref.sha}^{{commit}}"], cwd=ROOT, capture_output=True)
    if known.returncode != 0:
        pytest.skip("no git history here (sdist or shallow clone)")
    for rel, text in reusable_workflows().items():
        show = subprocess.run(["git", "show", f"{ref.sha}:{rel}"], cwd=ROOT, capture_output=True, text=True)
        assert show.returncode == 0 and show.stdout == text, (
            f"{rel} changed since {ref.sha[:12]}: commit it, then point ci_mlops/scaffold/reusable.json at that commit")


def test_generated_config_points_editors_at_this_versions_schema():
    from ci_mlops.config import SCHEMA_PATH, SCHEMA_URL

    first = config_text(Settings()).splitlines()[0]
    assert first == f"# yaml-language-server: $schema={SCHEMA_URL}"
    assert f"/v{__version__}/" in SCHEMA_URL
    assert SCHEMA_URL.endswith("/" + SCHEMA_PATH.relative_to(ROOT).as_posix())
