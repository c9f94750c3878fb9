"""Manager views: branch projects by stage, overdue and escalated items, team workload, reassign and nudge, and
the open work of people who left the branch (moved elsewhere or disabled), to hand over.

The branch manager sees the branch and the executive everything: both through `backend/access.py`'s scope; whom
a record may go to is `access.assignable_users`, the same rule the reassign services check.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

from reactpy import html, use_state

from backend.accounts.services import USERS
from backend.handover import services as handover
from backend.lifecycle import services as life
from backend.projects.services import PROJECTS
from backend.specs import now
from pwa.live import use_live_query
from pwa.routes import href
from pwa.screens import common
from pwa.ui import (
    App,
    action,
    button,
    card,
    chip,
    empty,
    form,
    form_value,
    guarded,
    link,
    list_link,
    query_state,
)


async def load(app: App) -> dict[str, Any]:
    actor = await app.ensure_actor()
    projects = await common.all_records(actor, PROJECTS, filters={"status": "open"}, cap=2000)
    users = [u for u in await common.all_records(actor, USERS, filters={"is_active": True}, cap=500)
             if u["role"] in ("agent", "project_manager", "legal", "finance")]
    milestones = await life.open_milestones_in_scope(actor)
    stage_names = await life.stage_names_for(actor, projects)
    return {"projects": projects, "users": users, "milestones": milestones, "stage_names": stage_names,
            "can_reassign": life.can_reassign_milestones(actor),
            "assignable": await handover.assignable_users(actor, "milestone", milestones),
            "left": await handover.left_work(actor)}


def local_input(app: App, moment: dt.datetime) -> str:
    """A `datetime-local` value in the branch's time zone."""
    return app.fmt.local(moment).strftime("%Y-%m-%dT%H:%M")


def parse_local(app: App, text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=app.fmt.tz) if text else None
    except ValueError:
        return None


def reassign_form(app: App, candidates: list[dict[str, Any]], on_owner: Any, on_cancel: Any,
                  deadline: dt.datetime | None = None) -> Any:
    """Choose the new owner among `candidates` (`access.assignable_users`: who may own this kind of work), least
    loaded first and chosen; with `deadline`, also a new deadline (prefilled), which restarts the ladder."""

    async def chosen(actor: Any, data: Any) -> None:
        owner_id = common.parse_uuid(form_value(data, "owner_id"))
        if owner_id is None:
            return
        if deadline is None:
            await on_owner(actor, owner_id)
        else:
            await on_owner(actor, owner_id, parse_local(app, form_value(data, "due_at")))

    return form(action(app, chosen),
                html.label({"className": "field"}, app.t("manager.new_owner"),
                           html.select({"className": "input", "name": "owner_id"},
                                       *[html.option({"value": str(u["id"]), "key": str(u["id"]),
                                                      **({"selected": True} if index == 0 else {})},
                                                     f"{u['display_name']} · {app.t('role.' + u['role'])}"
                                                     + (f" {app.t('manager.least_loaded')}"
                                                        if index == 0 and len(candidates) > 1 else ""))
                                         for index, u in enumerate(candidates)])),
                html.label({"className": "field"}, app.t("manager.new_deadline"),
                           html.input({"className": "input", "type": "datetime-local", "name": "due_at",
                                       "required": True, "defaultValue": local_input(app, deadline)}))
                if deadline is not None else "",
                html.div({"className": "actions"},
                         html.button({"className": "button", "type": "submit"}, app.t("manager.confirm_reassign")),
                         button(app.t("common.cancel"), lambda *_: on_cancel(), "secondary")),
                className="stack reassign-form", style={"marginTop": "8px"})


def proposed_deadline(milestone: dict[str, Any]) -> dt.datetime:
    """A new deadline to offer: the current one if still ahead, else two days from now (on the hour)."""
    due = milestone.get("due_at")
    if due is not None and due > now():
        return due
    return (now() + dt.timedelta(hours=48)).replace(minute=0, second=0, microsecond=0)


