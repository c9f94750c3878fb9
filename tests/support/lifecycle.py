"""Shared steps for lifecycle tests: start projects, check milestones off as their owners, move stages."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable
from typing import Any, TypeVar

from backend.lifecycle import actions, stages
from backend.lifecycle.tables import Milestone, Timer
from backend.projects import services as projects
from backend.projects.schemas import ProjectOut
from backend.projects.tables import Project
from notifications.tables import InboxItem
from tests.support.factories import Org, actor

T = TypeVar("T")


def users_by_id(org: Org) -> dict[uuid.UUID, Any]:
    return {u.id: u for u in org.all_users().values()}


async def new_project(org: Org, *, owner: str = "agent1", branch: str = "a", line: Any = None, **values: Any) -> dict:
    """A project created through the service, as its agent (first stage entered)."""
    who = getattr(org, branch).users[owner]
    body = {"title": values.pop("title", "浦东三居室买卖"), "business_line_id": (line or org.line).id, **values}
    return await projects.create_project(actor(who), body)


async def open_milestones(project_id: uuid.UUID) -> list[dict]:
    return await Milestone.select().where((Milestone.project == project_id) & (Milestone.state == "open")).order_by(
        Milestone.position)


async def check_off(org: Org, project_id: uuid.UUID, keys: list[str] | None = None,
                    at: dt.datetime | None = None) -> None:
    """Complete the open milestones (or those with `keys`) of the current stage, each as its owner."""
    people = users_by_id(org)
    for row in await open_milestones(project_id):
        if row["auto"] or (keys is not None and row["key"] not in keys):
            continue
        await actions.complete_milestone(actor(people[row["owner"]]), row["id"], row["version"], at=at)


async def advance(org: Org, project_id: uuid.UUID, who: Any = None, at: dt.datetime | None = None) -> ProjectOut:
    project = await Project.select().where(Project.id == project_id).first()
    who = who or users_by_id(org)[project["owner"]]
    return await stages.transition(actor(who), project_id, project["version"], "advance", at=at)


async def walk_to(org: Org, project_id: uuid.UUID, stage_key: str, at: dt.datetime | None = None) -> None:
    """Check off every milestone and advance until the project is in `stage_key`."""
    while (await Project.select(Project.stage_key).where(Project.id == project_id).first())["stage_key"] != stage_key:
        await check_off(org, project_id, at=at)
        await advance(org, project_id, at=at)


async def inbox(user: Any, kind: str | None = None) -> list[dict]:
    query = InboxItem.select().where(InboxItem.user == user.id)
    if kind:
        query = query.where(InboxItem.kind == kind)
    return await query.order_by(InboxItem.created_at)


async def timers(milestone_id: uuid.UUID) -> list[dict]:
    return await Timer.select().where(Timer.milestone == milestone_id).order_by(Timer.level)


async def unlogged(work: Awaitable[T]) -> T:
    """Run test setup the way the factories insert rows: without leaving change-log rows behind, so a test can
    count exactly what the call under test writes."""
    from backend.audit.tables import ChangeLog

    mark = await ChangeLog.select(ChangeLog.seq).order_by(ChangeLog.seq, ascending=False).first()
    result = await work
    await ChangeLog.delete().where(ChangeLog.seq > (mark["seq"] if mark else 0))
    return result
