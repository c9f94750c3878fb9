"""Who may see and change what: the one home of role-scoped access (ARCHITECTURE.md, "Access control").

`scope()` filters every list, `authorize()` guards every single record, `mask()` hides fields per role.
A record is authorised by running the same scope query restricted to its id, so the list and the
single-record rules can never disagree. Nothing else in the code base filters by role.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from piccolo.columns.combination import WhereRaw
from piccolo.query import Select
from piccolo.table import Table

from backend.accounts.tables import Branch, Device, Region, User
from backend.audit.tables import ChangeLog
from backend.clients.tables import Client, Opportunity
from backend.errors import Forbidden, NotFound
from backend.lifecycle.tables import BusinessCalendar, Collection, Milestone
from backend.photos.tables import Photo
from backend.projects.tables import BusinessLine, Project, ProjectMember, TemplateVersion
from backend.specs import BUSINESS_ROLES, ROLES
from backend.visits.tables import Note, Visit
from notifications.push.tables import PushDelivery
from notifications.tables import InboxItem

Action = Literal["list", "read", "create", "update", "delete", "reassign", "nudge"]
Mode = Literal["read", "write"]
ADMIN_TABLES = ("users", "branches", "regions", "business_lines", "lifecycle_template_versions", "business_calendars")


@dataclass(frozen=True)
class Actor:
    """The signed-in user as access rules see it."""

    id: uuid.UUID
    role: str
    branch_id: uuid.UUID
    username: str = ""
    display_name: str = ""
    session_id: uuid.UUID | None = None
    csrf_token: str = ""
    language: str = ""


NOTHING = WhereRaw("1 = 0")
EVERYTHING = None

TABLES: dict[str, type[Table]] = {
    "region": Region,
    "branch": Branch,
    "user": User,
    "business_line": BusinessLine,
    "client": Client,
    "opportunity": Opportunity,
    "project": Project,
    "visit": Visit,
    "note": Note,
    "photo": Photo,
    "template_version": TemplateVersion,
    "calendar": BusinessCalendar,
    "milestone": Milestone,
    "collection": Collection,
    "notification": InboxItem,
    "device": Device,
    "push_delivery": PushDelivery,
    "audit": ChangeLog,
}

# Which actions each role may take on each resource, before row visibility is considered.
ALL: frozenset[str] = frozenset({"list", "read", "create", "update", "delete"})
READ: frozenset[str] = frozenset({"list", "read"})
WRITE_NO_DELETE: frozenset[str] = frozenset({"list", "read", "create", "update"})
MANAGE: frozenset[str] = ALL | {"reassign"}
NONE: frozenset[str] = frozenset()
ADD_REMOVE: frozenset[str] = frozenset({"list", "read", "create", "delete"})
CHECK_OFF: frozenset[str] = frozenset({"list", "read", "update"})
RECORD: frozenset[str] = frozenset({"list", "read", "create"})

ACTIONS: dict[str, dict[str, frozenset[str]]] = {
    "region": {**{r: READ for r in BUSINESS_ROLES}, "admin": ALL},
    "branch": {**{r: READ for r in BUSINESS_ROLES}, "admin": ALL},
    "business_line": {**{r: READ for r in BUSINESS_ROLES}, "admin": ALL},
    "user": {**{r: READ for r in BUSINESS_ROLES}, "admin": WRITE_NO_DELETE},
    "client": {
        "agent": WRITE_NO_DELETE, "project_manager": READ, "legal": NONE, "finance": NONE,
        "branch_manager": MANAGE, "executive": READ, "admin": NONE,
    },
    "opportunity": {
        "agent": WRITE_NO_DELETE, "project_manager": READ, "legal": NONE, "finance": NONE,
        "branch_manager": MANAGE, "executive": READ, "admin": NONE,
    },
    "project": {
        "agent": WRITE_NO_DELETE, "project_manager": WRITE_NO_DELETE | {"nudge"}, "legal": READ, "finance": READ,
        "branch_manager": MANAGE | {"nudge"}, "executive": READ, "admin": NONE,
    },
    "visit": {
        "agent": ALL, "project_manager": ALL, "legal": NONE, "finance": NONE,
        "branch_manager": MANAGE, "executive": READ, "admin": NONE,
    },
    "note": {
        "agent": ALL, "project_manager": ALL, "legal": ALL, "finance": NONE,
        "branch_manager": ALL, "executive": READ, "admin": NONE,
    },
    # Photos are immutable: no update. Finance sees amounts, not photos (ARCHITECTURE.md); admin no business data.
    "photo": {
        "agent": ADD_REMOVE, "project_manager": ADD_REMOVE, "legal": ADD_REMOVE, "finance": NONE,
        "branch_manager": ADD_REMOVE, "executive": READ, "admin": NONE,
    },
    "audit": {
        "agent": NONE, "project_manager": NONE, "legal": NONE, "finance": NONE,
        "branch_manager": READ, "executive": READ, "admin": READ,
    },
    "template_version": {**{r: READ for r in BUSINESS_ROLES}, "admin": RECORD},
    "calendar": {**{r: READ for r in BUSINESS_ROLES}, "admin": ALL},
    # Milestones are checked off (update) by their owner, or on the projects a manager runs; managers also move
    # (reassign) and chase (nudge) them.
    "milestone": {
        "agent": CHECK_OFF, "project_manager": CHECK_OFF | {"reassign", "nudge"}, "legal": CHECK_OFF,
        "finance": CHECK_OFF, "branch_manager": CHECK_OFF | {"reassign", "nudge"}, "executive": READ, "admin": NONE,
    },
    # Payments received (回款): finance records them, branch managers may too; legal has no need to see them.
    "collection": {
        "agent": READ, "project_manager": READ, "legal": NONE, "finance": RECORD,
        "branch_manager": RECORD, "executive": READ, "admin": NONE,
    },
    # Everyone has an inbox, reads only their own, and marks its items read (update).
    "notification": {r: CHECK_OFF for r in ROLES},
    # Everyone manages their own devices (push subscription on them); only admins see delivery counts.
    "device": {r: frozenset({"list", "read", "update"}) for r in ROLES},
    "push_delivery": {**{r: NONE for r in BUSINESS_ROLES}, "admin": READ},
}

# Fields a role never receives, even on records it may see.
FIELD_MASK: dict[str, dict[str, frozenset[str]]] = {
    "finance": {"project": frozenset({"description"}), "client": frozenset({"private_notes", "phone"})},
}


def _team_projects(actor: Actor) -> Select:
    return ProjectMember.select(ProjectMember.project).where(
        (ProjectMember.user == actor.id) & (ProjectMember.kind == "team")
    )


def _participating_projects(actor: Actor) -> Select:
    return ProjectMember.select(ProjectMember.project).where(ProjectMember.user == actor.id)


def _managed_projects(actor: Actor, column: str = "id") -> Select:
    """Projects a project manager runs: the ones they manage or own."""
    return Project.select(getattr(Project, column)).where((Project.manager == actor.id) | (Project.owner == actor.id))


def _visible_ids(resource: str, actor: Actor) -> Select:
    table = TABLES[resource]
    return scope(table.select(table._meta.primary_key), actor, resource)


def _predicate(resource: str, actor: Actor, mode: Mode) -> Any:
    """The row filter for `actor` on `resource`: a Piccolo where clause, EVERYTHING or NOTHING."""
    role, me, branch = actor.role, actor.id, actor.branch_id
    if role not in ACTIONS[resource] or not ACTIONS[resource][role]:
        return NOTHING
    if resource == "notification":
        return InboxItem.user == me  # executives too mark their own inbox read
    if resource == "device":
        return Device.user == me
    if resource == "push_delivery":
        return EVERYTHING
    if mode == "write" and role == "executive":
        return NOTHING
    if resource in ("region", "branch", "business_line", "template_version", "calendar"):
        return EVERYTHING if mode == "read" or role == "admin" else NOTHING
    if resource == "user":
        if role in ("admin", "executive"):
            return EVERYTHING if mode == "read" or role == "admin" else NOTHING
        if mode == "write":
            return NOTHING
        return User.branch == branch if role in ("branch_manager", "project_manager") else User.id == me
    if resource == "audit":
        if role == "admin":
            return ChangeLog.table_name.is_in(list(ADMIN_TABLES))
        return EVERYTHING if role == "executive" else ChangeLog.branch_id == branch
    table = TABLES[resource]
    if role == "branch_manager":
        return table.branch == branch  # type: ignore[attr-defined]
    if role == "executive":
        return EVERYTHING
    if resource == "client":
        if role == "agent":
            return Client.owner == me
        return Client.id.is_in(_managed_projects(actor, "client"))
    if resource == "opportunity":
        if role == "agent":
            return Opportunity.owner == me
        return Opportunity.client.is_in(_visible_ids("client", actor))
    if resource == "project":
        if role == "agent":
            return (Project.owner == me) if mode == "write" else (
                (Project.owner == me) | Project.id.is_in(_team_projects(actor))
            )
        if role == "project_manager":
            return Project.id.is_in(_managed_projects(actor))
        return (Project.branch == branch) & Project.id.is_in(_participating_projects(actor))
    if resource == "visit":
        if role == "agent":
            return (Visit.owner == me) if mode == "write" else (
                (Visit.owner == me) | Visit.project.is_in(_team_projects(actor))
            )
        return Visit.project.is_in(_managed_projects(actor))
    if resource == "note":
        if mode == "write":
            return Note.author == me
        return (
            Note.client.is_in(_visible_ids("client", actor))
            | Note.project.is_in(_visible_ids("project", actor))
            | Note.visit.is_in(_visible_ids("visit", actor))
        )
    if resource == "milestone":
        if mode == "write":
            if role == "project_manager":
                return (Milestone.owner == me) | Milestone.project.is_in(_managed_projects(actor))
            return Milestone.owner == me
        return (Milestone.owner == me) | Milestone.project.is_in(_visible_ids("project", actor))
    if resource == "collection":
        return Collection.project.is_in(_visible_ids("project", actor))
    if resource == "photo":
        # Visible exactly when its parent is; removable by the uploader (the branch manager is handled above:
        # a photo's branch is its parent's).
        if mode == "write":
            return Photo.owner == me
        return (
            Photo.visit.is_in(_visible_ids("visit", actor))
            | Photo.project.is_in(_visible_ids("project", actor))
            | Photo.note.is_in(_visible_ids("note", actor))
        )
    return NOTHING


def scope(query: Any, actor: Actor, resource: str, mode: Mode = "read") -> Any:
    """Restrict a Piccolo query on `resource`'s table to the rows `actor` may see (or change)."""
    predicate = _predicate(resource, actor, mode)
    return query if predicate is EVERYTHING else query.where(predicate)