@guarded
def milestone_tools(app: App, milestone: dict[str, Any], candidates: list[dict[str, Any]], on_changed: Any) -> Any:
    """Reassign to a user who may own it, or nudge the owner (an inbox item with the manager's words)."""
    choosing, set_choosing = use_state(False)
    title = milestone.get(f"title_{app.lang}") or milestone.get("title_zh") or ""

    async def reassign(actor: Any, owner_id: Any, due_at: dt.datetime | None) -> None:
        await life.reassign_milestone(actor, milestone, owner_id, due_at)
        set_choosing(False)
        app.notify(app.t("manager.reassigned"), "ok")
        on_changed()

    async def nudge(actor: Any, _: Any) -> None:
        sent = await life.nudge_milestone(actor, milestone, app.t("manager.nudge_message", title=title))
        app.notify(app.t("manager.nudged" if sent else "manager.already_nudged"), "ok")

    if choosing:
        return reassign_form(app, candidates, reassign, lambda: set_choosing(False), proposed_deadline(milestone))
    return html.div({"className": "actions", "style": {"marginTop": "8px"}},
                    button(app.t("manager.reassign"), lambda *_: set_choosing(True), "secondary",
                           **{"data-action": "reassign"}),
                    button(app.t("manager.nudge"), action(app, nudge), "secondary", **{"data-action": "nudge"}))


@guarded
def handover_tools(app: App, item: dict[str, Any], on_changed: Any) -> Any:
    """Hand one record of someone who left to a user of the branch, through its resource's reassign service."""
    choosing, set_choosing = use_state(False)

    async def reassign(actor: Any, owner_id: Any) -> None:
        await handover.reassign(actor, item["resource"], item["id"], owner_id, item["version"])
        set_choosing(False)
        app.notify(app.t("manager.reassigned"), "ok")
        on_changed()

    if choosing:
        return reassign_form(app, item["assignable"], reassign, lambda: set_choosing(False))
    return html.div({"className": "actions", "style": {"marginTop": "8px"}},
                    button(app.t("manager.reassign"), lambda *_: set_choosing(True), "secondary",
                           disabled=not item["assignable"], **{"data-action": "reassign"}))


HANDOVER_LINKS = {"client": "/clients/{id}", "project": "/projects/{id}", "visit": "/visits/{id}",
                  "milestone": "/projects/{project_id}"}


def handover_item(app: App, item: dict[str, Any], on_changed: Any) -> Any:
    title = item.get(f"title_{app.lang}") or item.get("title") or ""
    target = HANDOVER_LINKS.get(item["resource"])
    when = item.get("due_at") or item.get("scheduled_at")
    return html.li(
        {"className": "handover-item", "data-id": str(item["id"]), "data-resource": item["resource"],
         "style": {"padding": "8px 0"}, "key": f"{item['resource']}:{item['id']}:{item['version']}"},
        html.div({"className": "row"}, chip(app.t(f"manager.kind_{item['resource']}"), "plain"),
                 link(target.format(**item), html.strong(title), style={"color": "inherit"}) if target
                 else html.strong(title)),
        html.div({"className": "row small muted"}, item.get("project_title") or "",
                 app.fmt.datetime(when) if when else ""),
        handover_tools(app, item, on_changed),
    )


def handover_person(app: App, person: dict[str, Any], on_changed: Any) -> Any:
    why = (app.t("manager.left_moved", branch=person["branch_name"]) if person["reason"] == "moved"
           else app.t("manager.left_disabled"))
    items = [item for resource in handover.RESOURCES for item in person["work"][resource]]
    return html.li(
        {"className": "handover-person", "data-id": str(person["user_id"]), "key": str(person["user_id"])},
        html.div({"className": "row"}, html.strong(person["display_name"]),
                 html.span({"className": "small muted"}, f"{app.t('role.' + person['role'])} · {why}"),
                 chip(app.fmt.number(person["count"]), "warn")),
        html.ul({"className": "list"}, *[handover_item(app, item, on_changed) for item in items]),
    )


