"""What people do to milestones and projects besides moving stages: check a milestone off, hand it (or the whole
project) to someone else, and chase an owner. Each writes the change log; each keeps the timers right."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import msgspec

from backend import access, db, records
from backend.access import Actor
from backend.audit.services import record_change, record_changes
from backend.audit.tables import ChangeLog
from backend.errors import Conflict, Invalid, NotFound
from backend.lifecycle import messages
from backend.lifecycle.parties import Staff, ensure_participants, load_people
from backend.lifecycle.schemas import MilestoneOut, NudgeOut
from backend.lifecycle.stages import cancel_timers, insert_many, load, lock_project, plan_timers
from backend.lifecycle.tables import Milestone, StageEntry, Timer
from backend.projects.specs import PROJECT_SPEC
from backend.projects.tables import Project
from backend.specs import is_overdue
from notifications import notify
from notifications.tables import InboxItem

MILESTONE_SPEC = records.Spec(
    resource="milestone", table=Milestone, search=("title_zh", "title_en"),
    filters={"owner": uuid.UUID, "project": uuid.UUID, "state": str, "stage_key": str},
)


def milestone_to_api(actor: Actor, row: dict[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
    out = records.to_api(MILESTONE_SPEC, actor, row)
    now = now or records.now()
    out["overdue"] = row["state"] == "open" and is_overdue(row["due_at"], now)
    return out


def milestone_out(actor: Actor, row: dict[str, Any], now: dt.datetime | None = None) -> MilestoneOut:
    """The typed reply; joined columns of `row` (`owner_name`, `project_title`) come along."""
    return msgspec.convert(milestone_to_api(actor, row, now), MilestoneOut, strict=False)


async def refresh_rollup(project_ids: list[uuid.UUID], actor_id: uuid.UUID | None) -> None:
    """Recompute each project's earliest open deadline and highest open escalation level; a project whose
    figures change gets a change-log row ("rollup"), so the trail shows when its deadline or level moved."""
    rows = await Milestone.select(Milestone.project, Milestone.due_at, Milestone.escalation_level).where(
        Milestone.project.is_in(project_ids) & (Milestone.state == "open"))
    projects = await Project.select(Project.id, Project.next_due_at, Project.escalation_level, Project.branch,
                                    Project.owner).where(Project.id.is_in(project_ids))
    changes = []
    for project in projects:
        mine = [r for r in rows if r["project"] == project["id"]]
        dues = [r["due_at"] for r in mine if r["due_at"] is not None]
        after = {"next_due_at": min(dues) if dues else None,
                 "escalation_level": max((r["escalation_level"] for r in mine), default=0)}
        before = {key: project[key] for key in after}
        if before == after:
            continue
        await Project.update({Project.next_due_at: after["next_due_at"],
                              Project.escalation_level: after["escalation_level"]}).where(Project.id == project["id"])
        changes.append({"actor_id": actor_id, "action": "rollup", "table": "projects", "row_id": project["id"],
                        "before": before, "after": after, "branch_id": project["branch"], "owner_id": project["owner"]})
    await record_changes(changes)


async def _open_milestone(actor: Actor, action: access.Action, milestone_id: uuid.UUID) -> dict[str, Any]:
    await access.authorize(actor, action, "milestone", milestone_id)
    row = await records.fetch(MILESTONE_SPEC, milestone_id)
    assert row is not None
    if row["state"] != "open":
        raise Conflict(f"This milestone is {row['state']}", field="state",
                       extra={"current": milestone_to_api(actor, row)})
    return row


async def complete_milestone(actor: Actor, milestone_id: uuid.UUID, version: int, note: str = "",
                             at: dt.datetime | None = None) -> MilestoneOut:
    """Check a milestone off; its pending reminder and escalations are cancelled in the same transaction."""
    at = at or records.now()
    async with db.write_transaction():
        row = await _open_milestone(actor, "update", milestone_id)
        if row["auto"] == "full_collection":
            raise Conflict("This milestone completes itself when the collections reach the contract value",
                           field="auto")
        after = await records.apply_update(actor, MILESTONE_SPEC, milestone_id, version, {
            "state": "done", "done_at": at, "done_by": actor.id, "note": note.strip()}, action="complete")
        await cancel_timers([milestone_id], at)
        await refresh_rollup([row["project"]], actor.id)
    return milestone_out(actor, after, at)


async def complete_automatically(project_id: uuid.UUID, rule: str, actor_id: uuid.UUID | None,
                                 at: dt.datetime) -> list[uuid.UUID]:
    """Complete the project's open milestones of an automatic rule (inside the caller's transaction)."""
    done = await Milestone.update({Milestone.state: "done", Milestone.done_at: at, Milestone.updated_at: at,
                                   Milestone.version: Milestone.version + 1}).where(
        (Milestone.project == project_id) & (Milestone.auto == rule) & (Milestone.state == "open")
    ).returning(Milestone.id, Milestone.branch, Milestone.owner)
    if done:
        await cancel_timers([r["id"] for r in done], at)
        await record_changes([{"actor_id": actor_id, "action": "auto_complete", "table": "project_milestones",
                               "row_id": r["id"], "before": {"state": "open"}, "after": {"state": "done", "auto": rule},
                               "branch_id": r["branch"], "owner_id": r["owner"], "row": {"project": project_id}}
                              for r in done])
        await refresh_rollup([project_id], actor_id)
    return [r["id"] for r in done]


async def _replan(project: dict[str, Any], rows: list[dict[str, Any]], at: dt.datetime) -> None:
    """Timers again for milestones opened again: the reminder and escalation steps still ahead of `at` (steps
    already past fired when the milestone was first open, or would only repeat an old alarm)."""
    if not rows:
        return
    life = await load(project)
    timers = []
    for row in rows:
        due = row["due_at"]
        if due is None or row["stage_key"] not in {s.key for s in life.definition.stages}:
            continue
        stage = life.definition.stage(row["stage_key"])
        remind_at = due - dt.timedelta(hours=stage.remind_before_hours) if stage.remind_before_hours else None
        milestone = Milestone(id=row["id"], project=row["project"], branch=row["branch"], due_at=due,
                              _ignore_missing=True)
        timers += [t for t in plan_timers(milestone, stage, remind_at, life.deadlines) if t.due_at > at]
    await insert_many(Timer, timers)


def _current_stage_ids(project_id: uuid.UUID) -> Any:
    return StageEntry.select(StageEntry.id).where((StageEntry.project == project_id) & StageEntry.left_at.is_null())


async def reopen_automatically(project: dict[str, Any], rule: str, actor_id: uuid.UUID | None,
                               at: dt.datetime) -> list[uuid.UUID]:
    """Open again the project's done milestones of an automatic rule in its current stage (a corrected payment took
    the total back below the contract value), inside the caller's transaction."""
    opened = await Milestone.update({Milestone.state: "open", Milestone.done_at: None, Milestone.done_by: None,
                                     Milestone.updated_at: at, Milestone.version: Milestone.version + 1}).where(
        (Milestone.project == project["id"]) & (Milestone.auto == rule) & (Milestone.state == "done")
        & Milestone.stage.is_in(_current_stage_ids(project["id"]))
    ).returning(Milestone.id, Milestone.branch, Milestone.owner, Milestone.project, Milestone.stage_key,
                Milestone.due_at)
    if opened:
        await record_changes([{"actor_id": actor_id, "action": "auto_reopen", "table": "project_milestones",
                               "row_id": r["id"], "before": {"state": "done"}, "after": {"state": "open", "auto": rule},
                               "branch_id": r["branch"], "owner_id": r["owner"], "row": r} for r in opened])
        await _replan(project, opened, at)
        await refresh_rollup([project["id"]], actor_id)
    return [r["id"] for r in opened]


