"""One module per screen; each exposes a guarded component taking the `App` context."""

from __future__ import annotations

from typing import Any

from reactpy import html

from pwa.screens import (
    admin,
    client,
    clients,
    feedback,
    finance,
    home,
    inbox,
    manager,
    pipeline,
    project,
    settings,
    visit,
)
from pwa.ui import App, guarded, link


@guarded
def not_found(app: App) -> Any:
    return html.main({"className": "screen"}, html.div({"className": "state", "data-state": "not-found"},
                                                       html.p(app.t("common.not_found")),
                                                       link("/", app.t("common.go_home"), class_name="button")))


SCREENS: dict[str, Any] = {
    "home": home.screen,
    "clients": clients.screen,
    "client": client.screen,
    "pipeline": pipeline.screen,
    "projects": home.screen,
    "project": project.screen,
    "visit": visit.screen,
    "inbox": inbox.screen,
    "manager": manager.screen,
    "finance": finance.screen,
    "admin": admin.screen,
    "settings": settings.screen,
    "feedback": feedback.screen,
}


def _check_table() -> None:
    """Every place in the route table has its screen, and every screen a place (a typo fails at import)."""
    from pwa.routes import BY_SCREEN

    assert set(SCREENS) == set(BY_SCREEN), set(SCREENS) ^ set(BY_SCREEN)


_check_table()