def hours_late(milestone: dict[str, Any]) -> int:
    due = milestone.get("due_at")
    return max(0, int((now() - due).total_seconds() // 3600)) if due is not None else 0


def milestone_item(app: App, milestone: dict[str, Any], candidates: list[dict[str, Any]], can_reassign: bool,
                   on_changed: Any) -> Any:
    title = milestone.get(f"title_{app.lang}") or milestone.get("title_zh") or ""
    due = milestone.get("due_at")
    late = due is not None and common.is_overdue(due)
    return html.li(
        {"className": "milestone-item", "data-id": str(milestone["id"]), "style": {"padding": "8px 0"},
         "key": f"{milestone['id']}:{milestone.get('version', 0)}", "data-hours-late": str(hours_late(milestone))},
        link(f"/projects/{milestone['project_id']}#milestone-{milestone['id']}", html.strong(title),
             class_name="row-link"),
        html.div({"className": "row small muted"}, milestone.get("project_title", ""), " · ",
                 app.t("manager.owner", name=milestone.get("owner_name") or "—"),
                 common.overdue_chip(app, due, milestone.get("escalation_level", 0))),
        html.div({"className": "small late-by", "data-due": due.isoformat() if due else ""},
                 app.t("manager.deadline_late", due=app.fmt.datetime(due), hours=app.fmt.number(hours_late(milestone))))
        if late else "",
        milestone_tools(app, milestone, candidates, on_changed) if can_reassign else "",
    )


PAGE = 10


@guarded
def screen(app: App) -> Any:
    branch = None if app.actor.role == "executive" else {"branch": app.actor.branch_id}
    query = use_live_query(app, lambda: load(app), app.route.path,  # projects by stage, overdue and escalated
                           watch=[("projects", branch), ("project_milestones", branch)])
    expanded, set_expanded = use_state(frozenset())
    state = query_state(app, query)
    if state is not None:
        return html.main({"className": "screen"}, state)
    data = query.data
    projects, users, milestones = data["projects"], data["users"], data["milestones"]
    stage = app.route.param("stage")
    by_stage = Counter(p["stage_key"] for p in projects)
    flagged = [p for p in projects if p.get("escalation_level") or common.is_overdue(p.get("next_due_at"))]
    contract = sum((Decimal(p.get("contract_value") or 0) for p in projects), Decimal(0))
    collected = sum((Decimal(p.get("collected_amount") or 0) for p in projects), Decimal(0))
    late_milestones = sorted(
        (m for m in milestones if m.get("escalation_level") or common.is_overdue(m.get("due_at"))),
        key=lambda m: (m.get("due_at") or now(), str(m["id"])))  # the latest first: the earliest deadline
    workload_projects = Counter(p["owner_id"] for p in projects)
    workload_milestones = Counter(m.get("owner_id") for m in milestones)
    most = max([1, *workload_projects.values(), *workload_milestones.values()])

    def workload(user_id: Any) -> int:
        return workload_projects.get(user_id, 0) + workload_milestones.get(user_id, 0)

    def by_load(candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Least loaded first (the form's default choice)."""
        return sorted(candidates, key=lambda u: (workload(u["id"]), u["display_name"], str(u["id"])))

    listed = [p for p in projects if p["stage_key"] == stage] if stage else []
    outstanding = sorted((p for p in projects
                          if Decimal(p.get("contract_value") or 0) > Decimal(p.get("collected_amount") or 0)),
                         key=lambda p: Decimal(p.get("collected_amount") or 0) - Decimal(p.get("contract_value") or 0))
    stage_names = data["stage_names"]
    stages = list(common.STAGES) + sorted(k for k in by_stage if k not in common.STAGES)
    other_milestones = [m for m in milestones if m not in late_milestones]

    def shown(name: str) -> int:
        return dict(expanded).get(name, PAGE)

    def shorten(name: str, items: list[Any]) -> list[Any]:
        return items[:shown(name)]

    def more(name: str, items: list[Any]) -> Any:
        """Paged past the first screen: each press shows the next page."""
        left = len(items) - shown(name)
        if left <= 0:
            return ""
        return button(app.t("manager.page_more", count=min(PAGE, left)),
                      lambda *_: set_expanded(lambda current: frozenset(
                          (dict(current) | {name: dict(current).get(name, PAGE) + PAGE}).items())),
                      "secondary block", id=f"more-{name}")

    left = data["left"]
    return html.main(
        {"className": "screen", "id": "manager"},
        html.div({"className": "stat-grid"},
                 stat(app.t("manager.open_projects"), app.fmt.number(len(projects)), "stat-open",
                      app.route.path + "#by-stage"),
                 stat(app.t("manager.flagged"), app.fmt.number(len(flagged)), "stat-flagged",
                      app.route.path + "#flagged-projects"),
                 stat(app.t("manager.late_milestones"), app.fmt.number(len(late_milestones)), "stat-late",
                      app.route.path + "#late-milestones"),
                 stat(app.t("manager.collected_share"),
                      app.fmt.percent(float(collected / contract)) if contract else "—", "stat-collected",
                      app.route.path + "#outstanding-projects")),
        card(html.div({"className": "stack", "id": "by-stage"}, *[
            link(href("/manager", stage=None if key == stage else key),
                 html.span(common.stage_name(app, key)),
                 html.span({"className": "progress"},
                           html.span({"style": {
                               "width": f"{100 * by_stage.get(key, 0) / max(1, len(projects)):.0f}%"}})),
                 html.strong(app.fmt.number(by_stage.get(key, 0))),
                 class_name="bar-row", key=key, style={"color": "inherit", "textDecoration": "none",
                                                        "minHeight": "44px"},
                 **{"data-stage": key, "aria-current": "true" if key == stage else "false"})
            for key in stages]),
            html.ul({"className": "list", "id": "stage-projects"}, *[project_row(app, p, stage_names) for p in listed])
            if listed else "",
            title=app.t("manager.by_stage")),
        card(html.ul({"className": "list", "id": "late-milestones"}, *[
            milestone_item(app, m, by_load(data["assignable"].get(m["id"], [])), data["can_reassign"], query.reload)
            for m in shorten("late", late_milestones)]) if late_milestones
             else empty(app.t("manager.no_late_milestones")),
             more("late", late_milestones),
             title=app.t("manager.late_milestones"), count=len(late_milestones)),
        card(html.ul({"className": "list", "id": "flagged-projects"},
                     *[project_row(app, p, stage_names) for p in shorten("flagged", flagged)]) if flagged
             else empty(app.t("manager.no_flagged")),
             more("flagged", flagged),
             title=app.t("manager.flagged"), count=len(flagged)),
        card(html.ul({"className": "list", "id": "outstanding-projects"},
                     *[project_row(app, p, stage_names) for p in shorten("outstanding", outstanding)]) if outstanding
             else empty(app.t("manager.no_outstanding")),
             more("outstanding", outstanding),
             title=app.t("manager.outstanding"), count=len(outstanding)),
        card(html.div({"className": "stack", "id": "workload"}, *[
            html.div({"className": "bar-row", "key": str(u["id"]), "data-id": str(u["id"])},
                     html.span(u["display_name"]),
                     html.span({"className": "progress"}, html.span({"style": {
                         "width": f"{100 * workload(u['id']) / most:.0f}%"}})),
                     html.span({"className": "small muted"},
                               app.t("manager.load", projects=workload_projects.get(u["id"], 0),
                                     milestones=workload_milestones.get(u["id"], 0))))
            for u in sorted(users, key=lambda u: -workload(u["id"]))]),
            title=app.t("manager.workload")),
        card(html.ul({"className": "list", "id": "all-milestones"}, *[
            milestone_item(app, m, by_load(data["assignable"].get(m["id"], [])), data["can_reassign"], query.reload)
            for m in shorten("other", other_milestones)]) if other_milestones
             else empty(app.t("home.no_milestones")),
             more("other", other_milestones),
             title=app.t("manager.open_milestones"), count=len(other_milestones)),
        card(html.ul({"className": "list", "id": "left-work"},
                     *[handover_person(app, person, query.reload) for person in left["people"]]),
             title=app.t("manager.left_work"), count=left["total"]) if left["people"] else "",
    )


def stat(label: str, value: str, id_: str, target: str) -> Any:
    """A figure that opens the list behind it: this screen's own URL (nothing reloads), scrolled to the list."""
    return link(target, html.div({"className": "n"}, value), html.div({"className": "small muted"}, label),
                class_name="stat", id=id_)


def project_row(app: App, project: dict[str, Any], stage_names: dict[Any, Any]) -> Any:
    return html.li(
        {"key": str(project["id"]), "data-id": str(project["id"])},
        list_link(f"/projects/{project['id']}", project["title"],
                  html.span({"className": "row"},
                            common.stage_name(app, project["stage_key"], stage_names.get(project["id"])),
                            common.overdue_chip(app, project.get("next_due_at"), project.get("escalation_level", 0))),
                  trail=chip(app.fmt.money_short(project.get("contract_value")), "plain")),
    )


