"""`ci-mlops init`'s machinery: detect repo facts -> plan files -> render templates -> write.

* :mod:`~ci_mlops.scaffold.detect` reads what the repository has (no DVC import).
* :mod:`~ci_mlops.scaffold.plan` turns facts + settings into the files to write.
* :mod:`~ci_mlops.scaffold.render` renders the Jinja2 templates in ``templates/``.
* :mod:`~ci_mlops.scaffold.write` compares with the disk and the manifest, shows a
  diff, and writes atomically without clobbering files the user edited.
"""

from __future__ import annotations

from pathlib import Path

# Bump when a template change should be visible in generated files' headers.
TEMPLATE_VERSION = 1

_PACKAGE = Path(__file__).resolve().parent.parent  # .../ci_mlops


def templates_dir(package_dir: Path = _PACKAGE) -> Path:
    """The Jinja2 templates: ``ci_mlops/templates`` in a wheel, else ``<checkout>/templates``.

    The wheel force-includes the repository's ``templates/`` as ``ci_mlops/templates``;
    an editable install or a source checkout has them next to the package instead.
    """
    for candidate in (package_dir / "templates", package_dir.parent / "templates"):
        if (candidate / "workflows").is_dir():
            return candidate
    raise FileNotFoundError(f"ci-mlops templates not found next to {package_dir} (broken installation?)")
