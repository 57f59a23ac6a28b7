"""The wall-screen dashboard: one self-contained page (inline CSS, JS and SVG)."""

from __future__ import annotations

from pathlib import Path

_PAGE = Path(__file__).with_name("dashboard.html")


def render_dashboard(*, refresh_s: int) -> str:
    """The page, with its refresh interval filled in."""
    return _PAGE.read_text(encoding="utf-8").replace("__REFRESH_SECONDS__", str(refresh_s))
