"""Client profile: tags, budget, area, intent (edited in place), opportunities (and a new one, and a project from
the client), visits (and scheduling one), similar clients and the client's timeline (notes, visit notes, visits,
photos, moves), with the note form on top of it."""

from __future__ import annotations

import uuid
from typing import Any

from reactpy import html, use_state

from backend.clients.schemas import OpportunityCreate, OpportunityUpdate
from backend.clients.services import CLIENTS, OPPORTUNITIES, Similarity, similar_clients
from backend.errors import Invalid
from backend.handover import services as handover
from backend.projects.services import PROJECTS
from backend.visits.services import NOTES, VISITS, create_note
from pwa.screens import common, forms
from pwa.screens.client_form import client_form
from pwa.screens.project_form import new_project_button
from pwa.screens.timeline import timeline
from pwa.screens.visit_form import visit_form
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
    collision = None
    agent_id = common.parse_uuid(app.route.param("collision"))
    if agent_id is not None and CLIENTS.may(actor, "reassign"):
        collision = {"agent_id": agent_id, "agent": await collision_agent(actor, client, agent_id)}
    return {"client": client, "opportunities": opportunities, "visits": visits, "notes": notes, "similar": similar,
            "can_add_opportunity": OPPORTUNITIES.may(actor, "create"), "can_note": NOTES.may(actor, "create"),
            "can_edit": CLIENTS.may(actor, "update"), "can_visit": VISITS.may(actor, "create"),
            "can_project": PROJECTS.may(actor, "create"), "collision": collision}


async def collision_agent(actor: Any, client: dict[str, Any], agent_id: Any) -> str:
    """The name of the agent who tried to register this client's phone, if the manager may give it to them."""
    candidates = await handover.assignable_users(actor, "client", [client])
    return next((u["display_name"] for u in candidates.get(client["id"], []) if u["id"] == agent_id), "")


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
def opportunity_form(app: App, client: dict[str, Any] | None, opportunity: dict[str, Any] | None, on_saved: Any,
                     on_cancel: Any) -> Any:
    """A new opportunity of `client`, or an edit of `opportunity` (title, value), each refusal under its field."""
    errors, set_errors = forms.use_form_errors()
    names = {"title": app.t("opportunity.title"), "value": app.t("opportunity.value")}
    form_id = "opportunity-form" if opportunity else "new-opportunity-form"

    async def save(actor: Any, data: Any) -> None:
        values = {"title": forms.text(data, "title"), "value": forms.amount(data, "value", required=False) or 0}
        if opportunity is None:
            assert client is not None
            checked = forms.checked(OpportunityCreate, {**values, "client_id": str(client["id"])})
            await OPPORTUNITIES.create(actor, checked)
            app.notify(app.t("opportunity.created"), "ok")
        else:
            checked = forms.checked(OpportunityUpdate, {**values, "version": opportunity["version"]})
            checked.pop("version", None)
            await OPPORTUNITIES.update(actor, opportunity["id"], opportunity["version"], checked)
            app.notify(app.t("opportunity.saved"), "ok")
        on_saved()

    default_title = opportunity["title"] if opportunity else app.t(
        "opportunity.default_title", area=(client or {}).get("area_preference") or (client or {}).get("name", ""))
    value = (opportunity or {}).get("value")
    return form(
        forms.submit(app, names, set_errors, save),
        forms.top_error(errors, form_id),
        forms.field("title", names["title"], forms.input_("title", errors, defaultValue=default_title), errors,
                    form_id),
        forms.field("value", names["value"], forms.input_("value", errors, inputMode="decimal", placeholder="500000",
                                                          defaultValue=str(value) if value else ""), errors, form_id),
        html.div({"className": "actions"},
                 html.button({"className": "button", "type": "submit"}, app.t("common.save")),
                 button(app.t("common.cancel"), lambda *_: on_cancel(), "secondary")),
        className="stack", id=form_id, noValidate=True,
    )


@guarded
def new_opportunity(app: App, client: dict[str, Any], on_created: Any) -> Any:
    open_, set_open = use_state(False)
    if not open_:
        return button(app.t("opportunity.new"), lambda *_: set_open(True), "secondary block", id="new-opportunity")

    def saved() -> None:
        set_open(False)
        on_created()

    return opportunity_form(app, client, None, saved, lambda: set_open(False))


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
                note_times(app, n))
        for n in notes])


def note_times(app: App, note: dict[str, Any]) -> Any:
    """When it was written (on the phone, maybe offline) beside when the server received it, if they differ."""
    written, received = note.get("written_at"), note["created_at"]
    style = {"className": "muted small note-times", "style": {"paddingBottom": "8px"}}
    if written is None or abs((received - written).total_seconds()) < 60:
        return html.p(style, app.fmt.datetime(written or received))
    return html.p(style,
                  html.span({"className": "note-written"}, app.t("note.written", when=app.fmt.datetime(written))),
                  " · ", html.span({"className": "note-received"},
                                   app.t("note.received", when=app.fmt.datetime(received))),
                  html.span({"className": "chip warn", "style": {"marginLeft": "6px"}, "data-flag": "clock-skew"},
                            app.t("note.clock_skewed")) if note.get("clock_skewed") else "")


