"""Client profile: tags, budget, area, intent, opportunities (and a new one), visits, notes and similar clients."""

from __future__ import annotations

import decimal
import uuid
from typing import Any

from reactpy import html, use_state

from backend.clients.services import CLIENTS, OPPORTUNITIES, Similarity, similar_clients
from backend.errors import Invalid
from backend.visits.services import NOTES, VISITS, create_note
from pwa.screens import common
from pwa.ui import (
    App,
    action,
    button,
    card,
    chip,
    empty,
    facts,
    form,
    form_value,
    guarded,
    link,
    list_link,
    query_state,
    use_query,
)


async def load(app: App, client_id: uuid.UUID) -> dict[str, Any]:
    actor = await app.ensure_actor()
    client = await common.one(actor, CLIENTS, client_id)
    opportunities = await common.page(actor, OPPORTUNITIES, filters={"client": client_id}, limit=100)
    visits = await common.page(actor, VISITS, filters={"client": client_id}, limit=50)
    visits.sort(key=lambda v: v["scheduled_at"], reverse=True)
    notes = await common.page(actor, NOTES, filters={"client": client_id}, limit=50)
    similar = [(common.plain(c), s) for c, s in await similar_clients(actor, client_id)]
    return {"client": client, "opportunities": opportunities, "visits": visits, "notes": notes, "similar": similar,
            "can_add_opportunity": OPPORTUNITIES.may(actor, "create"), "can_note": NOTES.may(actor, "create")}


def reason_text(app: App, similarity: Similarity) -> str:
    parts = []
    for reason in similarity.reasons:
        if reason.kind == "tags":
            parts.append(app.t("similar.tags", tags="、".join(reason.detail) if app.lang == "zh"
                               else ", ".join(reason.detail)))
        elif reason.kind == "budget":
            parts.append(app.t("similar.budget", share=app.fmt.percent(reason.share)))
        elif reason.kind == "area":
            parts.append(app.t("similar.area", area=reason.detail[0]))
        elif reason.kind == "intent":
            parts.append(app.t("similar.intent", intent=common.label(app.lang, "intent", reason.detail[0])))
    return " · ".join(parts)


def opportunity_row(app: App, opportunity: dict[str, Any]) -> Any:
    state = opportunity["state"]
    tone = {"won": "ok", "lost": "danger", "following": ""}.get(state, "plain")
    return html.li(
        {"key": str(opportunity["id"]), "data-id": str(opportunity["id"]), "className": "opportunity-row"},
        list_link(f"/pipeline?state={state}", opportunity["title"], app.fmt.money(opportunity.get("value")),
                  trail=chip(app.t(f"opportunity_state.{state}"), tone)),
    )


@guarded
def new_opportunity(app: App, client: dict[str, Any], on_created: Any) -> Any:
    open_, set_open = use_state(False)
    error, set_error = use_state("")

    async def create(actor: Any, data: Any) -> None:
        title = form_value(data, "title").strip()
        raw_value = form_value(data, "value").replace(",", "").strip() or "0"
        try:
            value = decimal.Decimal(raw_value)
        except decimal.InvalidOperation:
            set_error(app.t("opportunity.bad_value"))
            return
        if not title:
            set_error(app.t("opportunity.need_title"))
            return
        await OPPORTUNITIES.create(actor, {"client_id": client["id"], "title": title, "value": value})
        set_error("")
        set_open(False)
        app.notify(app.t("opportunity.created"), "ok")
        on_created()

    if not open_:
        return button(app.t("opportunity.new"), lambda *_: set_open(True), "secondary block", id="new-opportunity")
    return form(
        action(app, create),
        html.p({"className": "message error", "role": "alert"}, error) if error else "",
        html.label({"className": "field"}, app.t("opportunity.title"),
                   html.input({"className": "input", "name": "title", "required": True, "maxLength": 200,
                               "defaultValue": app.t("opportunity.default_title",
                                                     area=client.get("area_preference") or client["name"])})),
        html.label({"className": "field"}, app.t("opportunity.value"),
                   html.input({"className": "input", "name": "value", "inputMode": "decimal",
                               "placeholder": "500000"})),
        html.div({"className": "actions"},
                 html.button({"className": "button", "type": "submit"}, app.t("common.save")),
                 button(app.t("common.cancel"), lambda *_: set_open(False), "secondary")),
        className="stack", id="new-opportunity-form",
    )


