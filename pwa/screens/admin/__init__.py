"""Admin: users, branches, business lines and lifecycle templates (no business data: access rules see to that).

The tab and the record being edited live in the URL (`/admin?tab=users&user=…`): a reconnect rebuilds the screen
as it was. On a phone the form replaces the list; from 1024 px they sit side by side."""

from __future__ import annotations

from typing import Any

from reactpy import html

from pwa.routes import href
from pwa.screens.admin import branches, lists, templates, users
from pwa.ui import App, button, guarded

TABS = ("users", "branches", "lines", "templates")


def tab_bar(app: App, tab: str) -> Any:
    return html.div({"className": "tabs admin-tabs", "role": "tablist", "id": "admin-tabs"}, *[
        button(app.t(f"admin.tab_{name}"), lambda *_, name=name: app.navigate(href("/admin", tab=name), True),
               className="", role="tab", key=name, **{"data-tab": name, "aria-selected": str(name == tab).lower()})
        for name in TABS])


@guarded
def screen(app: App) -> Any:
    tab = app.route.param("tab", "users")
    if tab not in TABS:
        tab = "users"
    if tab == "users":
        body = users.panel(app, key="users")
    elif tab == "branches":
        body = branches.panel(app, key="branches")
    elif tab == "templates":
        body = templates.panel(app, key="templates")
    else:
        body = lists.panel(app, tab, key=tab)
    return html.main({"className": "screen admin-screen", "id": "admin", "data-tab": tab}, tab_bar(app, tab), body)
