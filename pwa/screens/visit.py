"""Visit detail: time, address, client, status, notes and photos (with capture)."""

from __future__ import annotations

import uuid
from typing import Any

from reactpy import html

from backend import access, records
from backend.clients.services import CLIENT_SPEC
from backend.errors import NotFound
from backend.visits.services import NOTE_SPEC, VISIT_SPEC
from pwa.screens import photos
from pwa.screens.client import note_form, notes_list
from pwa.ui import App, action, button, card, chip, facts, guarded, link, query_state, use_query


async def load(app: App, visit_id: uuid.UUID) -> dict[str, Any]:
    actor = await app.ensure_actor()
    visit = await records.get_record(actor, VISIT_SPEC, visit_id)
    try:
        client = await records.get_record(actor, CLIENT_SPEC, visit["client_id"])
    except NotFound:
        client = None
    notes = (await records.list_records(actor, NOTE_SPEC, filters={"visit": visit_id}, limit=100)).items
    return {"visit": visit, "client": client, "notes": notes, "can_photo": access.can(actor, "create", "photo"),
            "can_note": access.can(actor, "create", "note"), "can_update": access.can(actor, "update", "visit")}


@guarded
def screen(app: App) -> Any:
    visit_id = app.route.item_id
    query = use_query(lambda: load(app, visit_id), str(visit_id))
    state = query_state(app, query)
    if state is not None:
        return html.main({"className": "screen"}, state)
    data = query.data
    visit, client = data["visit"], data["client"]

    async def mark_done(actor: Any, _: Any) -> None:
        await records.update_record(actor, VISIT_SPEC, visit["id"], visit["version"], {"status": "done"})
        query.reload()

    status = visit.get("status", "planned")
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
        ),
        card(photos.gallery(app, "visit", visit["id"], data["can_photo"]), title=app.t("visit.photos")),
        card(notes_list(app, data["notes"]),
             note_form(app, "visit", visit["id"], query.reload) if data["can_note"] else "",
             title=app.t("visit.notes"), count=len(data["notes"])),
    )
