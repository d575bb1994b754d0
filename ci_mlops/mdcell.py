"""Kept so older imports work: the escapes live in :mod:`ci_mlops.escape`."""

from ci_mlops.escape import md_cell

__all__ = ["md_cell"]
