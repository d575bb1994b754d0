"""Paths outside the work tree are refused everywhere, and ``-o FILE`` writes only regular files.

Variants of each class: absolute paths, ``../``, symbolic links (file and folder) to outside,
FIFOs and devices, through report/check/config/init/drift."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import git, run_cli

SECRET = "TOP-SECRET-runner-file"


def one_line(out, code: int = 2, *fragments: str) -> str:
    assert out.returncode == code, (out.returncode, out.stdout[-1500:], out.stderr[-1500:])
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in lines[0], out.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.json").write_text('{"' + SECRET + '": 1}')
    (folder / "params.yaml").write_text(f"{SECRET}: 1\n")
    return folder


@pytest.fixture
def repo(git_repo: Path) -> Path:
    (git_repo / "m.json").write_text('{"acc": 0.9}')
    (git_repo / ".ci-mlops.yml").write_text("report:\n  metrics_files: [m.json]\nmetrics:\n  acc: {min: 0}\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "metrics")
    return git_repo


# -- reading declared files ----------------------------------------------------------------------------


@pytest.mark.parametrize("declared", ["../outside/secret.json", "{outside}/secret.json", "sub/../../outside/secret.json"])
def test_metrics_files_outside_the_repo_are_refused(repo: Path, outside: Path, declared: str):
    declared = declared.format(outside=outside)
    (repo / ".ci-mlops.yml").write_text(f"report:\n  metrics_files: [m.json, '{declared}']\n")
    out = run_cli("report", "--base", "HEAD", cwd=repo)
    line = one_line(out, 2, declared)
    assert SECRET not in out.stdout + out.stderr
    assert "absolute" in line or "leaves the repository" in line


@pytest.mark.parametrize("link", ["file", "folder", "chain"])
def test_a_symlinked_metrics_file_does_not_publish_its_target(repo: Path, outside: Path, link: str):
    if link == "file":
        (repo / "m.json").unlink()
        (repo / "m.json").symlink_to(outside / "secret.json")
        declared = "m.json"
    elif link == "folder":
        (repo / "eval").symlink_to(outside)
        declared = "eval/secret.json"
    else:
        (repo / "hop.json").symlink_to(outside / "secret.json")
        (repo / "m.json").unlink()
        (repo / "m.json").symlink_to("hop.json")
        declared = "m.json"
    (repo / ".ci-mlops.yml").write_text(f"report:\n  metrics_files: ['{declared}']\nmetrics:\n  acc: {{min: 0}}\n")
    for command in (["report", "--base", "HEAD"], ["report", "--base", "HEAD", "--format", "json"], ["check"]):
        out = run_cli(*command, cwd=repo)
        one_line(out, 2, "outside the repository")
        assert SECRET not in out.stdout + out.stderr, command


def test_a_symlink_inside_the_repo_is_fine(repo: Path):
    (repo / "real.json").write_text('{"acc": 0.95}')
    (repo / "m.json").unlink()
    (repo / "m.json").symlink_to("real.json")
    out = run_cli("report", "--base", "HEAD", "--format", "json", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert '"head": 0.95' in out.stdout


def test_params_file_symlinked_outside_is_refused(repo: Path, outside: Path):
    (repo / "params.yaml").symlink_to(outside / "params.yaml")
    out = run_cli("report", "--base", "HEAD", cwd=repo)
    one_line(out, 2, "params.yaml", "outside the repository")
    assert SECRET not in out.stdout + out.stderr


@pytest.mark.parametrize("declared", ["../outside/secret.json", "/tmp/x/secret.json"])
def test_dvc_yaml_metrics_outside_the_repo_are_refused(repo: Path, declared: str):
    (repo / ".ci-mlops.yml").unlink()
    (repo / "dvc.yaml").write_text(f"metrics:\n  - {declared}\n")
    out = run_cli("report", "--base", "HEAD", cwd=repo)
    one_line(out, 2, declared)


def test_dvc_yaml_symlinked_outside_is_refused(repo: Path, outside: Path):
    (outside / "dvc.yaml").write_text("metrics:\n  - m.json\n")
    (repo / "dvc.yaml").symlink_to(outside / "dvc.yaml")
    one_line(run_cli("report", "--base", "HEAD", cwd=repo), 2, "dvc.yaml", "outside the repository")


def test_a_fifo_as_metrics_file_is_refused_not_waited_for(repo: Path):
    (repo / "m.json").unlink()
    os.mkfifo(repo / "m.json")
    one_line(run_cli("report", "--base", "HEAD", cwd=repo), 2, "m.json", "FIFO")


# -- the config file -----------------------------------------------------------------------------------


def test_config_symlinked_outside_is_refused(repo: Path, outside: Path):
    (outside / "c.yml").write_text(f"base: {SECRET}\n")
    (repo / ".ci-mlops.yml").unlink()
    (repo / ".ci-mlops.yml").symlink_to(outside / "c.yml")
    for command in (["config"], ["report", "--base", "HEAD"], ["check"]):
        out = run_cli(*command, cwd=repo)
        one_line(out, 2, ".ci-mlops.yml", "outside the repository")
        assert SECRET not in out.stdout + out.stderr


def test_relative_config_option_may_not_leave_the_work_tree(repo: Path, outside: Path):
    (outside / "c.yml").write_text("base: main\n")
    one_line(run_cli("config", "--config", "../outside/c.yml", cwd=repo), 2, "leaves the repository")
    out = run_cli("config", "--config", str(outside / "c.yml"), cwd=repo)  # absolute: the caller's choice
    assert out.returncode == 0, out.stderr


# -- init ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("link", [".github", ".github/workflows"])
def test_init_refuses_a_github_folder_linked_outside(git_repo: Path, outside: Path, link: str):
    if link == ".github/workflows":
        (git_repo / ".github").mkdir()
    (git_repo / link).symlink_to(outside)
    before = sorted(p.name for p in outside.iterdir())
    out = run_cli("init", "--yes", cwd=git_repo)
    one_line(out, 2, "outside the repository")
    assert sorted(p.name for p in outside.iterdir()) == before


# -- -o FILE ----------------------------------------------------------------------------------------------

OUTPUTS = [("report", "--base", "HEAD"), ("check",)]


@pytest.mark.parametrize("command", OUTPUTS, ids=["report", "check"])
def test_output_refuses_a_symlink_and_leaves_its_target(repo: Path, outside: Path, command):
    target = outside / "victim.txt"
    target.write_text("keep me\n")
    (repo / "out.md").symlink_to(target)
    one_line(run_cli(*command, "-o", "out.md", cwd=repo), 2, "out.md", "symbolic link")
    assert target.read_text() == "keep me\n" and (repo / "out.md").is_symlink()


@pytest.mark.parametrize("command", OUTPUTS, ids=["report", "check"])
def test_output_refuses_a_fifo_without_blocking(repo: Path, command):
    os.mkfifo(repo / "pipe")
    one_line(run_cli(*command, "-o", "pipe", cwd=repo), 2, "FIFO")
    assert stat.S_ISFIFO(os.lstat(repo / "pipe").st_mode)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/full"])
def test_output_refuses_a_device_node(repo: Path, device: str):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    before = os.lstat(device)
    one_line(run_cli("report", "--base", "HEAD", "-o", device, cwd=repo), 2, "character device")
    after = os.lstat(device)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


def test_output_refuses_a_directory(repo: Path):
    (repo / "folder").mkdir()
    one_line(run_cli("report", "--base", "HEAD", "-o", "folder", cwd=repo), 2, "folder")


def test_output_relative_path_may_not_leave_the_work_tree(repo: Path):
    one_line(run_cli("report", "--base", "HEAD", "-o", "../escape.md", cwd=repo), 2, "leaves the repository")
    assert not (repo.parent / "escape.md").exists()


def test_output_creates_missing_folders_and_says_so(repo: Path, tmp_path: Path):
    target = tmp_path / "new" / "deeper" / "report.md"
    out = run_cli("report", "--base", "HEAD", "-o", str(target), cwd=repo)
    assert out.returncode == 0, out.stderr
    assert f"created folder {tmp_path / 'new'}" in out.stderr and f"created folder {target.parent}" in out.stderr
    assert target.read_text().startswith("<!--") or target.read_text()


def test_output_replaces_a_regular_file_atomically_keeping_its_mode(repo: Path):
    target = repo / "report.md"
    target.write_text("old\n")
    target.chmod(0o600)
    out = run_cli("report", "--base", "HEAD", "-o", "report.md", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert target.read_text() != "old\n" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not [p for p in repo.iterdir() if p.name.endswith(".tmp")]


def test_drift_output_uses_the_same_writer(tmp_path: Path):
    data = tmp_path / "d"
    data.mkdir()
    (data / "ref.csv").write_text("x\n1\n2\n3\n")
    (data / "cur.csv").write_text("x\n1\n2\n3\n")
    (data / "link.md").symlink_to(tmp_path / "victim.md")
    one_line(run_cli("drift", "--reference", "ref.csv", "--current", "cur.csv", "-o", "link.md", cwd=data), 2, "symbolic link")
    assert not (tmp_path / "victim.md").exists()


# -- other configured paths: data checks, drift, a report to comment ----------------------------------------


@pytest.mark.parametrize("declared", ["../outside/data.csv", "{outside}/data.csv", "link/data.csv"])
def test_data_checks_and_drift_paths_stay_in_the_repo(repo: Path, outside: Path, declared: str):
    (outside / "data.csv").write_text(f"{SECRET}\n1\n")
    (repo / "link").symlink_to(outside)
    declared = declared.format(outside=outside)
    (repo / ".ci-mlops.yml").write_text(f"data:\n  '{declared}':\n    rows: {{min: 1}}\n")
    out = run_cli("check", cwd=repo)
    one_line(out, 2, "data file")
    assert SECRET not in out.stdout + out.stderr
    if declared.startswith("/"):
        return  # drift data may be anywhere when named by an absolute path (production data)
    (repo / ".ci-mlops.yml").write_text(f"drift:\n  reference: '{declared}'\n  current: '{declared}'\n")
    out = run_cli("drift", "--no-progress", cwd=repo)
    one_line(out, 2, "drift.reference")
    assert SECRET not in out.stdout + out.stderr


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_as_the_report_to_comment(tmp_path: Path):
    out = run_cli("comment", "/dev/zero", "--pr", "1", "--dry-run", cwd=tmp_path,
                  env={"GITHUB_REPOSITORY": "o/r", "GITHUB_TOKEN": "t"})
    one_line(out, 2, "/dev/zero", "not a regular file")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_as_a_lineage_to_verify(repo: Path):
    git(repo, "tag", "v1.0.0")
    (repo / "model.bin").write_bytes(b"model")
    out = run_cli("audit", "verify", "v1.0.0", "--lineage", "/dev/zero", "--path", "model.bin", cwd=repo)
    one_line(out, 2, "/dev/zero", "not a regular file")


def test_a_deep_dvc_dir_manifest_is_not_a_crash(tmp_path: Path):
    from ci_mlops.dvc.cache import manifest

    md5 = "ab" + "c" * 30 + ".dir"
    folder = tmp_path / ".dvc" / "cache" / "files" / "md5" / "ab"
    folder.mkdir(parents=True)
    (folder / md5[2:]).write_text("[" * 5000 + "]" * 5000)
    assert manifest(tmp_path, md5, "md5") is None
