"""Visit detail: time, address, client, status, notes and photos (with capture)."""

from __future__ import annotations

import uuid
from typing import Any

from reactpy import html, use_state
from reactpy.reactjs import component_from_url

from backend.clients.services import CLIENTS
from backend.errors import NotFound
from backend.photos import services as photo_service
from backend.visits.services import NOTES, VISITS
from pwa import assets
from pwa.live import use_live_query
from pwa.screens import common, photos
from pwa.screens.client import notes_list
from pwa.screens.visit_form import visit_form
from pwa.ui import App, action, button, card, chip, facts, guarded, link, query_state

# The notes box is the field kit's (pwa/static/fieldkit/notes.js): a note goes through the outbox, what is typed is
# kept as a draft on the phone, and notes still waiting show as such until the server has them.
VisitNotes = component_from_url(assets.url("fieldkit/notes.js"), "VisitNotes")


async def load(app: App, visit_id: uuid.UUID) -> dict[str, Any]:
    actor = await app.ensure_actor()
    visit = await common.one(actor, VISITS, visit_id)
    try:
        client = await common.one(actor, CLIENTS, visit["client_id"])
    except NotFound:
        client = None
    notes = await common.page(actor, NOTES, filters={"visit": visit_id}, limit=100)
    return {"visit": visit, "client": client, "notes": notes, "can_photo": photo_service.may(actor, "create"),
            "can_note": NOTES.may(actor, "create"), "can_update": VISITS.may(actor, "update")}


@guarded
def plan_tools(app: App, visit: dict[str, Any], client: dict[str, Any] | None, on_changed: Any) -> Any:
    """Reschedule (the same form as scheduling, clash flagged) or cancel after a confirmation."""
    mode, set_mode = use_state("")

    async def cancel(actor: Any, _: Any) -> None:
        await VISITS.update(actor, visit["id"], visit["version"], {"status": "cancelled"})
        app.notify(app.t("visit.cancelled"), "ok")
        set_mode("")
        on_changed()

    if mode == "reschedule":
        return visit_form(app, client or {"id": visit["client_id"]}, visit, lambda _: (set_mode(""), on_changed()),
                          lambda: set_mode(""))
    if mode == "cancel":
        return html.div({"className": "stack", "id": "cancel-visit-confirm"},
                        html.p({"className": "message warn"}, app.t("visit.confirm_cancel")),
                        html.div({"className": "actions"},
                                 button(app.t("visit.cancel"), action(app, cancel), "danger", id="confirm-cancel"),
                                 button(app.t("visit.keep"), lambda *_: set_mode(""), "secondary")))
    return html.div({"className": "actions"},
                    button(app.t("visit.reschedule"), lambda *_: set_mode("reschedule"), "secondary",
                           id="reschedule-visit"),
                    button(app.t("visit.cancel"), lambda *_: set_mode("cancel"), "secondary", id="cancel-visit"))


@guarded
def screen(app: App) -> Any:
    visit_id = app.route.item_id
    query = use_live_query(app, lambda: load(app, visit_id), str(visit_id),
                           watch=[("visits", {"id": visit_id}), ("notes", {"visit": visit_id})])
    state = query_state(app, query)
    if state is not None:
        return html.main({"className": "screen"}, state)
    data = query.data
    visit, client = data["visit"], data["client"]

    async def mark_done(actor: Any, _: Any) -> None:
        await VISITS.update(actor, visit["id"], visit["version"], {"status": "done"})
        query.reload()

    status = visit.get("status", "planned")
    planning = plan_tools(app, visit, client, query.reload, key=f"plan:{visit['version']}") \
        if status == "planned" and data["can_update"] else ""
    return html.main(
        {"className": "screen", "id": "visit", "data-id": str(visit["id"])},
        card(
            html.div({"className": "spread"},
                     html.h2(app.fmt.datetime(visit["scheduled_at"])),
                     chip(app.t(f"visit_status.{status}"), "ok" if status == "done" else "plain", id="visit-status")),
            facts(
                (app.t("visit.client"), link(f"/clients/{client['id']}", client["name"]) if client
                 else app.t("visit.client_hidden")),
                (app.t("visit.address"), visit["address"]),
                (app.t("visit.duration"), app.t("visit.minutes", count=visit.get("duration_minutes", 60))),
                (app.t("visit.summary"), visit.get("summary", "")),
            ),
            html.div({"className": "actions", "style": {"marginTop": "10px"}},
                     button(app.t("visit.mark_done"), action(app, mark_done, done="visit.marked_done"), id="visit-done")
                     if status == "planned" and data["can_update"] else ""),
            planning,
        ),
        card(photos.gallery(app, "visit", visit["id"], data["can_photo"]), title=app.t("visit.photos")),
        card(notes_list(app, data["notes"]),
             VisitNotes({"parentKind": "visit", "parentId": str(visit["id"]), "lang": app.lang,
                         "onSynced": lambda *_: query.reload()}) if data["can_note"] else "",
             title=app.t("visit.notes"), count=len(data["notes"])),
    )