@guarded
def collision_card(app: App, client: dict[str, Any], collision: dict[str, Any], on_done: Any) -> Any:
    """客源撞单: the branch manager keeps the client with its owner or transfers it to the agent who tried."""

    async def transfer(actor: Any, _: Any) -> None:
        await CLIENTS.reassign(actor, client["id"], collision["agent_id"], client["version"])
        app.notify(app.t("collision.transferred", agent=collision["agent"]), "ok")
        app.navigate(f"/clients/{client['id']}", True)
        on_done()

    def keep(*_: Any) -> None:
        app.notify(app.t("collision.kept"), "ok")
        app.navigate(f"/clients/{client['id']}", True)

    return card(
        html.p(app.t("collision.explain", agent=collision["agent"] or "—", phone=client.get("phone") or "")),
        html.div({"className": "actions"},
                 button(app.t("collision.keep"), keep, "secondary", id="collision-keep"),
                 button(app.t("collision.transfer", agent=collision["agent"]), action(app, transfer),
                        id="collision-transfer") if collision["agent"] else ""),
        title=app.t("collision.title"), id="collision",
    )


@guarded
def profile(app: App, client: dict[str, Any], can_edit: bool, on_saved: Any) -> Any:
    editing, set_editing = use_state(False)
    phone = client.get("phone")
    tags = client.get("tags") or []

    def saved(_: Any) -> None:
        set_editing(False)
        on_saved()

    if editing:
        return card(client_form(app, client, saved, lambda: set_editing(False)), title=app.t("client.edit"),
                    id="client-profile")
    return card(
        html.div({"className": "spread"}, html.h2({"id": "client-name"}, client["name"]),
                 html.a({"className": "button secondary", "href": f"tel:{phone}"}, app.t("client.call"))
                 if phone else ""),
        html.div({"className": "chips", "id": "client-tags", "style": {"margin": "8px 0"}},
                 *[chip(tag, key=tag) for tag in tags]),
        facts(
            (app.t("client.intent"), common.label(app.lang, "intent", client.get("intent", ""))),
            (app.t("client.budget"), html.span({"id": "client-budget"}, common.budget_text(
                app, client.get("budget_min"), client.get("budget_max")))),
            (app.t("client.area"), client.get("area_preference", "")),
            (app.t("client.source"), common.label(app.lang, "source", client.get("source", ""))),
            (app.t("client.phone"), phone or ""),
            (app.t("client.private_notes"), client.get("private_notes", "")),
        ),
        button(app.t("client.edit"), lambda *_: set_editing(True), "secondary block", id="edit-client")
        if can_edit else "",
        id="client-profile",
    )


@guarded
def visits_card(app: App, client: dict[str, Any], visits: list[dict[str, Any]], can_visit: bool,
                on_saved: Any) -> Any:
    scheduling, set_scheduling = use_state(False)

    def saved(visit: Any) -> None:
        set_scheduling(False)
        on_saved()

    return card(
        html.ul({"className": "list", "id": "client-visits"}, *[
            html.li({"key": str(v["id"]), "data-id": str(v["id"])},
                    list_link(f"/visits/{v['id']}", app.fmt.datetime(v["scheduled_at"]), v["address"],
                              trail=chip(app.t(f"visit_status.{v['status']}"), "plain")))
            for v in visits]) if visits else empty(app.t("visit.none")),
        (visit_form(app, client, None, saved, lambda: set_scheduling(False)) if scheduling else
         button(app.t("visit.schedule"), lambda *_: set_scheduling(True), "secondary block", id="schedule-visit"))
        if can_visit else "",
        title=app.t("client.visits"), count=len(visits),
    )


@guarded
def screen(app: App) -> Any:
    client_id = app.route.item_id
    query = use_query(lambda: load(app, client_id), str(client_id), app.route.param("collision"))
    saves, set_saves = use_state(0)
    state = query_state(app, query)
    if state is not None:
        return html.main({"className": "screen"}, state)
    data = query.data
    client = data["client"]

    def changed(*_: Any) -> None:
        set_saves(saves + 1)
        query.reload()

    return html.main(
        {"className": "screen", "id": "client", "data-id": str(client["id"])},
        collision_card(app, client, data["collision"], query.reload) if data["collision"] else "",
        profile(app, client, data["can_edit"], changed, key=f"profile:{client['version']}"),
        card(
            html.ul({"className": "list", "id": "client-opportunities"},
                    *[opportunity_row(app, o) for o in data["opportunities"]]) if data["opportunities"]
            else empty(app.t("opportunity.none")),
            new_opportunity(app, client, query.reload) if data["can_add_opportunity"] else "",
            new_project_button(app, client) if data["can_project"] else "",
            title=app.t("client.opportunities"), count=len(data["opportunities"]),
        ),
        visits_card(app, client, data["visits"], data["can_visit"], changed),
        card(
            html.ul({"className": "list", "id": "similar-clients"}, *[
                html.li({"key": str(other["id"]), "data-id": str(other["id"]), "className": "similar-row"},
                        list_link(f"/clients/{other['id']}", other["name"], reason_text(app, similarity),
                                  trail=chip(app.fmt.percent(similarity.score), "plain")))
                for other, similarity in data["similar"]]) if data["similar"] else empty(app.t("similar.none")),
            title=app.t("client.similar"), count=len(data["similar"]),
        ),
        card(note_form(app, "client", client["id"], changed) if data["can_note"] else "",
             timeline(app, "client", client["id"], saves),
             title=app.t("client.notes"), id="client-history"),
        link("/clients", app.t("client.back_to_list"), class_name="button secondary"),
    )
