"""The first-run guide (issue 14; seed 1 §4: "按岗位定制课程"): 3–5 steps per role, each pointing at a real control
of the home screen, the header or the navigation. Shown on the home screen until finished or closed; the step is
remembered per user on the server, so it resumes on any device; Settings starts it again."""

from __future__ import annotations

from typing import Any

from reactpy import html, use_state
from reactpy.reactjs import component_from_url

from backend.accounts import services as accounts
from pwa import assets
from pwa.ui import App, action, guarded, use_live, use_query

GuideCard = component_from_url(assets.url("app/guide.js"), "Guide")
NAV = ".bottom-nav [data-screen={}]"
# The home screen's cards (their lists carry ids only when not empty): today's visits, my milestones, my projects.
MY_MILESTONES, MY_PROJECTS = "#home > section.card:nth-of-type(2)", "#home > section.card:nth-of-type(3)"
STEPS: dict[str, list[tuple[str, str]]] = {
    "agent": [("#home > section.card", "visits"), (NAV.format("clients"), "capture"),
              (NAV.format("settings"), "offline"), ("#feedback-link", "feedback")],
    "project_manager": [(MY_PROJECTS, "projects"), (MY_MILESTONES, "milestones"), ("#inbox-link", "inbox"),
                        ("#feedback-link", "feedback")],
    "legal": [(MY_MILESTONES, "review"), ("#inbox-link", "inbox"), ("#feedback-link", "feedback")],
    "finance": [("#to-record", "collections"), ("#finance-projects", "amounts"), ("#feedback-link", "feedback")],
    "branch_manager": [("#late-milestones", "overdue"), ("#all-milestones", "reassign"), ("#left-work", "left"),
                       ("#feedback-link", "feedback")],
    "executive": [("#by-stage", "overview"), (NAV.format("pipeline"), "pipeline"), ("#feedback-link", "feedback")],
    "admin": [("#admin-tabs [data-tab=users]", "users"), ("#admin-tabs [data-tab=templates]", "templates"),
              ("#feedback-link", "feedback")],
}


def steps_for(app: App) -> list[dict[str, str]]:
    return [{"selector": selector, "title": app.t(f"guide.{key}_title"), "body": app.t(f"guide.{key}_body")}
            for selector, key in STEPS.get(app.actor.role, STEPS["agent"])]


async def load(app: App) -> str:
    return await accounts.guide_state(await app.ensure_actor())


@guarded
def banner(app: App) -> Any:
    query = use_query(lambda: load(app), "guide")
    moved, set_moved = use_state(None)  # the step chosen since loading (the server has it too)
    live = use_live()
    state = moved if moved is not None else (query.data if query.ready else None)
    if state is None or state == accounts.GUIDE_CLOSED:
        return html.div({"id": "guide-slot"})
    steps = steps_for(app)

    async def go(actor: Any, data: Any) -> None:
        index = int((data or {}).get("index", 0)) if hasattr(data, "get") else 0
        index = max(0, min(index, len(steps) - 1))
        await accounts.set_guide_state(actor, str(index))
        live(set_moved)(str(index))

    async def close(actor: Any, _: Any) -> None:
        await accounts.set_guide_state(actor, accounts.GUIDE_CLOSED)
        live(set_moved)(accounts.GUIDE_CLOSED)

    step = int(state) if state.isdigit() else 0
    return html.div({"id": "guide-slot"}, GuideCard({
        "steps": steps, "step": min(step, len(steps) - 1), "onStep": action(app, go), "onClose": action(app, close),
        "labels": {k: app.t(f"guide.{k}") for k in ("step", "back", "next", "done", "close")}}))
