"""tests/support/rewrite_share.py: a worker's share of the assert rewriting lands in pytest's own cache."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from _pytest.assertion import rewrite as hook

from tests.support import rewrite_share


def _config(tmp_path: Path, real: pytest.Config, *args: str) -> SimpleNamespace:
    """This session's config, with the run's arguments in ``tmp_path`` and the default collection patterns."""
    ini = {"python_files": ["test_*.py", "*_test.py"], "norecursedirs": ["node_modules", ".*"]}
    return SimpleNamespace(args=list(args), getini=lambda key: ini[key] if key in ini else real.getini(key),
                           invocation_params=SimpleNamespace(dir=tmp_path), getoption=real.getoption,
                           stash=real.stash)


def test_the_modules_are_those_collection_rewrites(tmp_path: Path, request: pytest.FixtureRequest):
    for name in ("a/test_one.py", "a/conftest.py", "a/helper.py", "a/two_test.py", "a/__pycache__/test_x.py",
                 "a/node_modules/test_y.py", "a/.hidden/test_z.py", "b/test_other.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    found = rewrite_share.test_modules(_config(tmp_path, request.config, "a", "b/test_other.py::test_x"))
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a/conftest.py", "a/test_one.py", "a/two_test.py", "b/test_other.py"]


def test_every_nth_module_is_cached_with_its_asserts_rewritten(tmp_path: Path, request: pytest.FixtureRequest):
    modules = []
    for i in range(5):
        modules.append(tmp_path / f"test_m{i}.py")
        modules[-1].write_text(f"def test_it():\n    x = {i}\n    assert x == 99\n")
    assert rewrite_share.rewrite(request.config, modules, 1, 2) == 2
    state = request.config.stash[hook.assertstate_key]
    cached = {m.name: hook._read_pyc(m, hook.get_cache_dir(m) / (m.stem + hook.PYC_TAIL), state.trace)
              for m in modules}
    assert [name for name, code in cached.items() if code is not None] == ["test_m1.py", "test_m3.py"]
    namespace: dict = {}
    exec(cached["test_m3.py"], namespace)
    with pytest.raises(AssertionError, match=r"assert 3 == 99"):  # a plain assert would say nothing
        namespace["test_it"]()
    assert rewrite_share.rewrite(request.config, modules, 1, 2) == 0  # cached: nothing to do again


def test_only_an_xdist_worker_that_writes_bytecode_shares(monkeypatch, tmp_path: Path, request):
    (tmp_path / "test_a.py").write_text("assert True\n")
    config = _config(tmp_path, request.config, ".")
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    assert rewrite_share.share(config) == 0
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "1")
    assert rewrite_share.share(config) == 0
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    assert rewrite_share.share(config) == 0
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    config.args = [str(tmp_path / "test_a.py")]
    assert rewrite_share.share(config) == 1