@guarded
def note_form(app: App, parent: str, parent_id: Any, on_created: Any) -> Any:
    version, set_version = use_state(0)

    async def create(actor: Any, data: Any) -> None:
        body = form_value(data, "body").strip()
        if not body:
            raise Invalid("empty", field="body")
        await create_note(actor, {f"{parent}_id": parent_id, "body": body[:5000]})
        set_version(version + 1)  # a fresh, empty textarea
        app.notify(app.t("note.saved"), "ok")
        on_created()

    return form(
        action(app, create),
        html.textarea({"className": "input", "name": "body", "rows": 3, "maxLength": 5000, "key": f"body-{version}",
                       "placeholder": app.t("note.placeholder"), "aria-label": app.t("note.placeholder")}),
        html.button({"className": "button", "type": "submit"}, app.t("note.add")),
        className="stack", id="note-form",
    )


def notes_list(app: App, notes: list[dict[str, Any]]) -> Any:
    if not notes:
        return empty(app.t("note.none"))
    return html.ul({"className": "list notes"}, *[
        html.li({"key": str(n["id"]), "data-id": str(n["id"]), "className": "note"},
                html.p({"style": {"padding": "8px 0 2px", "whiteSpace": "pre-wrap"}}, n["body"]),
                html.p({"className": "muted small", "style": {"paddingBottom": "8px"}},
                       app.fmt.datetime(n["created_at"])))
        for n in notes])


@guarded
def screen(app: App) -> Any:
    client_id = app.route.item_id
    query = use_query(lambda: load(app, client_id), str(client_id))
    state = query_state(app, query)
    if state is not None:
        return html.main({"className": "screen"}, state)
    data = query.data
    client = data["client"]
    phone = client.get("phone")
    tags = client.get("tags") or []
    return html.main(
        {"className": "screen", "id": "client", "data-id": str(client["id"])},
        card(
            html.div({"className": "spread"}, html.h2({"id": "client-name"}, client["name"]),
                     html.a({"className": "button secondary", "href": f"tel:{phone}"}, app.t("client.call"))
                     if phone else ""),
            html.div({"className": "chips", "id": "client-tags", "style": {"margin": "8px 0"}},
                     *[chip(tag, key=tag) for tag in tags]),
            facts(
                (app.t("client.intent"), common.label(app.lang, "intent", client.get("intent", ""))),
                (app.t("client.budget"), common.budget_text(app, client.get("budget_min"), client.get("budget_max"))),
                (app.t("client.area"), client.get("area_preference", "")),
                (app.t("client.source"), common.label(app.lang, "source", client.get("source", ""))),
                (app.t("client.phone"), phone or ""),
                (app.t("client.private_notes"), client.get("private_notes", "")),
            ),
        ),
        card(
            html.ul({"className": "list", "id": "client-opportunities"},
                    *[opportunity_row(app, o) for o in data["opportunities"]]) if data["opportunities"]
            else empty(app.t("opportunity.none")),
            new_opportunity(app, client, query.reload) if data["can_add_opportunity"] else "",
            title=app.t("client.opportunities"), count=len(data["opportunities"]),
        ),
        card(
            html.ul({"className": "list", "id": "similar-clients"}, *[
                html.li({"key": str(other["id"]), "data-id": str(other["id"]), "className": "similar-row"},
                        list_link(f"/clients/{other['id']}", other["name"], reason_text(app, similarity),
                                  trail=chip(app.fmt.percent(similarity.score), "plain")))
                for other, similarity in data["similar"]]) if data["similar"] else empty(app.t("similar.none")),
            title=app.t("client.similar"), count=len(data["similar"]),
        ),
        card(
            html.ul({"className": "list", "id": "client-visits"}, *[
                html.li({"key": str(v["id"]), "data-id": str(v["id"])},
                        list_link(f"/visits/{v['id']}", app.fmt.datetime(v["scheduled_at"]), v["address"],
                                  trail=chip(app.t(f"visit_status.{v['status']}"), "plain")))
                for v in data["visits"]]) if data["visits"] else empty(app.t("visit.none")),
            title=app.t("client.visits"), count=len(data["visits"]),
        ),
        card(notes_list(app, data["notes"]),
             note_form(app, "client", client["id"], query.reload) if data["can_note"] else "",
             title=app.t("client.notes"), count=len(data["notes"])),
        link("/clients", app.t("client.back_to_list"), class_name="button secondary"),
    )
