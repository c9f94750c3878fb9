"""Piccolo's entry point (PICCOLO_CONF=backend.piccolo_conf). `backend.db.bind` replaces DB at run time."""

from piccolo.conf.apps import AppRegistry

from backend.db import engine_for
from backend.settings import get_settings

DB = engine_for(get_settings())

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
    ]
)