async def reopen_milestone(actor: Actor, milestone_id: uuid.UUID, version: int, reason: str,
                           at: dt.datetime | None = None) -> MilestoneOut:
    """Undo a check-off ticked by mistake, while its stage is still the current one: the milestone is open again
    with its deadline, and the reminder and escalation steps still ahead are planned again. The reason is logged."""
    at = at or records.now()
    reason = reason.strip()
    async with db.write_transaction():
        await access.authorize(actor, "update", "milestone", milestone_id)
        row = await records.fetch(MILESTONE_SPEC, milestone_id)
        assert row is not None
        if not reason:
            raise Invalid("Say why the milestone is reopened", field="reason")
        if row["state"] != "done":
            raise Conflict(f"Only a done milestone can be reopened; this one is {row['state']}", field="state")
        if row["auto"]:
            raise Conflict("This milestone follows the collections: correct or void a payment instead", field="auto")
        project = await lock_project(row["project"])
        current = await StageEntry.exists().where((StageEntry.id == row["stage"]) & StageEntry.left_at.is_null())
        if project["status"] != "open" or not current:
            raise Conflict("Only a milestone of the project's current stage can be reopened", field="stage_key")
        after = await records.apply_update(actor, MILESTONE_SPEC, milestone_id, version,
                                           {"state": "open", "done_at": None, "done_by": None},
                                           action="reopen", reason=reason)
        await _replan(project, [after], at)
        await refresh_rollup([row["project"]], actor.id)
    return milestone_out(actor, after, at)


