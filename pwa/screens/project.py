"""Project detail: stage timeline, milestone checklist with due/overdue, advance or send back (showing the guard's
message), team, amounts and collections, notes and the photo gallery with capture."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from reactpy import html, use_state

from backend.clients.services import CLIENTS
from backend.errors import Invalid, NotFound, ServiceError
from backend.handover import services as handover
from backend.lifecycle import services as life
from backend.photos import services as photo_service
from backend.projects.services import PROJECTS, team
from backend.visits.services import NOTES
from pwa.live import use_live_query
from pwa.screens import common, manager, payments, photos
from pwa.screens.client import note_form
from pwa.screens.timeline import timeline as history
from pwa.ui import (
    App,
    action,
    button,
    card,
    chip,
    empty,
    error_text,
    facts,
    form,
    form_value,
    guarded,
    link,
    query_state,
)


async def load(app: App, project_id: uuid.UUID) -> dict[str, Any]:
    actor = await app.ensure_actor()
    project = await common.one(actor, PROJECTS, project_id)
    client = None
    if project.get("client_id"):
        try:
            client = await common.one(actor, CLIENTS, project["client_id"])
        except NotFound:
            client = None
    lifecycle = await life.project_lifecycle(actor, project)
    assignable = await handover.assignable_users(actor, "milestone", lifecycle["milestones"]) \
        if lifecycle["can_reassign"] else {}
    return {
        "project": project, "client": client, "lifecycle": lifecycle, "assignable": assignable,
        "members": common.plain(await team(actor, project_id)),
        "notes": await common.page(actor, NOTES, filters={"project": project_id}, limit=100)
        if NOTES.may(actor, "list") else [],
        "can_photo": photo_service.may(actor, "list"), "can_add_photo": photo_service.may(actor, "create"),
        "can_note": NOTES.may(actor, "create"), "can_reopen": life.can_reopen_project(actor, project),
    }


def timeline(app: App, lifecycle: dict[str, Any]) -> Any:
    return html.ol({"className": "timeline", "id": "stage-timeline"}, *[
        html.li({"key": stage["key"], "className": stage["state"], "data-stage": stage["key"],
                 "aria-current": "step" if stage["state"] == "current" else "false"},
                stage.get(app.lang) or stage.get("zh") or common.stage_name(app, stage["key"]))
        for stage in lifecycle["stages"]])


@guarded
def reopen_tool(app: App, milestone: dict[str, Any], title: str, on_changed: Any) -> Any:
    """Undo a check-off: asks why, then the milestone is open again with its deadline."""
    asking, set_asking = use_state(False)

    async def reopen(actor: Any, data: Any) -> None:
        reason = form_value(data, "reason").strip()
        if not reason:
            raise Invalid("Say why", field="reason")
        await life.reopen_milestone(actor, milestone, reason)
        app.notify(app.t("project.reopened", title=title), "ok")
        on_changed()

    if not asking:
        return button(app.t("project.reopen"), lambda *_: set_asking(True), "secondary",
                      **{"data-action": "reopen"})
    return form(action(app, reopen),
                html.label({"className": "field"}, app.t("project.reopen_reason"),
                           html.input({"className": "input", "name": "reason", "autoFocus": True})),
                html.div({"className": "actions"},
                         html.button({"className": "button", "type": "submit"}, app.t("project.reopen")),
                         button(app.t("common.cancel"), lambda *_: set_asking(False), "secondary")),
                className="stack reopen-form")


@guarded
def milestone_check(app: App, milestone: dict[str, Any], candidates: list[dict[str, Any]], can_reassign: bool,
                    on_changed: Any) -> Any:
    done = milestone["state"] == "done"
    title = milestone.get(f"title_{app.lang}") or milestone.get("title_zh") or ""

    async def complete(actor: Any, _: Any) -> None:
        await life.complete_milestone(actor, milestone)
        app.notify(app.t("project.milestone_done", title=title), "ok")
        on_changed()

    return html.li(
        {"className": "check milestone", "data-id": str(milestone["id"]), "data-state": milestone["state"],
         "id": f"milestone-{milestone['id']}"},
        button(html.span({"aria-hidden": "true", "style": {"fontSize": "1.3rem"}}, "☑" if done else "☐"),
               action(app, complete), className="icon-button", role="checkbox",
               **{"aria-checked": str(done).lower(), "aria-label": title, "disabled": not milestone.get("can_complete"),
                  "data-action": "toggle", "style": {"color": "var(--brand)"}}),
        html.div({"className": "grow"},
                 html.div({"style": {"textDecoration": "line-through" if done else "none"}}, title),
                 html.div({"className": "row small muted"},
                          milestone.get("owner_name", ""),
                          "" if done else common.overdue_chip(app, milestone.get("due_at"),
                                                              milestone.get("escalation_level", 0)),
                          chip(app.t("project.done_at", when=app.fmt.datetime(milestone.get("done_at"))), "ok")
                          if done and milestone.get("done_at") else ""),
                 manager.milestone_tools(app, milestone, candidates, on_changed)
                 if can_reassign and milestone["state"] == "open" else "",
                 reopen_tool(app, milestone, title, on_changed) if milestone.get("can_reopen") else "",
                 review_tools(app, milestone, on_changed) if milestone.get("can_reject") else ""),
    )


@guarded
def review_tools(app: App, milestone: dict[str, Any], on_changed: Any) -> Any:
    """A legal review is approved by checking it off, or rejected here with a comment (back to its previous
    owner, who is told)."""
    rejecting, set_rejecting = use_state(False)

    async def reject(actor: Any, data: Any) -> None:
        await life.reject_review(actor, milestone, form_value(data, "comment"))
        set_rejecting(False)
        app.notify(app.t("project.review_rejected"), "ok")
        on_changed()

    if not rejecting:
        return html.div({"className": "actions"},
                        button(app.t("project.reject_review"), lambda *_: set_rejecting(True), "danger",
                               **{"data-action": "reject"}))
    return form(action(app, reject),
                html.label({"className": "field"}, app.t("project.reject_comment"),
                           html.textarea({"className": "input", "name": "comment", "required": True,
                                          "maxLength": 2000})),
                html.div({"className": "actions"},
                         html.button({"className": "button danger", "type": "submit", "data-action": "confirm-reject"},
                                     app.t("project.confirm_reject")),
                         button(app.t("common.cancel"), lambda *_: set_rejecting(False), "secondary")),
                className="stack reject-form")


@guarded
def stage_actions(app: App, project: dict[str, Any], lifecycle: dict[str, Any], on_changed: Any) -> Any:
    message, set_message = use_state("")
    sending_back, set_sending_back = use_state(False)
    confirming, set_confirming = use_state(False)

    async def advance(actor: Any, _: Any) -> None:
        try:
            await life.advance_stage(actor, project)
        except ServiceError as exc:
            set_message(common.guard_text(app, exc) or error_text(app, exc))
            return
        set_message("")
        app.notify(app.t("project.advanced"), "ok")
        on_changed()

    async def send_back(actor: Any, data: Any) -> None:
        try:
            await life.send_back_stage(actor, project, lifecycle["previous_stage"], form_value(data, "reason"))
        except ServiceError as exc:
            set_message(common.guard_text(app, exc) or error_text(app, exc))
            return
        set_message("")
        set_sending_back(False)
        app.notify(app.t("project.sent_back"), "ok")
        on_changed()

    async def close_won(actor: Any, _: Any) -> None:
        try:
            await life.close_won(actor, project)
        except ServiceError as exc:
            set_message(common.guard_text(app, exc) or error_text(app, exc))
            return
        set_message("")
        app.notify(app.t("project.closed_won"), "ok")
        on_changed()

    if not lifecycle.get("can_move"):
        return html.div()
    if confirming:
        return html.div({"className": "stack", "id": "confirm-won"},
                        html.p({"className": "message warn"},
                               app.t("pipeline.confirm_won_text", title=project["title"])),
                        html.div({"className": "actions"},
                                 button(app.t("project.close_won"), action(app, close_won), id="confirm-close-won"),
                                 button(app.t("common.cancel"), lambda *_: set_confirming(False), "secondary")))
    return html.div(
        {"className": "stack", "id": "stage-actions"},
        html.p({"className": "message warn", "role": "alert", "id": "guard-message"}, message) if message else "",
        form(action(app, send_back),
             html.label({"className": "field"}, app.t("project.send_back_reason"),
                        html.input({"className": "input", "name": "reason", "required": True, "maxLength": 500})),
             html.div({"className": "actions"},
                      html.button({"className": "button danger", "type": "submit"}, app.t("project.send_back")),
                      button(app.t("common.cancel"), lambda *_: set_sending_back(False), "secondary")),
             className="stack")
        if sending_back else
        html.div({"className": "actions"},
                 button(app.t("project.advance"), action(app, advance), id="advance-stage")
                 if lifecycle.get("next_stage") else "",
                 button(app.t("project.close_won"), lambda *_: set_confirming(True), id="close-won")
                 if lifecycle.get("last_stage") else "",
                 button(app.t("project.send_back"), lambda *_: set_sending_back(True), "secondary", id="send-back")
                 if lifecycle.get("previous_stage") else ""),
    )


@guarded
def reopen_project_tool(app: App, project: dict[str, Any], on_changed: Any) -> Any:
    """A won or lost project opened again, with the reason, in the stage it closed from."""
    asking, set_asking = use_state(False)

    async def reopen(actor: Any, data: Any) -> None:
        reason = form_value(data, "reason").strip()
        if not reason:
            raise Invalid("Say why", field="reason")
        await life.reopen_project(actor, project, reason)
        app.notify(app.t("project.reopened", title=project["title"]), "ok")
        on_changed()

    if not asking:
        return button(app.t("project.reopen"), lambda *_: set_asking(True), "secondary block", id="reopen-project")
    return form(action(app, reopen),
                html.label({"className": "field"}, app.t("project.reopen_reason"),
                           html.input({"className": "input", "name": "reason", "autoFocus": True})),
                html.div({"className": "actions"},
                         html.button({"className": "button", "type": "submit"}, app.t("project.reopen")),
                         button(app.t("common.cancel"), lambda *_: set_asking(False), "secondary")),
                className="stack", id="reopen-project-form")


@guarded
def screen(app: App) -> Any:
    project_id = app.route.item_id
    query = use_live_query(app, lambda: load(app, project_id), str(project_id), watch=[
        ("projects", {"id": project_id}), ("project_milestones", {"project": project_id}),
        ("project_stages", {"project": project_id}), ("notes", {"project": project_id}),
        ("project_collections", {"project": project_id}), ("project_members", {"project": project_id})])
    saves, set_saves = use_state(0)
    state = query_state(app, query)
    if state is not None:
        return html.main({"className": "screen"}, state)
    data = query.data
    project, client, lifecycle = data["project"], data["client"], data["lifecycle"]
    contract = Decimal(project.get("contract_value") or 0)
    collected = Decimal(project.get("collected_amount") or 0)
    milestones = lifecycle["milestones"]

    def changed(*_: Any) -> None:
        set_saves(saves + 1)
        query.reload()

    return html.main(
        {"className": "screen", "id": "project", "data-id": str(project["id"]), "data-stage": project["stage_key"]},
        card(
            html.h2({"id": "project-title"}, project["title"]),
            html.div({"className": "row", "style": {"margin": "6px 0 10px"}},
                     chip(common.stage_name(app, project["stage_key"], lifecycle.get("names")), "", id="project-stage"),
                     chip(app.t(f"project_status.{project['status']}"), "plain"),
                     common.overdue_chip(app, project.get("next_due_at"), project.get("escalation_level", 0))),
            timeline(app, lifecycle),
            reopen_project_tool(app, project, changed) if data["can_reopen"] else "",
        ),
        card(
            html.ul({"className": "list", "id": "milestones"}, *[
                milestone_check(app, m, data["assignable"].get(m["id"], []), lifecycle["can_reassign"], changed,
                                key=f"{m['id']}:{m.get('version', 0)}") for m in milestones])
            if milestones else empty(app.t("project.no_milestones")),
            stage_actions(app, project, lifecycle, changed),
            title=app.t("project.milestones"), count=len(milestones),
        ),
        card(
            facts(
                (app.t("project.client"), link(f"/clients/{client['id']}", client["name"]) if client else ""),
                (app.t("project.contract_value"), app.fmt.money(contract)),
                (app.t("project.collected"), app.fmt.money(collected)),
                (app.t("project.outstanding"), app.fmt.money(contract - collected)),
                (app.t("project.opened"), app.fmt.date(project.get("opened_at"))),
                (app.t("project.description"), project.get("description", "")),
            ),
            html.div({"className": "progress", "style": {"marginTop": "10px"}},
                     html.span({"style": {
                         "width": f"{min(100, 100 * collected / contract) if contract else 0:.0f}%"}})),
            html.div({"id": "collections"}, payments.payments(app, project, changed))
            if lifecycle.get("collections") else "",
            title=app.t("project.amounts"),
        ),
        card(html.ul({"className": "list", "id": "team"}, *[
            html.li({"key": f"{m['user_id']}:{m['kind']}", "className": "spread", "style": {"padding": "8px 0"}},
                    html.span(m["display_name"]),
                    html.span({"className": "small muted"}, app.t(f"role.{m['role']}"), " · ",
                              app.t(f"member_kind.{m['kind']}")))
            for m in data["members"]]) if data["members"] else empty(app.t("project.no_team")),
            title=app.t("project.team"), count=len(data["members"])),
        card(photos.gallery(app, "project", project["id"], data["can_add_photo"]), title=app.t("project.photos"))
        if data["can_photo"] else "",
        card(note_form(app, "project", project["id"], changed) if data["can_note"] else "",
             history(app, "project", project["id"], saves, lifecycle.get("names")),
             title=app.t("project.history"), id="project-history"),
    )
