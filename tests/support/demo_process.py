"""``ci-mlops demo`` as a process of its own, as a user runs it.

The demo forks its own process for each ci-mlops step (``ci_mlops/demo/forked.py``); a test
process (its threads, its DVC zygote's handles) is not one to fork from. While the DVC zygote is
on, the demo runs as its ci-mlops launcher (``tests/support/zygote.py``), so the demo's DVC
commands run in the zygote as other tests' do.
"""

from __future__ import annotations

import subprocess

from tests.support import zygote


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    """``ci-mlops demo ARGS``: its exit code and output."""
    return subprocess.run([str(zygote.ci_mlops_script()), "demo", *args], capture_output=True, text=True,
                          check=False)
