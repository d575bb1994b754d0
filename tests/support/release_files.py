"""Release assets for the release host tests: files written to disk with their SHA-256 and size."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ci_mlops.deploy.host import Asset


def asset(folder: Path, name: str, data: bytes) -> Asset:
    """``data`` written to ``folder/name`` (the folder made when missing), as a release asset."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return Asset(name, path, hashlib.sha256(data).hexdigest(), len(data))
