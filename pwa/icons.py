"""Inline SVG icons for the navigation (no icon font, no download)."""

from __future__ import annotations

from typing import Any

from reactpy import html

PATHS = {
    "home": "M3 11 12 4l9 7M5 10v10h5v-6h4v6h5V10",
    "clients": (
        "M16 19v-1a4 4 0 0 0-4-4H7a4 4 0 0 0-4 4v1M9.5 10a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7M21 19v-1"
        "a4 4 0 0 0-3-3.9M16 3.1a3.5 3.5 0 0 1 0 6.8"),
    "pipeline": "M4 5h16M6 10h12M8 15h8M10 20h4",
    "inbox": "M6 8a6 6 0 1 1 12 0c0 7 3 8 3 8H3s3-1 3-8M10.3 20a2 2 0 0 0 3.4 0",
    "settings": (
        "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1"
        "a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1"
        "a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1"
        "a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1"
        "a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9"
        "a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1"
        "a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1"
        "a1.7 1.7 0 0 0-1.5 1"),
    "manager": "M3 3v18h18M7 16v-4M12 16V8M17 16v-7",
    "finance": "M12 2v20M17 5H9.5a3.5 3.5 0 0 0 0 7h5a3.5 3.5 0 0 1 0 7H6",
    "admin": "M12 2 4 5v6c0 5 3.5 9.5 8 11 4.5-1.5 8-6 8-11V5z",
    "refresh": "M21 12a9 9 0 1 1-2.6-6.4M21 4v5h-5",
    "back": "M15 18l-6-6 6-6",
    "feedback": "M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2zM8 9h8M8 13h5",
    "camera": "M4 8h3l2-3h6l2 3h3v12H4zM12 17a4 4 0 1 0 0-8 4 4 0 0 0 0 8",
}


def icon(name: str) -> Any:
    return html.svg(
        {"viewBox": "0 0 24 24", "fill": "none", "stroke": "currentColor", "stroke-width": "2",
         "stroke-linecap": "round", "stroke-linejoin": "round", "aria-hidden": "true", "focusable": "false"},
        html.path({"d": PATHS[name]}),
    )