def can(actor: Actor, action: Action, resource: str) -> bool:
    return action in ACTIONS[resource].get(actor.role, NONE)


async def authorize(actor: Actor, action: Action, resource: str, record_id: Any) -> None:
    """Raise NotFound when the record is invisible to `actor`, Forbidden when visible but not changeable.

    For `create`, call it after inserting inside the transaction: a record you could not see afterwards
    is one you may not create, and the transaction rolls back.
    """
    readable = can(actor, "read", resource) and await _in_scope(actor, resource, record_id, "read")
    if not readable:
        raise NotFound(f"No {resource} with id {record_id}")
    if action in ("list", "read"):
        return
    if not can(actor, action, resource) or not await _in_scope(actor, resource, record_id, "write"):
        raise Forbidden(f"You may not {action} this {resource}")


async def _in_scope(actor: Actor, resource: str, record_id: Any, mode: Mode) -> bool:
    """The scope query restricted to one id. Selects the key only: Piccolo's `exists()` compiles every column of
    the table into its subquery, which cost about twice as much per check (bench/api.py, note writes)."""
    table = TABLES[resource]
    pk = table._meta.primary_key
    return await scope(table.select(pk).where(pk == record_id), actor, resource, mode).first() is not None


def mask(actor: Actor, resource: str, row: dict[str, Any]) -> dict[str, Any]:
    hidden = FIELD_MASK.get(actor.role, {}).get(resource)
    if not hidden:
        return row
    return {k: v for k, v in row.items() if k not in hidden}
