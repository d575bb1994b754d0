"""The xdist workers share pytest's assertion rewriting instead of each doing all of it.

Every worker imports every test module to collect it, and pytest rewrites a test module's
asserts (an AST pass: ~4.5 CPU-s for this suite) unless its cache in ``__pycache__`` has the
result. A fresh clone (every CI run) has no cache, so each of the two workers did all of it.
Before collecting, worker k of n rewrites every n-th test module from the k-th and caches it
exactly as pytest's import hook does (its own functions: the cache is pytest's, a checked-hash
pyc verified against the source on every read); collection then finds the other workers'
share cached too. A module no worker has reached yet is rewritten by collection as before.
Nothing changes what is collected or how an assert reports; with pytest internals other than
these, or with bytecode writing off, collection simply rewrites as usual.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from pathlib import Path
from typing import Any


def share(config: Any) -> int:
    """This worker's share of the rewriting, before collection; the number of modules it rewrote."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if not worker.startswith("gw") or not count.isdigit() or int(count) < 2 or sys.dont_write_bytecode:
        return 0
    if config.getoption("assertmode", "rewrite") != "rewrite":
        return 0
    return rewrite(config, test_modules(config), int(worker[2:]), int(count))


def test_modules(config: Any) -> list[Path]:
    """The files collection would rewrite: test modules and conftest files under the run's arguments."""
    patterns = [*config.getini("python_files"), "conftest.py"]
    skip = config.getini("norecursedirs")
    found: set[Path] = set()
    for arg in config.args:
        path = Path(config.invocation_params.dir, str(arg).split("::")[0])
        if path.is_file() and path.suffix == ".py":
            found.add(path)
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if d != "__pycache__" and not any(fnmatch.fnmatch(d, p) for p in skip)]
            found.update(Path(root, f) for f in files if any(fnmatch.fnmatch(f, p) for p in patterns))
    return sorted(found)


def rewrite(config: Any, modules: list[Path], index: int, count: int) -> int:
    """Rewrite and cache ``modules[index::count]`` that pytest's cache does not already hold."""
    try:
        from _pytest.assertion import rewrite as hook  # pytest's own rewriting and cache format

        state = config.stash[hook.assertstate_key]
        tail, read, write, rewrite_test = hook.PYC_TAIL, hook._read_pyc, hook._write_pyc, hook._rewrite_test
        cache_dir_of, makedirs = hook.get_cache_dir, hook.try_makedirs
    except (ImportError, AttributeError, KeyError):
        return 0
    done = 0
    for module in modules[index::count]:
        cache_dir = cache_dir_of(module)
        pyc = cache_dir / (module.name[:-3] + tail)
        if read(module, pyc, state.trace) is not None or not makedirs(cache_dir):
            continue
        try:
            source_hash, code = rewrite_test(module, config)
        except (SyntaxError, OSError, ValueError):
            continue  # collection reports it
        done += write(state, code, source_hash, pyc)
    return done
