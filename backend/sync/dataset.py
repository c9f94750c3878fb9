"""What a device holds: the signed-in user's field-kit records, as the API would show them to that user.

Every query goes through `access.scope()` for its resource; the conditions added here only narrow it (a time
window, "mine", open records, children of records already chosen), so a device never holds a row its user could
not read through the JSON API. The set, in dependency order:

- visits scheduled from `PAST` before now to `AHEAD` after it (yesterday's viewing still takes notes);
- open projects the user owns, manages or takes part in, and the projects of those visits (summary columns);
- the user's own clients, and the clients of those visits and projects;
- the open opportunities (potential, following) of those clients;
- open milestones due before the window ends (or undated) that the user owns or that belong to those projects;
- notes of the last `NOTE_HISTORY` on any of those clients, projects and visits.

A record that stops matching (reassigned away, closed, deleted, past the window) leaves the set and the device
gets a tombstone for it; a record that starts matching arrives whole, with whatever children match with it.
To sync another resource, add a loader to `LOADERS` (after the resources it depends on) and a spec to `SPECS`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from backend import access, records
from backend.access import Actor
from backend.clients.services import CLIENT_SPEC, OPPORTUNITY_SPEC
from backend.clients.tables import Client, Opportunity
from backend.lifecycle.actions import MILESTONE_SPEC, milestone_to_api
from backend.lifecycle.tables import Milestone
from backend.projects.specs import PROJECT_SPEC
from backend.projects.tables import Project, ProjectMember
from backend.visits.services import NOTE_SPEC, VISIT_SPEC
from backend.visits.tables import Note, Visit

PAST = dt.timedelta(days=7)
AHEAD = dt.timedelta(days=14)
NOTE_HISTORY = dt.timedelta(days=90)
CHUNK = 500  # ids per IN (...) list
OPEN_OPPORTUNITY = ("potential", "following")
PROJECT_SUMMARY = (
    Project.id, Project.branch, Project.business_line, Project.client, Project.title, Project.owner, Project.manager,
    Project.stage_key, Project.status, Project.stage_entered_at, Project.next_due_at, Project.escalation_level,
    Project.opened_at, Project.created_at, Project.updated_at, Project.version,
)
SPECS: dict[str, records.Spec] = {
    "client": CLIENT_SPEC, "project": PROJECT_SPEC, "opportunity": OPPORTUNITY_SPEC, "visit": VISIT_SPEC,
    "milestone": MILESTONE_SPEC, "note": NOTE_SPEC,
}
RESOURCES = tuple(SPECS)  # also the order records are sent in: parents before children


@dataclass
class Dataset:
    """resource → record id → the record as the API shows it to this user."""

    now: dt.datetime
    window_from: dt.datetime
    window_to: dt.datetime
    records: dict[str, dict[uuid.UUID, dict[str, Any]]] = field(default_factory=lambda: {r: {} for r in RESOURCES})

    def ids(self, resource: str) -> set[uuid.UUID]:
        return set(self.records[resource])

    def add(self, resource: str, actor: Actor, rows: Iterable[dict[str, Any]]) -> None:
        shown = self.records[resource]
        for row in rows:
            if row["id"] not in shown:
                shown[row["id"]] = (milestone_to_api(actor, row, self.now) if resource == "milestone"
                                    else records.to_api(SPECS[resource], actor, row))

    def digests(self) -> dict[tuple[str, uuid.UUID], str]:
        return {(resource, record_id): digest(record)
                for resource, shown in self.records.items() for record_id, record in shown.items()}


_encoder = msgspec.json.Encoder(decimal_format="string")


def digest(record: dict[str, Any]) -> str:
    """16 hex characters naming this exact copy. Versions alone miss changes: the lifecycle's rollups (a project's
    next deadline and escalation level) and computed flags (`overdue`) change without a version bump."""
    return hashlib.blake2b(_encoder.encode(record), digest_size=8).hexdigest()


async def _scoped(actor: Actor, resource: str, query: Any, where: Any) -> list[dict[str, Any]]:
    if not access.can(actor, "list", resource):
        return []
    rows: list[dict[str, Any]] = await access.scope(query.where(where), actor, resource)
    return rows


async def _scoped_among(actor: Actor, resource: str, make_query: Callable[[], Any], column: Any,
                        ids: Iterable[uuid.UUID]) -> list[dict[str, Any]]:
    """`_scoped` restricted to `column IN ids`, in chunks (SQLite caps bound parameters per statement)."""
    wanted = sorted(set(ids) - {None}, key=str)
    rows: list[dict[str, Any]] = []
    for start in range(0, len(wanted), CHUNK):
        rows += await _scoped(actor, resource, make_query(), column.is_in(wanted[start:start + CHUNK]))
    return rows


async def _visits(actor: Actor, data: Dataset) -> None:
    window = (Visit.scheduled_at >= data.window_from) & (Visit.scheduled_at < data.window_to)
    data.add("visit", actor, await _scoped(actor, "visit", Visit.select(), window))


async def _projects(actor: Actor, data: Dataset) -> None:
    me = actor.id
    mine = (Project.owner == me) | (Project.manager == me) | Project.id.is_in(
        ProjectMember.select(ProjectMember.project).where(ProjectMember.user == me))
    is_open = Project.status == "open"
    data.add("project", actor, await _scoped(actor, "project", Project.select(*PROJECT_SUMMARY), is_open & mine))
    of_visits = {v["project_id"] for v in data.records["visit"].values()} - data.ids("project")
    data.add("project", actor, await _scoped_among(
        actor, "project", lambda: Project.select(*PROJECT_SUMMARY).where(is_open), Project.id, of_visits))


async def _clients(actor: Actor, data: Dataset) -> None:
    data.add("client", actor, await _scoped(actor, "client", Client.select(), Client.owner == actor.id))
    wanted = {r["client_id"] for r in (*data.records["visit"].values(), *data.records["project"].values())}
    data.add("client", actor,
             await _scoped_among(actor, "client", Client.select, Client.id, wanted - data.ids("client")))


async def _opportunities(actor: Actor, data: Dataset) -> None:
    data.add("opportunity", actor, await _scoped_among(
        actor, "opportunity", lambda: Opportunity.select().where(Opportunity.state.is_in(list(OPEN_OPPORTUNITY))),
        Opportunity.client, data.ids("client")))


async def _milestones(actor: Actor, data: Dataset) -> None:
    due = (Milestone.state == "open") & (Milestone.due_at.is_null() | (Milestone.due_at < data.window_to))
    data.add("milestone", actor,
             await _scoped(actor, "milestone", Milestone.select(), due & (Milestone.owner == actor.id)))
    data.add("milestone", actor, await _scoped_among(
        actor, "milestone", lambda: Milestone.select().where(due), Milestone.project, data.ids("project")))


async def _notes(actor: Actor, data: Dataset) -> None:
    recent = Note.created_at >= data.now - NOTE_HISTORY
    for column, parent in ((Note.visit, "visit"), (Note.client, "client"), (Note.project, "project")):
        data.add("note", actor, await _scoped_among(
            actor, "note", lambda: Note.select().where(recent), column, data.ids(parent)))


LOADERS: tuple[Callable[[Actor, Dataset], Awaitable[None]], ...] = (
    _visits, _projects, _clients, _opportunities, _milestones, _notes,
)


async def load(actor: Actor, now: dt.datetime | None = None) -> Dataset:
    now = now or records.now()
    data = Dataset(now=now, window_from=now - PAST, window_to=now + AHEAD)
    for loader in LOADERS:
        await loader(actor, data)
    return data
