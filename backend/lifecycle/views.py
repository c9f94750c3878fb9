"""Read side of the lifecycle: where a project stands, and the milestone lists people work from."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from backend import access, records
from backend.access import Actor
from backend.lifecycle.actions import milestone_out
from backend.lifecycle.collections import list_collections
from backend.lifecycle.schemas import (
    CurrentStageOut,
    LifecycleOut,
    MilestoneOut,
    StageEntryOut,
    StageStatusOut,
    VersionRef,
)
from backend.lifecycle.tables import Milestone, StageEntry
from backend.lifecycle.templates import definition_of
from backend.projects.schemas import ProjectOut
from backend.projects.specs import PROJECT_SPEC
from backend.projects.tables import Project, TemplateVersion
from backend.service import Page

OWNER_NAME = Milestone.owner.display_name.as_alias("owner_name")


async def project_lifecycle(actor: Actor, project_id: uuid.UUID, now: dt.datetime | None = None) -> LifecycleOut:
    """Current stage, the template's stages marked done/current/upcoming, every milestone with its state, deadline
    and overdue flag, the escalation level reached, the stage history and (for roles that see money) collections."""
    now = now or records.now()
    await access.authorize(actor, "read", "project", project_id)
    project = await Project.select().where(Project.id == project_id).first()
    assert project is not None
    summary = msgspec.convert(records.to_api(PROJECT_SPEC, actor, project), ProjectOut, strict=False)
    out = LifecycleOut(
        project=summary, status=project["status"], stage_key=project["stage_key"],
        stage_entered_at=project["stage_entered_at"], next_due_at=project["next_due_at"],
        overdue=summary.overdue, escalation_level=project["escalation_level"],
        template_version=None, stages=[], current_stage=None, milestones=[], history=[],
    )
    if project["template_version"] is None:
        return out
    version = await TemplateVersion.select(TemplateVersion.id, TemplateVersion.number).where(
        TemplateVersion.id == project["template_version"]).first()
    definition = await definition_of(project["template_version"])
    history = await StageEntry.select(
        *StageEntry.all_columns(), StageEntry.owner.display_name.as_alias("owner_name")
    ).where(StageEntry.project == project_id).order_by(StageEntry.entered_at)
    milestones = await access.scope(Milestone.select(*Milestone.all_columns(), OWNER_NAME), actor, "milestone").where(
        Milestone.project == project_id).order_by(Milestone.stage.entered_at).order_by(Milestone.position)
    reached = {entry["stage_key"] for entry in history}
    position = definition.position(project["stage_key"])
    out.template_version = VersionRef(id=version["id"], number=version["number"]) if version else None
    out.stages = [
        StageStatusOut(key=s.key, name_zh=s.name_zh, name_en=s.name_en, position=i, owner_rule=s.owner,
                       sla_hours=s.sla_hours, requires=s.requires,
                       status=("current" if i == position and project["status"] == "open"
                               else "done" if i < position or (s.key in reached and project["status"] != "open")
                               else "upcoming"))
        for i, s in enumerate(definition.stages)
    ]
    current = next((e for e in reversed(history) if e["left_at"] is None), None)
    if current is not None:
        out.current_stage = CurrentStageOut(**_entry(current), name_zh=definition.stages[position].name_zh,
                                            name_en=definition.stages[position].name_en)
    out.milestones = [milestone_out(actor, m, now) for m in milestones]
    out.history = [StageEntryOut(**_entry(e)) for e in history]
    if access.can(actor, "list", "collection"):
        out.collections = await list_collections(actor, project_id)
    return out


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "stage_key": row["stage_key"], "position": row["position"], "owner_id": row["owner"],
            "owner_name": row["owner_name"], "entered_at": row["entered_at"], "entered_by_id": row["entered_by"],
            "due_at": row["due_at"], "left_at": row["left_at"], "left_by_id": row["left_by"],
            "outcome": row["outcome"], "note": row["note"]}


async def list_milestones(actor: Actor, *, owner_id: uuid.UUID | None = None, project_id: uuid.UUID | None = None,
                          state: str | None = None, overdue: bool | None = None, limit: int = 50, offset: int = 0,
                          now: dt.datetime | None = None) -> Page[MilestoneOut]:
    """Milestones the actor may see, soonest deadline first: "my open tasks", "my branch's overdue list"."""
    now = now or records.now()
    if not access.can(actor, "list", "milestone"):
        return Page(items=[], total=0, limit=limit, offset=offset)
    clauses: list[Any] = []
    if owner_id is not None:
        clauses.append(Milestone.owner == owner_id)
    if project_id is not None:
        clauses.append(Milestone.project == project_id)
    if state is not None:
        clauses.append(Milestone.state == state)
    if overdue is True:
        clauses += [Milestone.state == "open", Milestone.due_at < now]
    elif overdue is False:
        clauses.append((Milestone.state != "open") | (Milestone.due_at >= now))
    query = access.scope(Milestone.select(*Milestone.all_columns(), OWNER_NAME,
                                          Milestone.project.title.as_alias("project_title")), actor, "milestone")
    count = access.scope(Milestone.count(), actor, "milestone")
    for clause in clauses:
        query, count = query.where(clause), count.where(clause)
    rows = await query.order_by(Milestone.due_at).order_by(Milestone.id).limit(limit).offset(offset)
    items = [milestone_out(actor, r, now) for r in rows]
    return Page(items=items, total=await count, limit=limit, offset=offset)


async def read_milestone(actor: Actor, milestone_id: uuid.UUID) -> MilestoneOut:
    await access.authorize(actor, "read", "milestone", milestone_id)
    row = await Milestone.select(*Milestone.all_columns(), OWNER_NAME).where(Milestone.id == milestone_id).first()
    assert row is not None
    return milestone_out(actor, row)
