"""Run by tests/unit/demo/test_forked.py as ``python -m`` (a subprocess) and as a forked step: says what it
sees as JSON on stdout, changes what a step must not leak, and ends as its first argument says."""

import json
import os
import sys

import tests.unit.demo.forked_probe_state as state

# what an earlier step may have left (nothing), then this step's own changes
print(json.dumps({"cwd": os.getcwd(), "probe": os.environ.get("PROBE"), "argv": sys.argv[1:],
                  "stdin": sys.stdin.read(), "leaked": [os.environ.get("PROBE_LEAK"), state.touched]}))
state.touched = True  # a change to a module the demo has imported
os.environ["PROBE_LEAK"] = "yes"
print("to stderr", file=sys.stderr)
how = sys.argv[1]
if how == "raise":
    raise RuntimeError("the probe failed")
if how == "message":
    sys.exit("a message instead of a code")
sys.exit(int(how))
