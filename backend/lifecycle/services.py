"""The lifecycle's one service face: what screens and endpoints call (stages, milestones, collections, templates).

The rules live in the modules beside it (`stages`, `actions`, `collections`, `templates`, `views`); this module is
the only one of them the PWA imports, so screens read one shape and cannot reach a table or skip a rule."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import msgspec

from backend import access, records
from backend.access import Actor
from backend.errors import Invalid, NotFound
from backend.lifecycle import actions, calendars, collections, definitions, stages, templates, views
from backend.lifecycle.workhours import CalendarDef
from backend.projects.specs import BUSINESS_LINE_SPEC

PLAIN_TYPES = (dt.datetime, dt.date, uuid.UUID, decimal.Decimal)


def plain(reply: Any) -> Any:
    """A service's typed reply as the dicts and lists screens read (times, ids and amounts stay Python values)."""
    return msgspec.to_builtins(reply, builtin_types=PLAIN_TYPES)


async def my_open_milestones(actor: Actor) -> list[dict[str, Any]]:
    """"My tasks" until the task pool exists: the open milestones the user owns, soonest deadline first."""
    milestones: list[dict[str, Any]] = plain(
        (await views.list_milestones(actor, owner_id=actor.id, state="open", limit=100)).items)
    return milestones


async def open_milestones_in_scope(actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    milestones: list[dict[str, Any]] = plain((await views.list_milestones(actor, state="open", limit=limit)).items)
    return milestones


def can_reassign_milestones(actor: Actor) -> bool:
    return access.can(actor, "reassign", "milestone")


async def reassign_milestone(actor: Actor, milestone: dict[str, Any], owner_id: uuid.UUID,
                             due_at: dt.datetime | None = None) -> None:
    """A new owner, and with `due_at` a new deadline (the escalation ladder starts again from it)."""
    await actions.reassign_milestone(actor, milestone["id"], owner_id, milestone["version"], due_at=due_at)


async def nudge_milestone(actor: Actor, milestone: dict[str, Any], message: str) -> bool:
    """True when this reached the owner; False when it repeats a nudge of the last ten minutes (nothing sent)."""
    return not (await actions.nudge(actor, "milestone", milestone["id"], message)).repeated


async def stage_names_for(actor: Actor, projects: list[dict[str, Any]]) -> dict[Any, dict[str, dict[str, str]]]:
    """Per project id: {stage_key: {"zh": name, "en": name}} from the lifecycle template it runs (or, for a
    project started before templates, its business line's current one)."""
    by_version: dict[Any, dict[str, dict[str, str]]] = {}
    by_line: dict[Any, dict[str, dict[str, str]]] = {}
    out: dict[Any, dict[str, dict[str, str]]] = {}
    for project in projects:
        version_id, line_id = project.get("template_version_id"), project.get("business_line_id")
        if version_id is not None:
            if version_id not in by_version:
                by_version[version_id] = _names(await templates.definition_of(version_id))
            out[project["id"]] = by_version[version_id]
        elif line_id is not None:
            if line_id not in by_line:
                current = await templates.read_current(actor, line_id)
                by_line[line_id] = _names(current.definition)
            out[project["id"]] = by_line[line_id]
    return out


def _names(definition: Any) -> dict[str, dict[str, str]]:
    return {stage.key: {"zh": stage.name_zh, "en": stage.name_en} for stage in definition.stages}


async def templates_overview(actor: Actor) -> list[dict[str, Any]]:
    """The current lifecycle template of each business line: id, number, line_zh/en, stages [{key, zh, en}]."""
    out = []
    for line in (await records.list_records(actor, BUSINESS_LINE_SPEC, limit=records.MAX_PAGE)).items:
        current = await templates.read_current(actor, line["id"])
        out.append({"id": current.id, "number": current.number, "line_zh": line["name_zh"],
                    "line_en": line["name_en"],
                    "stages": [{"key": k, **v} for k, v in _names(current.definition).items()]})
    return out


async def project_lifecycle(actor: Actor, project: dict[str, Any]) -> dict[str, Any]:
    """Stages (key, zh, en, state done|current|todo), the current stage's milestones, collections, and what the
    actor may do next."""
    life = plain(await views.project_lifecycle(actor, project["id"]))
    stage_list = [{"key": s["key"], "zh": s["name_zh"], "en": s["name_en"],
                   "state": {"upcoming": "todo"}.get(s["status"], s["status"])} for s in life["stages"]]
    current = life.get("current_stage")
    milestones = [m for m in life["milestones"] if current is not None and m.get("stage_id") == current["id"]]
    can_update = access.can(actor, "update", "milestone")
    for milestone in milestones:
        milestone["can_complete"] = can_update and milestone["state"] == "open" and not milestone.get("auto")
        milestone["can_reopen"] = (can_update and milestone["state"] == "done" and not milestone.get("auto")
                                   and project["status"] == "open")
        milestone["can_reject"] = access.can_reject(actor, milestone)
    keys = [s["key"] for s in stage_list]
    position = keys.index(project["stage_key"]) if project["stage_key"] in keys else -1
    is_open = project["status"] == "open" and position >= 0
    return {
        "names": {s["key"]: {"zh": s["zh"], "en": s["en"]} for s in stage_list},
        "stages": stage_list, "milestones": milestones, "collections": life.get("collections") or [],
        "can_move": is_open and access.can(actor, "update", "project"),
        "next_stage": keys[position + 1] if is_open and position + 1 < len(keys) else None,
        "previous_stage": keys[position - 1] if is_open and position > 0 else None,
        "last_stage": is_open and position == len(keys) - 1,
        "can_reassign": is_open and access.can(actor, "reassign", "milestone"),
    }


async def reject_review(actor: Actor, milestone: dict[str, Any], comment: str) -> None:
    """Send a legal review back to its previous owner with `comment` (they are told)."""
    await actions.reject_review(actor, milestone["id"], milestone["version"], comment)


async def complete_milestone(actor: Actor, milestone: dict[str, Any]) -> None:
    await actions.complete_milestone(actor, milestone["id"], milestone["version"])


async def reopen_milestone(actor: Actor, milestone: dict[str, Any], reason: str) -> None:
    await actions.reopen_milestone(actor, milestone["id"], milestone["version"], reason)


async def correct_collection(actor: Actor, collection: dict[str, Any], reason: str, *,
                             amount: decimal.Decimal | None = None, received_on: dt.date | None = None,
                             method: str | None = None) -> None:
    await collections.correct_collection(actor, collection["id"], collection["version"], reason=reason,
                                         amount=amount, received_on=received_on, method=method)


async def void_collection(actor: Actor, collection: dict[str, Any], reason: str) -> None:
    await collections.void_collection(actor, collection["id"], collection["version"], reason)


def can_correct_collections(actor: Actor) -> bool:
    return access.can(actor, "update", "collection")


async def project_collections(actor: Actor, project_id: uuid.UUID) -> list[dict[str, Any]]:
    """A project's payments, oldest first, voided ones included (marked)."""
    rows: list[dict[str, Any]] = plain(await collections.list_collections(actor, project_id))
    return rows


async def advance_stage(actor: Actor, project: dict[str, Any]) -> None:
    await stages.transition(actor, project["id"], project["version"], "advance")


async def close_won(actor: Actor, project: dict[str, Any]) -> None:
    await stages.transition(actor, project["id"], project["version"], "won")


async def reopen_project(actor: Actor, project: dict[str, Any], reason: str) -> None:
    await stages.reopen(actor, project["id"], project["version"], reason)


def can_reopen_project(actor: Actor, project: dict[str, Any]) -> bool:
    return project["status"] in ("won", "lost") and access.can(actor, "update", "project")


async def send_back_stage(actor: Actor, project: dict[str, Any], to_stage: str, reason: str) -> None:
    await stages.transition(actor, project["id"], project["version"], "send_back", to_stage=to_stage, note=reason)


def can_record_collections(actor: Actor) -> bool:
    return access.can(actor, "create", "collection")


async def record_collection(actor: Actor, project: dict[str, Any], amount: decimal.Decimal, received_on: dt.date,
                            method: str, note: str) -> None:
    await collections.record_collection(actor, project["id"], amount=amount, received_on=received_on, method=method,
                                        note=note)


def can_complete_milestones(actor: Actor) -> bool:
    return access.can(actor, "update", "milestone")


# ---- the template editor (admin) ----------------------------------------------------------------------------------


async def template_editor(actor: Actor, business_line_id: uuid.UUID) -> dict[str, Any]:
    """The line's current template (as the plain document the editor changes) and every version with the number
    of open projects running it."""
    current = await templates.read_current(actor, business_line_id)
    return {"version_id": current.id, "number": current.number, "definition": plain(current.definition),
            "versions": await templates.version_usage(actor, business_line_id)}


async def check_template(definition: dict[str, Any]) -> dict[str, Any]:
    """Validate a draft without saving: Invalid naming the field (`definition.stages[2].sla_hours`), else the
    warnings (a ladder step to a role some branch lacks)."""
    decoded = definitions.decode(definition)
    return {"warnings": await templates.ladder_warnings(decoded)}


async def save_template(actor: Actor, business_line_id: uuid.UUID, definition: dict[str, Any],
                        based_on: int) -> dict[str, Any]:
    saved = await templates.save_template(actor, business_line_id, definition, based_on)
    return {"number": saved.number, "id": saved.id}


# ---- branch calendars (admin) ------------------------------------------------------------------------------------


async def branch_calendar(actor: Actor, branch_id: uuid.UUID) -> dict[str, Any] | None:
    """The branch's business-hours calendar as plain values, or None when it has none (wall-clock deadlines)."""
    try:
        reply: dict[str, Any] = plain(await calendars.read_calendar(actor, branch_id))
    except NotFound:
        return None
    return reply


async def save_branch_calendar(actor: Actor, branch_id: uuid.UUID, values: dict[str, Any],
                               version: int | None) -> dict[str, Any]:
    """Validate (shape errors name the field: `hours[0]`, `holidays[2]`) and store the branch's calendar."""
    try:
        calendar = msgspec.convert(values, CalendarDef)
    except msgspec.ValidationError as exc:
        text = str(exc)
        field = text.rsplit(" - at `$.", 1)[1].rstrip("`") if " - at `$." in text else None
        raise Invalid(text, field=field) from None
    saved: dict[str, Any] = plain(await calendars.save_calendar(actor, branch_id, calendar, version))
    return saved


def month_days(calendar: dict[str, Any] | None, year: int, month: int) -> list[dict[str, Any]]:
    """Each day of a month: weekday and whether it is a working day, weekend, holiday or make-up working day."""
    first = dt.date(year, month, 1)
    days = []
    day = first
    while day.month == month:
        if calendar is None:
            kind = "work"
        elif day in set(calendar.get("holidays") or []):
            kind = "holiday"
        elif day in set(calendar.get("workdays") or []):
            kind = "makeup"
        else:
            kind = "work" if day.isoweekday() in (calendar.get("working_days") or []) else "off"
        days.append({"date": day, "weekday": day.isoweekday(), "kind": kind})
        day += dt.timedelta(days=1)
    return days
