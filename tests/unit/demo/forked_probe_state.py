"""State the probe changes (tests/unit/demo/forked_probe.py): a forked step's change must not reach the demo."""

touched = False
