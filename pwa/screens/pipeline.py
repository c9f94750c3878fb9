"""Opportunity pipeline: one tab per state (in the URL), big move buttons, won after a confirmation, lost with a
reason, and a won or lost opportunity reopened (with the reason) or turned into a project."""

from __future__ import annotations

from typing import Any

from reactpy import html, use_state

from backend.clients.services import OPPORTUNITIES, TRANSITIONS, move_opportunity, reopen_opportunity
from backend.errors import Invalid
from backend.projects.services import PROJECTS
from pwa.routes import href
from pwa.screens import common
from pwa.screens.client import opportunity_form
from pwa.screens.project_form import new_project_button
from pwa.ui import App, action, button, card, empty, form, form_value, guarded, link, query_state, use_query

STATES = ("potential", "following", "won", "lost")


async def load(app: App, state: str) -> dict[str, Any]:
    actor = await app.ensure_actor()
    everything = await common.all_records(actor, OPPORTUNITIES, cap=2000)
    counts = {s: sum(1 for o in everything if o["state"] == s) for s in STATES}
    items = [o for o in everything if o["state"] == state][:200]
    names = await common.client_names(actor, {o["client_id"] for o in items})
    return {"counts": counts, "items": items, "client_names": names,
            "can_move": OPPORTUNITIES.may(actor, "update"), "can_project": PROJECTS.may(actor, "create")}


@guarded
def opportunity_card(app: App, opportunity: dict[str, Any], client_name: str, can_move: bool, on_moved: Any,
                     can_project: bool = False) -> Any:
    mode, set_mode = use_state("")  # "" | "lost" | "won" (asking to confirm) | "reopen"
    state = opportunity["state"]
    losing = mode == "lost"

    def set_losing(value: bool) -> None:
        set_mode("lost" if value else "")

    async def reopen(actor: Any, data: Any) -> None:
        reason = form_value(data, "reason").strip()
        if not reason:
            raise Invalid("Say why", field="reason")
        await reopen_opportunity(actor, opportunity["id"], opportunity["version"], reason)
        app.notify(app.t("pipeline.reopened"), "ok")
        on_moved()

    def mover(target: str) -> Any:
        async def move(actor: Any, _: Any) -> None:
            await move_opportunity(actor, opportunity["id"], opportunity["version"], target)
            app.notify(app.t("pipeline.moved", state=app.t(f"opportunity_state.{target}")), "ok")
            on_moved()
        return action(app, move)

    async def lose(actor: Any, data: Any) -> None:
        reason = form_value(data, "reason").strip()
        await move_opportunity(actor, opportunity["id"], opportunity["version"], "lost", reason)
        app.notify(app.t("pipeline.moved", state=app.t("opportunity_state.lost")), "ok")
        on_moved()

    moves = TRANSITIONS.get(state, set()) if can_move else set()
    targets = [t for t in ("following", "won", "potential") if t in moves]
    buttons = [button(app.t(f"pipeline.to_{target}"),
                      (lambda *_: set_mode("won")) if target == "won" else mover(target),
                      "secondary" if target == "potential" else "", key=target, **{"data-move": target})
               for target in targets]
    if can_move and state in ("potential", "following"):
        buttons.append(button(app.t("opportunity.edit"), lambda *_: set_mode("edit"), "secondary", key="edit",
                              **{"data-action": "edit"}))
    if state in ("won", "lost") and can_move:
        buttons.append(button(app.t("pipeline.reopen"), lambda *_: set_mode("reopen"), "secondary", key="reopen",
                              **{"data-action": "reopen"}))
    if "lost" in moves:
        buttons.append(button(app.t("pipeline.to_lost"), lambda *_: set_losing(True), "danger", key="lost",
                              **{"data-move": "lost"}))
    return html.article(
        {"className": "card opportunity", "data-id": str(opportunity["id"]), "data-state": state},
        html.div({"className": "spread"},
                 html.h3(opportunity["title"]),
                 html.span({"className": "value"}, app.fmt.money(opportunity.get("value")))),
        html.p({"className": "muted small row"},
               link(f"/clients/{opportunity['client_id']}", client_name, class_name="row-link tap-text")
               if client_name else "",
               " · " if client_name else "", app.t("pipeline.updated", when=app.fmt.day(opportunity["updated_at"]))),
        html.p({"className": "message warn small"}, app.t("pipeline.lost_reason", reason=opportunity["lost_reason"]))
        if state == "lost" and opportunity.get("lost_reason") else "",
        opportunity_form(app, None, opportunity, on_moved, lambda: set_mode(""))
        if mode == "edit" else
        html.div({"className": "stack won-confirm", "style": {"marginTop": "10px"}},
                 html.p({"className": "message warn"}, app.t("pipeline.confirm_won_text", title=opportunity["title"])),
                 html.div({"className": "actions"},
                          button(app.t("pipeline.confirm_won"), mover("won"), key="confirm-won",
                                 **{"data-action": "confirm-won"}),
                          button(app.t("common.cancel"), lambda *_: set_mode(""), "secondary", key="keep")))
        if mode == "won" else
        form(action(app, reopen),
             html.label({"className": "field"}, app.t("pipeline.reopen_reason"),
                        html.input({"className": "input", "name": "reason", "required": True, "autoFocus": True})),
             html.div({"className": "actions"},
                      html.button({"className": "button", "type": "submit"}, app.t("pipeline.reopen")),
                      button(app.t("common.cancel"), lambda *_: set_mode(""), "secondary")),
             className="stack reopen-form")
        if mode == "reopen" else
        form(action(app, lose),
             html.label({"className": "field"}, app.t("pipeline.why_lost"),
                        html.input({"className": "input", "name": "reason", "required": True, "maxLength": 500,
                                    "autoFocus": True})),
             html.div({"className": "actions"},
                      html.button({"className": "button danger", "type": "submit"}, app.t("pipeline.confirm_lost")),
                      button(app.t("common.cancel"), lambda *_: set_losing(False), "secondary")),
             className="stack lost-form")
        if losing
        else (html.div({"className": "actions", "style": {"marginTop": "10px"}}, *buttons) if buttons else ""),
        html.div({"style": {"marginTop": "8px"}},
                 new_project_button(app, None, opportunity, key_suffix=f"-{opportunity['id']}"))
        if state == "won" and can_project and not mode else "",
    )


@guarded
def screen(app: App) -> Any:
    state = app.route.param("state", "following")
    if state not in STATES:
        state = "following"
    query = use_query(lambda: load(app, state), state)
    tabs = html.div({"className": "tabs", "role": "tablist", "id": "pipeline-tabs"}, *[
        button([app.t(f"opportunity_state.{s}"), f" {query.data['counts'][s]}" if query.ready else ""],
               lambda *_, s=s: app.navigate(href("/pipeline", state=s), True), className="", role="tab", key=s,
               **{"data-state": s, "aria-selected": str(s == state).lower()})
        for s in STATES])
    status = query_state(app, query)
    if status is not None:
        return html.main({"className": "screen"}, tabs, status)
    items = query.data["items"]
    return html.main(
        {"className": "screen", "id": "pipeline", "data-state": state},
        tabs,
        html.div({"className": "stack", "id": "opportunities"}, *[
            opportunity_card(app, o, query.data["client_names"].get(o["client_id"], ""), query.data["can_move"],
                             query.reload, query.data["can_project"],
                             key=f"{o['id']}:{o['version']}")
            for o in items]) if items else card(empty(app.t("pipeline.empty"))),
    )
