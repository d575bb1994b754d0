"""Regenerate this project's reusable workflows from the templates.

Run ``python -m ci_mlops.scaffold`` in a checkout after changing a template; a test
fails while the committed ``.github/workflows/reusable-*.yml`` differ from a fresh render.
"""

from __future__ import annotations

from pathlib import Path

from ci_mlops.fsutil import atomic_write
from ci_mlops.scaffold.plan import reusable_workflows


def main(root: Path = Path(__file__).resolve().parents[2]) -> None:
    for rel, text in reusable_workflows().items():
        path = root / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            atomic_write(path, text)
            print(f"wrote {rel}")


if __name__ == "__main__":
    main()