async def reassign_milestone(actor: Actor, milestone_id: uuid.UUID, owner_id: uuid.UUID, version: int,
                             due_at: dt.datetime | None = None, at: dt.datetime | None = None) -> MilestoneOut:
    """Give an open milestone to another user of the branch.

    Pending timers name their recipients by rule (owner, owner's supervisor, …) and are resolved when they fire,
    so they follow the new owner. With a new `due_at` the deadline moves: the milestone's escalation level goes
    back to 0 and its reminder and ladder are planned again from the new deadline.
    """
    at = at or records.now()
    async with db.write_transaction():
        await records.authorize_reassign(actor, "milestone", milestone_id, owner_id)
        row = await _open_milestone(actor, "reassign", milestone_id)
        changes: dict[str, Any] = {"owner": owner_id}
        if due_at is not None:
            if due_at <= at:
                raise Invalid("The new deadline must lie in the future", field="due_at")
            changes |= {"due_at": due_at, "escalation_level": 0}
        after = await records.apply_update(actor, MILESTONE_SPEC, milestone_id, version, changes, action="reassign")
        project = await lock_project(row["project"])
        life = await load(project)
        if due_at is not None:
            await cancel_timers([milestone_id], at)
            stage = life.definition.stage(row["stage_key"])
            remind_at = due_at - dt.timedelta(hours=stage.remind_before_hours) if stage.remind_before_hours else None
            milestone = Milestone(id=milestone_id, project=row["project"], branch=row["branch"], due_at=due_at,
                                  _ignore_missing=True)
            await insert_many(Timer, plan_timers(milestone, stage, remind_at if remind_at and remind_at > at else None,
                                                 life.deadlines))
        owner = life.staff.active(owner_id)
        if owner is not None:
            await ensure_participants([(row["project"], owner, row["branch"], "milestone")], actor.id,
                                      {row["project"]: project["owner"]})
            stage = life.definition.stage(row["stage_key"])
            await notify([messages.notice(
                "assignment", user_id=owner.id, lang=owner.language, project_id=row["project"],
                source_id=milestone_id, milestone_id=milestone_id, milestone=(row["title_zh"], row["title_en"]),
                project=project["title"], stage=(stage.name_zh, stage.name_en), due=after["due_at"],
                timezone=life.timezone)], at=at)
        await refresh_rollup([row["project"]], actor.id)
    return milestone_out(actor, after, at)


async def reassign_project(actor: Actor, project_id: uuid.UUID, owner_id: uuid.UUID, version: int,
                           at: dt.datetime | None = None) -> dict[str, Any]:
    """Hand a project to another user of the branch, with the open milestones its owner held as project owner."""
    at = at or records.now()
    async with db.write_transaction():
        await records.authorize_reassign(actor, "project", project_id, owner_id)
        before = await lock_project(project_id)
        after = await records.apply_update(actor, PROJECT_SPEC, project_id, version, {"owner": owner_id},
                                           action="reassign")
        moved = await Milestone.update({Milestone.owner: owner_id, Milestone.updated_at: at,
                                        Milestone.version: Milestone.version + 1}).where(
            (Milestone.project == project_id) & (Milestone.state == "open") & (Milestone.owner == before["owner"])
            & (Milestone.owner_rule == "project_owner")
        ).returning(Milestone.id)
        await record_changes([{"actor_id": actor.id, "action": "reassign", "table": "project_milestones",
                               "row_id": r["id"], "before": {"owner": before["owner"]}, "after": {"owner": owner_id},
                               "branch_id": before["branch"], "owner_id": owner_id} for r in moved])
        person = Staff(await load_people([], [owner_id])).active(owner_id)
        if person is not None:
            await notify([messages.notice("project_assigned", user_id=owner_id, lang=person.language,
                                          project_id=project_id, source_id=project_id, project=before["title"],
                                          manager=actor.display_name or actor.username)], at=at)
    return records.to_api(PROJECT_SPEC, actor, after)


COMMENT_MAX = 2000


async def previous_owner(milestone_id: uuid.UUID, owner_id: uuid.UUID | None) -> uuid.UUID | None:
    """Who held the milestone before its current owner, from the change log (None if it was made theirs)."""
    rows = await ChangeLog.select(ChangeLog.changes).where(
        (ChangeLog.table_name == "project_milestones") & (ChangeLog.row_id == str(milestone_id))
        & ChangeLog.action.is_in(["reassign", "reject"])).order_by(ChangeLog.seq, ascending=False)
    for row in rows:
        changes = json.loads(row["changes"]) if isinstance(row["changes"], str) else row["changes"] or {}
        before, after = changes.get("before") or {}, changes.get("after") or {}
        if str(after.get("owner")) == str(owner_id) and before.get("owner"):
            return uuid.UUID(str(before["owner"]))
    return None


