"""A client's or a project's timeline on screen: newest first, a page at a time (backend.timeline.services)."""

from __future__ import annotations

from typing import Any

from reactpy import html, use_state

from backend.timeline.schemas import TimelineItem
from backend.timeline.services import client_timeline, project_timeline
from pwa.screens import common
from pwa.ui import App, button, empty, guarded, link, query_state, use_query

PAGE = 20
ICONS = {"note": "✎", "visit": "⌂", "photo": "▣", "opportunity": "◆", "stage": "➜", "milestone": "✓",
         "reassignment": "⇄", "collection": "¥"}


def describe(app: App, item: TimelineItem, names: dict[str, dict[str, str]] | None) -> Any:
    kind = item.kind
    if kind == "note":
        return html.span({"style": {"whiteSpace": "pre-wrap"}}, item.text)
    if kind == "visit":
        return app.t("timeline.visit", address=item.text, status=app.t(f"visit_status.{item.state}"))
    if kind == "photo":
        return app.t("timeline.photo")
    if kind == "opportunity":
        words = app.t("timeline.opportunity_reopened") if item.state == "reopen" else app.t(
            "timeline.opportunity", state=app.t(f"opportunity_state.{item.state}")
            if item.state in ("potential", "following", "won", "lost") else item.state)
        return f"{words}{app.t('timeline.reason', reason=item.text) if item.text else ''}"
    if kind == "stage":
        stage = common.stage_name(app, item.stage_key, names)
        key = {"entered": "timeline.stage_entered", "won": "timeline.won", "lost": "timeline.lost",
               "sent_back": "timeline.sent_back"}.get(item.state, "timeline.stage_entered")
        return app.t(key, stage=stage) + (app.t("timeline.reason", reason=item.text) if item.text else "")
    if kind == "milestone":
        return app.t("timeline.milestone", title=item.text_en if app.lang == "en" and item.text_en else item.text)
    if kind == "reassignment":
        return app.t("timeline.reassigned") + (app.t("timeline.reason", reason=item.text) if item.text else "")
    if kind == "collection":
        words = app.t("timeline.collection", amount=app.fmt.money(item.amount),
                      method=app.t(f"payment.{item.text}") if item.text else "")
        return f"{words} {app.t('timeline.voided')}" if item.state == "voided" else words
    return item.text


def entry(app: App, item: TimelineItem, names: dict[str, dict[str, str]] | None) -> Any:
    who = item.actor_name or app.t("timeline.system")
    body = describe(app, item, names)
    if item.link and item.link.startswith("/") and not item.link.startswith("/api/"):
        body = link(item.link, body, class_name="timeline-link")
    return html.li(
        {"key": f"{item.kind}:{item.id}", "className": "timeline-item", "data-kind": item.kind,
         "data-id": str(item.id), "style": {"display": "flex", "gap": "10px", "padding": "8px 0",
                                              "borderBottom": "1px solid var(--line)"}},
        html.span({"aria-hidden": "true", "style": {"width": "1.5em", "textAlign": "center"}}, ICONS[item.kind]),
        html.div({"className": "grow"},
                 html.div(body),
                 html.div({"className": "small muted"}, f"{who} · {app.fmt.datetime(item.at)}")),
    )


@guarded
def timeline(app: App, parent: str, parent_id: Any, version: int = 0,
             names: dict[str, dict[str, str]] | None = None) -> Any:
    """`version` changes when the screen saved something (a note, a visit): the first page is read again."""
    shown, set_shown = use_state(PAGE)

    async def load() -> Any:
        actor = await app.ensure_actor()
        read = client_timeline if parent == "client" else project_timeline
        return await read(actor, parent_id, limit=shown)

    query = use_query(load, str(parent_id), shown, version)
    state = query_state(app, query)
    if state is not None:
        return html.div({"id": f"{parent}-timeline"}, state)
    page = query.data
    return html.div(
        {"id": f"{parent}-timeline", "data-total": str(page.total)},
        html.ol({"className": "list timeline-list", "style": {"listStyle": "none", "padding": 0, "margin": 0}},
                *[entry(app, item, names) for item in page.items]) if page.items else empty(app.t("timeline.none")),
        button(app.t("common.more", count=page.total - len(page.items)), lambda *_: set_shown(shown + PAGE),
               "secondary block", id=f"{parent}-timeline-more") if page.total > len(page.items) else "",
    )
