"""Inbox: every alert as an item (newest first, unread marked); opening one marks it read and goes to its link."""

from __future__ import annotations

from typing import Any

import msgspec
from reactpy import html

from backend.access import Actor
from backend.inbox import services as inbox
from pwa.ui import App, action, button, card, chip, empty, guarded, query_state, use_query


async def unread_count(actor: Actor) -> int:
    return await inbox.unread_count(actor)


async def load(app: App) -> dict[str, Any]:
    actor = await app.ensure_actor()
    return {"items": [msgspec.structs.asdict(item) for item in (await inbox.list_items(actor, limit=100)).items]}


def in_app_link(link: str) -> str:
    return link if link.startswith("/") and not link.startswith("//") else "/"


@guarded
def screen(app: App) -> Any:
    query = use_query(lambda: load(app), app.route.path)
    state = query_state(app, query)
    if state is not None:
        return html.main({"className": "screen"}, state)
    items = query.data["items"]
    unread = [i for i in items if not i.get("read_at")]

    def opener(item: dict[str, Any]) -> Any:
        async def open_item(actor: Any, _: Any) -> None:
            if not item.get("read_at"):
                await inbox.mark_read(actor, item["id"])
                app.changed()
            app.navigate(in_app_link(item.get("link") or "/"))
        return action(app, open_item)

    async def read_all(actor: Any, _: Any) -> None:
        await inbox.mark_all_read(actor)
        app.changed()
        query.reload()

    return html.main(
        {"className": "screen", "id": "inbox"},
        card(
            html.ul({"className": "list", "id": "inbox-items"}, *[
                html.li({"key": str(item["id"]), "data-id": str(item["id"]),
                         "data-read": "true" if item.get("read_at") else "false"},
                        button([
                            html.div({"className": "grow", "style": {"textAlign": "left"}},
                                     html.div({"className": "title",
                                               "style": {"fontWeight": "400" if item.get("read_at") else "700"}},
                                              item["title"]),
                                     html.div({"className": "meta"}, item.get("body", "")),
                                     html.div({"className": "meta"}, app.fmt.datetime(item["created_at"]))),
                            chip(app.t("inbox.urgent"), "danger") if item.get("urgency") == "high" else "",
                            chip(app.t("inbox.new"), "warn") if not item.get("read_at") else "",
                        ], opener(item), className="list-link",
                           style={"width": "100%", "border": "0", "background": "transparent", "cursor": "pointer"}))
                for item in items]) if items else empty(app.t("inbox.empty")),
            button(app.t("inbox.read_all"), action(app, read_all), "secondary block", id="read-all") if unread else "",
            title=app.t("screen.inbox"), count=len(unread),
        ),
    )