async def reject_review(actor: Actor, milestone_id: uuid.UUID, version: int, comment: str,
                        at: dt.datetime | None = None) -> MilestoneOut:
    """Legal sends a review back: the milestone returns, open, to whoever held it before (else the project's
    owner, who prepared what was reviewed) with the comment as its note, and they are told why."""
    at = at or records.now()
    comment = comment.strip()
    async with db.write_transaction():
        row = await _open_milestone(actor, "reject", milestone_id)
        if row["owner_rule"] not in access.REVIEW_RULES:
            raise Conflict("Only a review can be rejected; check it off or reassign it", field="owner_rule")
        if not comment:
            raise Invalid("Say what must change", field="comment")
        if len(comment) > COMMENT_MAX:
            raise Invalid(f"At most {COMMENT_MAX} characters", field="comment")
        project = await lock_project(row["project"])
        back_to = await previous_owner(milestone_id, row["owner"])
        if back_to is None or back_to == row["owner"]:
            back_to = project["owner"]
        staff = Staff(await load_people([], [back_to]))
        person = staff.active(back_to)
        if person is None:
            raise Conflict("Whoever held it before is no longer active; reassign it instead", field="owner_id")
        after = await records.apply_update(actor, MILESTONE_SPEC, milestone_id, version, {
            "owner": back_to, "note": comment}, action="reject")
        await ensure_participants([(row["project"], person, row["branch"], "milestone")], actor.id,
                                  {row["project"]: project["owner"]})
        await notify([messages.notice(
            "review_rejected", user_id=back_to, lang=person.language, project_id=row["project"],
            source_id=milestone_id, milestone_id=milestone_id, milestone=(row["title_zh"], row["title_en"]),
            project=project["title"], reviewer=actor.display_name or actor.username, comment=comment)], at=at)
        await refresh_rollup([row["project"]], actor.id)
    return milestone_out(actor, after, at)


NUDGE_WINDOW = dt.timedelta(minutes=10)


async def nudge(actor: Actor, resource: str, record_id: uuid.UUID, message: str,
                at: dt.datetime | None = None) -> NudgeOut:
    """A manager chases the owner of a milestone or a project: an inbox item naming the project (and milestone)
    with the manager's words. A second nudge of the same owner about the same record within ten minutes is the
    same nudge (a double tap, or two managers at once): its reply names the first item and nothing is sent."""
    at = at or records.now()
    message = message.strip()
    if not message:
        raise Invalid("Write what you want to say", field="message")
    async with db.write_transaction():
        await access.authorize(actor, "nudge", resource, record_id)
        if resource == "milestone":
            row = await _open_milestone(actor, "nudge", record_id)
            project = await lock_project(row["project"])  # nudges of one project take turns: one wins the window
            project_id, owner_id, milestone_id = row["project"], row["owner"], record_id
            subject: Any = (row["title_zh"], row["title_en"])
            overdue = is_overdue(row["due_at"], at)
        else:
            row = project = await lock_project(record_id)
            project_id, owner_id, milestone_id, subject = record_id, row["owner"], None, row["title"]
            overdue = bool(row.get("escalation_level")) or is_overdue(row.get("next_due_at"), at)
        if owner_id is None:
            raise NotFound("Nobody owns this yet; reassign it first", field="owner_id")
        person = Staff(await load_people([], [owner_id])).active(owner_id)
        if person is None:
            raise Conflict("The owner's account is disabled; reassign it instead", field="owner_id")
        earlier = await InboxItem.select(InboxItem.id, InboxItem.created_at).where(
            (InboxItem.kind == "nudge") & (InboxItem.user == owner_id) & (InboxItem.subject_id == record_id)
            & (InboxItem.created_at > at - NUDGE_WINDOW)).order_by(InboxItem.created_at).first()
        if earlier is not None:
            return NudgeOut(notified_user_id=owner_id, inbox_item_id=earlier["id"], at=earlier["created_at"],
                            repeated=True)
        [item_id] = await notify([messages.notice(
            "nudge", user_id=owner_id, lang=person.language, project_id=project_id, source_id=record_id,
            milestone_id=milestone_id, urgent=overdue, manager=actor.display_name or actor.username,
            project=project["title"], subject=subject, message=message)], at=at)
        await record_change(actor_id=actor.id, action="nudge", table=access.TABLES[resource]._meta.tablename,
                            row_id=record_id, after={"to": owner_id, "message": message, "inbox_item": item_id},
                            branch_id=row["branch"], owner_id=owner_id)
    return NudgeOut(notified_user_id=owner_id, inbox_item_id=item_id, at=at)
