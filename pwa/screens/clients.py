"""Client list: search (name, phone, area) and tag filters, both kept in the URL."""

from __future__ import annotations

from collections import Counter
from typing import Any

from reactpy import html, use_state

from backend.clients.services import CLIENTS
from pwa.routes import href
from pwa.screens import common
from pwa.screens.client_form import new_client_button
from pwa.ui import App, button, card, chip, empty, form, guarded, list_link, query_state, use_query

PAGE = 50


async def load(app: App, search: str) -> dict[str, Any]:
    actor = await app.ensure_actor()
    clients = await common.all_records(actor, CLIENTS, search=search)
    clients.sort(key=lambda c: c["name"])
    tags = Counter(tag for c in clients for tag in c.get("tags") or [])
    return {"clients": clients, "tags": [tag for tag, _ in tags.most_common()],
            "can_create": CLIENTS.may(actor, "create")}


def client_row(app: App, client: dict[str, Any]) -> Any:
    meta = " · ".join(part for part in (
        common.label(app.lang, "intent", client.get("intent", "")),
        common.budget_text(app, client.get("budget_min"), client.get("budget_max")),
        client.get("area_preference", ""),
    ) if part)
    return html.li(
        {"key": str(client["id"]), "data-id": str(client["id"]), "className": "client-row"},
        list_link(f"/clients/{client['id']}", client["name"], meta,
                  below=[chip(tag, key=tag) for tag in client.get("tags") or []] or None),
    )


@guarded
def screen(app: App) -> Any:
    search = app.route.param("q")
    tag = app.route.param("tag")
    shown, set_shown = use_state(PAGE)
    query = use_query(lambda: load(app, search), search)

    def go(q: str, selected: str) -> None:
        app.navigate(href("/clients", q=q.strip() or None, tag=selected or None), True)

    def on_search(data: Any = None) -> None:
        value = data.get("values", {}).get("q", "") if hasattr(data, "get") else ""
        set_shown(PAGE)
        go(str(value or ""), tag)

    def on_tag(selected: str) -> Any:
        def handler(*_: Any) -> None:
            set_shown(PAGE)
            go(search, "" if selected == tag else selected)
        return handler

    search_box = form(
        on_search,
        html.input({"className": "input", "type": "search", "id": "client-search", "name": "q",
                    "defaultValue": search, "placeholder": app.t("clients.search"), "autoComplete": "off",
                    "enterKeyHint": "search", "aria-label": app.t("clients.search")}),
        className="search", role="search", id="client-search-form",
    )
    state = query_state(app, query)
    if state is not None:
        return html.main({"className": "screen"}, search_box, state)
    clients = [c for c in query.data["clients"] if not tag or tag in (c.get("tags") or [])]
    tags = query.data["tags"]
    if tag and tag not in tags:
        tags = [tag, *tags]
    return html.main(
        {"className": "screen", "id": "clients"},
        new_client_button(app) if query.data["can_create"] else "",
        search_box,
        html.div({"className": "filter-chips", "id": "tag-filters", "aria-label": app.t("clients.tags")},
                 *[button(name, on_tag(name), className="", key=name,
                          **{"data-tag": name, "aria-pressed": str(name == tag).lower()}) for name in tags]),
        card(
            html.ul({"className": "list", "id": "client-list", "data-total": str(len(clients))},
                    *[client_row(app, c) for c in clients[:shown]])
            if clients else empty(app.t("clients.none")),
            button(app.t("common.more", count=len(clients) - shown), lambda *_: set_shown(shown + PAGE),
                   "secondary block", id="more-clients") if len(clients) > shown else "",
            title=app.t("clients.count"), count=len(clients),
        ),
    )
