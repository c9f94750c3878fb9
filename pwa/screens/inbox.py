"""Inbox: every alert as an item in the reader's language, grouped by project (newest first), with filters
(unread, urgent, kind: buttons that change the URL) — only the items are links; opening one marks it read and
goes to its target, scrolled to the item (`backend.alerts.alert_url` made the link, `pwa.routes.parse` reads it)."""

from __future__ import annotations

from typing import Any

import msgspec
from reactpy import html, use_state

from backend.access import Actor
from backend.inbox import services as inbox
from pwa.live import use_live_query
from pwa.routes import href
from pwa.ui import App, action, button, card, chip, empty, guarded, query_state

PAGE = 50
SHOWS = ("all", "unread", "urgent")


async def unread_count(actor: Actor) -> int:
    return await inbox.unread_count(actor)


async def load(app: App, show: str, kind: str, limit: int) -> dict[str, Any]:
    actor = await app.ensure_actor()
    page = await inbox.list_items(actor, unread_only=show == "unread", urgent_only=show == "urgent", kind=kind,
                                  lang=app.lang, limit=limit)
    return {"items": [msgspec.structs.asdict(item) for item in page.items], "total": page.total,
            "unread": page.unread, "urgent": page.urgent, "kinds": page.kinds}


def in_app_link(link: str) -> str:
    return link if link.startswith("/") and not link.startswith("//") else "/"


def grouped(items: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """By project, in the order of each project's newest item (items come newest first)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(str(item.get("project_id") or ""), []).append(item)
    return list(groups.items())


def filters(app: App, show: str, kind: str, kinds: list[str], counts: dict[str, int]) -> Any:
    def go(next_show: str, next_kind: str) -> Any:
        return lambda *_: app.navigate(href("/inbox", show=None if next_show == "all" else next_show,
                                            kind=next_kind or None))

    shows = [button(app.t(f"inbox.filter_{name}") + (f" {counts[name]}" if counts.get(name) else ""),
                    go(name, kind), className="", key=name,
                    **{"data-show": name, "aria-pressed": str(name == show).lower()}) for name in SHOWS]
    kind_buttons = [button(app.t(f"inbox.kind.{name}"), go(show, "" if name == kind else name), className="",
                           key=f"kind-{name}", **{"data-kind": name, "aria-pressed": str(name == kind).lower()})
                    for name in kinds]
    return html.div(
        {"className": "stack", "id": "inbox-filters", "role": "group", "aria-label": app.t("inbox.filters")},
        html.div({"className": "filter-chips", "id": "inbox-show"}, *shows),
        html.div({"className": "filter-chips", "id": "inbox-kinds", "aria-label": app.t("inbox.kinds")},
                 *kind_buttons) if len(kinds) > 1 or kind else "",
    )


@guarded
def screen(app: App) -> Any:
    show = app.route.param("show", "all")
    show = show if show in SHOWS else "all"
    kind = app.route.param("kind")
    limit, set_limit = use_state(PAGE)
    me = str(app.actor.id)
    query = use_live_query(app, lambda: load(app, show, kind, limit), app.route.path, app.lang, limit,
                           watch=[("inbox_items", {"user": me}), ("inbox_items", {"owner": me})])
    state = query_state(app, query)
    if state is not None:
        return html.main({"className": "screen"}, state)
    data = query.data
    items = data["items"]

    def opener(item: dict[str, Any]) -> Any:
        async def open_item(actor: Any, _: Any) -> None:
            if not item.get("read_at"):
                await inbox.mark_read(actor, item["id"])
                app.changed()
        return action(app, open_item)

    async def read_all(actor: Any, _: Any) -> None:
        await inbox.mark_all_read(actor)
        app.changed()
        query.reload()

    def entry(item: dict[str, Any]) -> Any:
        read = bool(item.get("read_at"))
        return html.li(
            {"key": str(item["id"]), "data-id": str(item["id"]), "data-kind": item["kind"],
             "data-read": "true" if read else "false", "data-urgent": "true" if item["urgent"] else "false",
             "id": f"alert-{item['id']}"},
            html.a({"href": in_app_link(item.get("link") or "/"), "data-nav": "", "className": "list-link inbox-item",
                    "onClick": opener(item)},
                   html.div({"className": "grow"},
                            html.div({"className": "title", "style": {"fontWeight": "400" if read else "700"}},
                                     item["title"]),
                            html.div({"className": "meta"}, item.get("body", "")),
                            html.div({"className": "meta"}, app.fmt.datetime(item["created_at"]))),
                   chip(app.t("inbox.urgent"), "danger") if item["urgent"] else "",
                   chip(app.t("inbox.new"), "warn") if not read else "",
                   html.span({"className": "chevron", "aria-hidden": "true"}, "›")))

    groups = grouped(items)
    return html.main(
        {"className": "screen", "id": "inbox"},
        filters(app, show, kind, data["kinds"], {"unread": data["unread"], "urgent": data["urgent"]}),
        card(
            html.div({"id": "inbox-items"}, *[
                html.section({"className": "inbox-group", "key": project or "other",
                              "data-project": project},
                             html.h3({"className": "group-title"},
                                     group[0].get("project_title") or app.t("inbox.other")),
                             html.ul({"className": "list"}, *[entry(item) for item in group]))
                for project, group in groups]) if items else empty(app.t("inbox.empty")),
            button(app.t("inbox.more"), lambda *_: set_limit(limit + PAGE), "secondary block", id="inbox-more")
            if data["total"] > len(items) else "",
            button(app.t("inbox.read_all"), action(app, read_all), "secondary block", id="read-all")
            if data["unread"] else "",
            title=app.t("screen.inbox"), count=data["unread"],
        ),
    )
