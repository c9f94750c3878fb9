"""Screens' live updates: access is re-checked for every event, and a visible change re-runs the screen's query."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from reactpy import component, html
from reactpy.core.layout import Layout

from backend import db
from backend.audit.services import record_change
from backend.live import services as live
from backend.live.services import Event
from backend.projects.services import add_member, remove_member
from pwa.live import may_see, use_live_updates
from pwa.ui import use_query
from tests.support.factories import Org, actor

pytestmark = pytest.mark.anyio


def _project_event(project: Any, action: str = "update") -> Event:
    return Event(resource="projects", id=str(project.id), action=action,
                 scope={"branch": str(project.branch), "owner": str(project.owner)})


async def test_a_user_removed_from_the_team_stops_seeing_its_events_at_once(database, org: Org) -> None:
    project = org.a.records["agent1"]["project"]
    manager, outsider = actor(org.a.users["branch_manager"]), actor(org.a.users["agent2"])
    event = _project_event(project)
    milestone_event = Event(resource="project_stages", id=str(uuid.uuid4()), scope={"project": str(project.id)})
    assert not await may_see(outsider, event) and not await may_see(outsider, milestone_event)
    await add_member(manager, project.id, outsider.id)
    assert await may_see(outsider, event) and await may_see(outsider, milestone_event)
    await remove_member(manager, project.id, outsider.id)
    assert not await may_see(outsider, event) and not await may_see(outsider, milestone_event)


async def test_other_branches_and_other_users_inboxes_are_dropped(database, org: Org) -> None:
    project = org.a.records["agent1"]["project"]
    owner, other_branch = actor(org.a.users["agent1"]), actor(org.b.users["branch_manager"])
    assert await may_see(owner, _project_event(project))
    assert not await may_see(other_branch, _project_event(project))
    item = Event(resource="inbox_items", id=str(uuid.uuid4()), action="create", scope={"user": str(owner.id)})
    assert await may_see(owner, item) and not await may_see(other_branch, item)


async def test_a_removed_record_is_announced_through_its_visible_parent(database, org: Org) -> None:
    owner = actor(org.a.users["agent1"])
    visit = org.a.records["agent1"]["visit"]
    gone = Event(resource="photos", id=str(uuid.uuid4()), action="delete", scope={"visit": str(visit.id)})
    assert await may_see(owner, gone)
    assert not await may_see(owner, Event(resource="photos", id=gone.id, action="update", scope=gone.scope))
    assert not await may_see(actor(org.b.users["agent1"]), gone)


async def test_a_committed_change_re_runs_the_screens_query(database, org: Org) -> None:
    project = org.a.records["agent1"]["project"]
    owner = actor(org.a.users["agent1"])
    loads: list[int] = []

    async def load() -> int:
        loads.append(len(loads) + 1)
        return len(loads)

    @component
    def screen() -> Any:
        query = use_query(load, str(project.id))
        use_live_updates(owner, [("projects", {"id": project.id})], query.reload)
        return html.p({"id": "loads"}, str(query.data))

    before = live.subscriber_count()
    async with Layout(screen()) as layout:
        await layout.render()
        async with asyncio.timeout(10):
            while not loads:
                await layout.render()
            with pytest.raises(RuntimeError):
                async with db.write_transaction():
                    await record_change(actor_id=None, action="update", table="projects", row_id=project.id,
                                        branch_id=project.branch, owner_id=project.owner)
                    raise RuntimeError("rolled back: announces nothing")
            for _ in range(3):  # three changes in one moment: coalesced, yet at least one re-query follows
                async with db.write_transaction():
                    await record_change(actor_id=None, action="update", table="projects", row_id=project.id,
                                        branch_id=project.branch, owner_id=project.owner)
            while len(loads) < 2:
                await layout.render()
    assert loads[:2] == [1, 2]
    async with asyncio.timeout(10):  # the closed page's subscription is gone (no leak per session)
        while live.subscriber_count() != before:
            await asyncio.sleep(0.01)
