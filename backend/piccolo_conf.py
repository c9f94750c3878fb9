"""Piccolo's entry point (PICCOLO_CONF=backend.piccolo_conf): the app registry and the engine.

A leaf: it imports only Piccolo and `backend.db`, which never imports it back. `DB` is whatever engine
`backend.db` has bound (the app, the CLI and tests bind one per database; before that, the settings'
database), read when Piccolo asks, so importing this module connects nothing and creates no directory.
"""

from __future__ import annotations

from typing import Any

from piccolo.conf.apps import AppRegistry

from backend import db

APP_REGISTRY = AppRegistry(
    apps=[
        "backend.accounts.piccolo_app",
        "backend.clients.piccolo_app",
        "backend.projects.piccolo_app",
        "backend.visits.piccolo_app",
        "backend.audit.piccolo_app",
        "backend.photos.piccolo_app",
        "notifications.piccolo_app",
        "backend.lifecycle.piccolo_app",
        "backend.sync.piccolo_app",
        "backend.feedback.piccolo_app",
    ]
)


def __getattr__(name: str) -> Any:
    """`DB` (Piccolo's `engine_finder` reads it on every call): the engine bound now."""
    if name == "DB":
        return db.current_engine()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
