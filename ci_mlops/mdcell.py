"""Markdown table cells: one escape for every table ci-mlops renders."""

from __future__ import annotations

from typing import Any


def md_cell(value: Any) -> str:
    """``value`` as text that stays inside one GitHub Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
