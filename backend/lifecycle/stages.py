"""Stage transitions: the one service through which a project starts, advances, goes back or closes.

Entering a stage writes its stage-history row, its milestones (owner and deadline resolved now, from the
project's own template version), one timer row per reminder and escalation level of each milestone, the
participants who need to open the project, the inbox items, and the change log, all in one transaction.
Leaving a stage closes its history row and cancels its open milestones and their pending timers.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec

from backend import access, db, records
from backend.access import Actor
from backend.accounts.tables import Branch
from backend.audit.services import record_changes
from backend.errors import Conflict, Invalid, NotFound
from backend.lifecycle import messages
from backend.lifecycle.calendars import deadlines_for
from backend.lifecycle.definitions import StageDef, TemplateDef
from backend.lifecycle.parties import Person, Staff, ensure_participants, load_people, open_load
from backend.lifecycle.tables import Milestone, StageEntry, Timer
from backend.lifecycle.templates import definition_of, ensure_template
from backend.lifecycle.workhours import Deadlines
from backend.projects.schemas import ProjectOut
from backend.projects.specs import PROJECT_SPEC
from backend.projects.tables import Project
from notifications import Notice, notify

CHUNK = 400


@dataclass
class Lifecycle:
    """A project with everything needed to run its lifecycle: its template version, clock and people."""

    project: dict[str, Any]
    definition: TemplateDef
    deadlines: Deadlines
    timezone: str
    staff: Staff
    notices: list[Notice] = field(default_factory=list)

    @property
    def id(self) -> uuid.UUID:
        project_id: uuid.UUID = self.project["id"]
        return project_id

    @property
    def branch(self) -> uuid.UUID:
        branch_id: uuid.UUID = self.project["branch"]
        return branch_id


async def lock_project(project_id: uuid.UUID) -> dict[str, Any]:
    """The project row, locked until commit on PostgreSQL (SQLite's write lock already serialises writers)."""
    query = Project.select().where(Project.id == project_id)
    if db.is_postgres():
        query = query.lock_rows("UPDATE")
    rows = await query
    if not rows:
        raise NotFound(f"No project with id {project_id}")
    return rows[0]


async def load(project: dict[str, Any]) -> Lifecycle:
    if project["template_version"] is None:
        raise Conflict("This project has no lifecycle yet", field="template_version")
    definition = await definition_of(project["template_version"])
    branch = await Branch.select(Branch.timezone).where(Branch.id == project["branch"]).first()
    timezone = branch["timezone"] if branch else "Asia/Shanghai"
    deadlines = await deadlines_for(project["branch"], definition.business_hours, timezone)
    people = await load_people([project["branch"]], [project["owner"], project["manager"]])
    staff = Staff(people, await open_load(project["branch"]))
    return Lifecycle(project, definition, deadlines, timezone, staff)


def fully_collected(project: dict[str, Any]) -> bool:
    contract = records.money(project["contract_value"])
    return contract > Decimal(0) and records.money(project["collected_amount"]) >= contract


def reminder_time(stage: StageDef, start: dt.datetime, sla_hours: int, deadlines: Deadlines) -> dt.datetime | None:
    before = stage.remind_before_hours
    return deadlines.add(start, sla_hours - before) if before and sla_hours > before else None


def plan_timers(
    milestone: Milestone, stage: StageDef, remind_at: dt.datetime | None, deadlines: Deadlines
) -> list[Timer]:
    """A reminder before the deadline (when `remind_at` is given) and one timer per escalation level,
    `after_hours` past the deadline."""
    common = {"milestone": milestone.id, "project": milestone.project, "branch": milestone.branch}
    timers = []
    if remind_at is not None:
        timers.append(Timer(kind="reminder", level=0, target="owner", due_at=remind_at, **common))
    for level, step in enumerate(stage.escalation, start=1):
        timers.append(Timer(kind="escalation", level=level, target=step.to, target_role=step.role or "",
                            target_user=step.user_id, due_at=deadlines.add(milestone.due_at, step.after_hours),
                            **common))
    return timers


def _created(table: str, row: Any, actor_id: uuid.UUID | None, owner: uuid.UUID | None) -> dict[str, Any]:
    values = row.to_dict()
    return {"actor_id": actor_id, "action": "create", "table": table, "row_id": values["id"], "after": values,
            "branch_id": values.get("branch"), "owner_id": owner}


async def insert_many(table: Any, rows: list[Any]) -> None:
    for start in range(0, len(rows), CHUNK):
        await table.insert(*rows[start:start + CHUNK])


async def enter_stage(life: Lifecycle, position: int, actor_id: uuid.UUID | None, at: dt.datetime) -> dict[str, Any]:
    """Create the stage's history row, milestones, timers, participants and notices; returns project changes."""
    stage = life.definition.stages[position]
    project = life.project
    stage_owner = life.staff.owner_for(stage.owner, project)
    entry = StageEntry(project=life.id, branch=life.branch, stage_key=stage.key, position=position,
                       owner=stage_owner.id if stage_owner else None, entered_at=at, entered_by=actor_id,
                       due_at=life.deadlines.add(at, stage.sla_hours))
    milestones, timers, owners = [], [], {}
    collected = fully_collected(project)
    for index, spec in enumerate(stage.milestones):
        owner = stage_owner if spec.owner == "stage_owner" else life.staff.owner_for(spec.owner, project)
        sla = spec.sla_hours or stage.sla_hours
        done = spec.auto == "full_collection" and collected
        milestone = Milestone(
            project=life.id, branch=life.branch, stage=entry.id, stage_key=stage.key, key=spec.key, position=index,
            title_zh=spec.title_zh, title_en=spec.title_en, owner=owner.id if owner else None,
            owner_rule=stage.owner if spec.owner == "stage_owner" else spec.owner, auto=spec.auto or "",
            state="done" if done else "open", due_at=life.deadlines.add(at, sla), done_at=at if done else None,
            created_at=at, updated_at=at,
        )
        milestones.append(milestone)
        if not done:
            owners[milestone.id] = owner
            timers += plan_timers(milestone, stage, reminder_time(stage, at, sla, life.deadlines), life.deadlines)
    await StageEntry.insert(entry)
    await insert_many(Milestone, milestones)
    await insert_many(Timer, timers)

    stage_names = (stage.name_zh, stage.name_en)
    common = {"project_id": life.id, "project": project["title"], "stage": stage_names, "timezone": life.timezone}
    told: set[uuid.UUID] = set()
    participants: list[tuple[uuid.UUID, Person, uuid.UUID, str]] = []
    for milestone in milestones:
        owner = owners.get(milestone.id)
        if owner is None:
            continue
        participants.append((life.id, owner, life.branch, "milestone"))
        told.add(owner.id)
        life.notices.append(messages.notice(
            "assignment", user_id=owner.id, lang=owner.language, source_id=milestone.id, milestone_id=milestone.id,
            milestone=(milestone.title_zh, milestone.title_en), due=milestone.due_at, **common))
    if stage_owner:
        participants.append((life.id, stage_owner, life.branch, "stage"))
    for party in dict.fromkeys(stage.notify_on_entry):
        people = ([life.staff.owner_for(party, project)] if party in ("project_owner", "project_manager")
                  else life.staff.in_role(life.branch, party))
        for person in people:
            if person is None or person.id in told or person.id == actor_id:
                continue
            told.add(person.id)
            participants.append((life.id, person, life.branch, "stage"))
            life.notices.append(messages.notice(
                "stage_entry", user_id=person.id, lang=person.language, source_id=entry.id,
                owner=stage_owner.display_name if stage_owner else "—", due=entry.due_at, **common))
    await ensure_participants(participants, actor_id, {life.id: project["owner"]})
    await record_changes(
        [_created("project_stages", entry, actor_id, entry.owner)]
        + [_created("project_milestones", m, actor_id, m.owner) for m in milestones]
    )
    open_dues = [m.due_at for m in milestones if m.state == "open"]
    return {"stage_key": stage.key, "stage_entered_at": at, "next_due_at": min(open_dues) if open_dues else None,
            "escalation_level": 0}


async def cancel_timers(milestone_ids: list[uuid.UUID], at: dt.datetime) -> None:
    for start in range(0, len(milestone_ids), CHUNK):
        await Timer.update({Timer.state: "cancelled", Timer.cancelled_at: at}).where(
            Timer.milestone.is_in(milestone_ids[start:start + CHUNK]) & (Timer.state == "pending"))


async def leave_stage(life: Lifecycle, outcome: str, actor_id: uuid.UUID, at: dt.datetime, note: str) -> None:
    """Close the current history row; its open milestones are cancelled with their pending timers."""
    entry = await StageEntry.select().where((StageEntry.project == life.id) & StageEntry.left_at.is_null()).order_by(
        StageEntry.entered_at, ascending=False).first()
    if entry is None:
        return
    closed = await Milestone.update({Milestone.state: "cancelled", Milestone.updated_at: at,
                                     Milestone.version: Milestone.version + 1}).where(
        (Milestone.stage == entry["id"]) & (Milestone.state == "open")).returning(Milestone.id, Milestone.owner)
    await cancel_timers([row["id"] for row in closed], at)
    await StageEntry.update({StageEntry.left_at: at, StageEntry.left_by: actor_id, StageEntry.outcome: outcome,
                             StageEntry.note: note}).where(StageEntry.id == entry["id"])
    await record_changes(
        [{"actor_id": actor_id, "action": outcome, "table": "project_stages", "row_id": entry["id"],
          "before": {"left_at": None}, "after": {"left_at": at, "outcome": outcome, "note": note},
          "branch_id": life.branch, "owner_id": entry["owner"]}]
        + [{"actor_id": actor_id, "action": "cancel", "table": "project_milestones", "row_id": row["id"],
            "before": {"state": "open"}, "after": {"state": "cancelled"}, "branch_id": life.branch,
            "owner_id": row["owner"]} for row in closed]
    )


async def prepare(values: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    """Lifecycle fields of a project about to be created: its business line's current template version (seeded
    on first use) and the first stage, so the project's one "create" change row already carries them."""
    line_id = values.get("business_line_id") or values.get("business_line")
    if line_id is None:
        raise Invalid("Choose the project's business line", field="business_line_id")
    version = await ensure_template(line_id)
    definition = await definition_of(version["id"])
    return {**values, "template_version_id": version["id"], "stage_key": definition.stages[0].key,
            "stage_entered_at": at}


async def start(actor: Actor, project_id: uuid.UUID, at: dt.datetime) -> dict[str, Any]:
    """Enter the first stage of a project just created with `prepare`d values (inside the creating transaction):
    its milestones, timers, participants and notices; the earliest deadline is kept on the project."""
    project = await lock_project(project_id)
    life = await load(project)
    changes = await enter_stage(life, 0, actor.id, at)
    if changes["next_due_at"] is not None:  # the create row was written before the first stage's deadlines existed
        await Project.update({Project.next_due_at: changes["next_due_at"]}).where(Project.id == project_id)
        await record_changes([{"actor_id": actor.id, "action": "rollup", "table": "projects", "row_id": project_id,
                               "before": {"next_due_at": None}, "after": {"next_due_at": changes["next_due_at"]},
                               "branch_id": project["branch"], "owner_id": project["owner"]}])
    await notify(life.notices, at=at)
    row = await Project.select().where(Project.id == project_id).first()
    assert row is not None
    return row


def missing_milestones(
    definition: TemplateDef, stage: StageDef, milestones: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The guard: each milestone the stage requires must be done in its latest run (a stage sent back and
    re-entered must be done again). `milestones` come oldest first."""
    latest = {row["key"]: row for row in milestones}
    missing = []
    for key in stage.requires:
        row = latest.get(key)
        if row is not None and row["state"] == "done":
            continue
        spec = definition.milestone(key)
        missing.append({"key": key, "milestone_id": row["id"] if row else None,
                        "state": row["state"] if row else "not_started",
                        "title_zh": spec.title_zh if spec else key, "title_en": spec.title_en if spec else key})
    return missing


async def _guard(life: Lifecycle, stage: StageDef) -> None:
    if not stage.requires:
        return
    rows = await Milestone.select(Milestone.id, Milestone.key, Milestone.state).where(
        (Milestone.project == life.id) & Milestone.key.is_in(stage.requires)
    ).order_by(Milestone.stage.entered_at).order_by(Milestone.position)
    missing = missing_milestones(life.definition, stage, rows)
    if missing:
        names = ", ".join(f"“{m['title_en']}” ({m['key']})" for m in missing)
        raise Conflict(f"Cannot leave “{stage.name_en}” yet: milestone {names} is not done", field="stage_key",
                       extra={"missing": missing})


async def transition(actor: Actor, project_id: uuid.UUID, version: int, action: str, *, to_stage: str | None = None,
                     note: str = "", at: dt.datetime | None = None) -> ProjectOut:
    """`advance`, `send_back` (to an earlier stage), `won` or `lost`; guards are checked before anything changes."""
    at = at or records.now()
    note = note.strip()
    async with db.write_transaction():
        await access.authorize(actor, "update", "project", project_id)
        project = await lock_project(project_id)
        if project["version"] != version:
            raise Conflict(f"This project was changed by someone else (version {project['version']}, yours {version})",
                           field="version", extra={"current": records.to_api(PROJECT_SPEC, actor, project)})
        if project["status"] != "open":
            raise Conflict(f"This project is closed ({project['status']})", field="status")
        life = await load(project)
        position = life.definition.position(project["stage_key"])
        stage = life.definition.stages[position]
        last = position == len(life.definition.stages) - 1
        changes: dict[str, Any]
        if action == "advance":
            if last:
                raise Conflict(f"“{stage.name_en}” is the last stage: close the project as won", field="stage_key")
            await _guard(life, stage)
            await leave_stage(life, "advanced", actor.id, at, note)
            changes = await enter_stage(life, position + 1, actor.id, at)
        elif action == "send_back":
            if not note:
                raise Invalid("Say why the project goes back", field="reason")
            keys = [s.key for s in life.definition.stages[:position]]
            if to_stage not in keys:
                raise Invalid(f"Send back to an earlier stage: one of {', '.join(keys) or 'none'}", field="to_stage")
            await leave_stage(life, "sent_back", actor.id, at, note)
            changes = await enter_stage(life, life.definition.position(to_stage), actor.id, at)
        elif action in ("won", "lost"):
            if action == "won":
                if not last:
                    raise Conflict(f"A project is won from its last stage, “{life.definition.stages[-1].name_en}”",
                                   field="status")
                await _guard(life, stage)
            elif not note:
                raise Invalid("Say why the project was lost", field="reason")
            await leave_stage(life, action, actor.id, at, note)
            changes = {"status": action, "closed_at": at, "next_due_at": None, "escalation_level": 0}
        else:
            raise Invalid(f"Unknown transition {action!r}", field="action")
        after = await records.apply_update(actor, PROJECT_SPEC, project_id, version, changes, action=action)
        await notify(life.notices, at=at)
    return msgspec.convert(records.to_api(PROJECT_SPEC, actor, after), ProjectOut, strict=False)


async def reopen(actor: Actor, project_id: uuid.UUID, version: int, reason: str,
                 at: dt.datetime | None = None) -> ProjectOut:
    """Undo a won or lost close (its owner or a manager: whoever may change the project), with the reason: the
    project is open again in the stage it closed from, which is entered afresh (milestones, deadlines, timers)."""
    at = at or records.now()
    reason = reason.strip()
    async with db.write_transaction():
        await access.authorize(actor, "update", "project", project_id)
        project = await lock_project(project_id)
        if not reason:
            raise Invalid("Say why the project is reopened", field="reason")
        if project["status"] not in ("won", "lost"):
            raise Conflict(f"Only a won or lost project can be reopened; this one is {project['status']}",
                           field="status")
        life = await load(project)
        changes = await enter_stage(life, life.definition.position(project["stage_key"]), actor.id, at)
        changes |= {"status": "open", "closed_at": None}
        after = await records.apply_update(actor, PROJECT_SPEC, project_id, version, changes, action="reopen",
                                           reason=reason)
        await notify(life.notices, at=at)
    return msgspec.convert(records.to_api(PROJECT_SPEC, actor, after), ProjectOut, strict=False)
