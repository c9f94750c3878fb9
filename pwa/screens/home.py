"""Home: today's visits, my projects with stage and overdue flags, my open milestones."""

from __future__ import annotations

from typing import Any

from reactpy import html
from reactpy.reactjs import component_from_url

from backend.lifecycle import services as life
from backend.projects.services import PROJECTS
from backend.specs import now
from backend.visits.services import list_visits_between
from pwa import assets
from pwa.live import use_live_query
from pwa.screens import common
from pwa.ui import App, card, chip, empty, guarded, list_link, query_state

# How many of this visit's notes, photos and changes still wait on this phone (the field kit's outbox).
PendingCount = component_from_url(assets.url("fieldkit/badge.js"), "PendingCount")


async def load(app: App) -> dict[str, Any]:
    actor = await app.ensure_actor()
    start, end = common.local_day_bounds(app)
    visits = common.plain(await list_visits_between(actor, start, end))
    projects = await common.page(actor, PROJECTS, filters={"status": "open"}, limit=100)
    projects.sort(key=lambda p: (p.get("next_due_at") is None, p.get("next_due_at") or p["created_at"]))
    names = await common.client_names(actor, {v["client_id"] for v in visits})
    milestones = await life.my_open_milestones(actor)
    stage_names = await life.stage_names_for(actor, projects)
    return {"visits": visits, "projects": projects, "client_names": names, "milestones": milestones,
            "stage_names": stage_names}


def visit_row(app: App, visit: dict[str, Any], names: dict[Any, str]) -> Any:
    status = visit.get("status", "planned")
    return html.li(
        {"key": str(visit["id"]), "data-id": str(visit["id"]), "className": "visit-row"},
        list_link(f"/visits/{visit['id']}", names.get(visit["client_id"], app.t("visit.client_hidden")),
                  visit["address"], lead=html.span({"className": "time-box"}, app.fmt.time(visit["scheduled_at"])),
                  trail=html.span({"className": "row"},
                                  PendingCount({"visit": str(visit["id"]), "lang": app.lang}),
                                  chip(app.t(f"visit_status.{status}"), "ok" if status == "done" else "plain")
                                  if status != "planned" else "")),
    )


def project_row(app: App, project: dict[str, Any], stage_names: dict[str, Any]) -> Any:
    stages = stage_names.get(project["id"])
    return html.li(
        {"key": str(project["id"]), "data-id": str(project["id"]), "className": "project-row"},
        list_link(f"/projects/{project['id']}", project["title"],
                  html.span({"className": "row"}, common.stage_name(app, project["stage_key"], stages),
                            common.overdue_chip(app, project.get("next_due_at"), project.get("escalation_level", 0)))),
    )


def milestone_row(app: App, milestone: dict[str, Any]) -> Any:
    title = milestone.get(f"title_{app.lang}") or milestone.get("title_zh") or ""
    return html.li(
        {"key": str(milestone["id"]), "data-id": str(milestone["id"]), "className": "milestone-row"},
        list_link(f"/projects/{milestone['project_id']}", title,
                  html.span({"className": "row"}, milestone.get("project_title", ""),
                            common.overdue_chip(app, milestone.get("due_at"), milestone.get("escalation_level", 0)))),
    )


@guarded
def screen(app: App) -> Any:
    branch = None if app.actor.role == "executive" else {"branch": app.actor.branch_id}
    query = use_live_query(app, lambda: load(app), app.route.path,  # today's visits, open projects, my milestones
                           watch=[("visits", branch), ("projects", branch), ("project_milestones", branch)])
    state = query_state(app, query)
    if state is not None:
        return html.main({"className": "screen"}, state)
    data = query.data
    visits, projects, milestones = data["visits"], data["projects"], data["milestones"]
    return html.main(
        {"className": "screen", "id": "home"},
        card(html.ul({"className": "list", "id": "today-visits"},
                     *[visit_row(app, v, data["client_names"]) for v in visits]) if visits
             else empty(app.t("home.no_visits")),
             title=app.t("home.today", day=app.fmt.day(now())), count=len(visits)),
        card(html.ul({"className": "list", "id": "my-milestones"}, *[milestone_row(app, m) for m in milestones])
             if milestones else empty(app.t("home.no_milestones")),
             title=app.t("home.milestones"), count=len(milestones)),
        card(html.ul({"className": "list", "id": "my-projects"},
                     *[project_row(app, p, data["stage_names"]) for p in projects])
             if projects else empty(app.t("home.no_projects")),
             title=app.t("home.projects"), count=len(projects)),
    )
