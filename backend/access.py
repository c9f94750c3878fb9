"""Who may see and change what: the one home of role-scoped access (ARCHITECTURE.md, "Access control").

`scope()` filters every list, `authorize()` guards every single record, `mask()` hides fields per role.
A record is authorised by running the same scope query restricted to its id, so the list and the
single-record rules can never disagree. The other role rules live here too: who may own (and be given) which
work (`owner_roles`, `assignable_users`, `authorize_reassign`), and who may be told of a project
(`can_be_told`, `MEMBERSHIP_NEEDED`). Nothing else in the code base filters by role.

Every scope but the executive's, the admin's and the caller's own records (inbox, devices, tokens, push
preferences, sync operations) is also bounded by the caller's *current* branch: a user moved to another branch
stops seeing the old branch's records at once, and `backend.handover` offers their open work to the old
branch's manager.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from piccolo.columns.combination import WhereRaw
from piccolo.query import Select
from piccolo.table import Table

from backend.accounts.tables import ApiToken, Branch, Device, Region, User
from backend.audit.tables import ChangeLog
from backend.clients.tables import Client, Opportunity
from backend.errors import Forbidden, Invalid, NotFound
from backend.feedback.tables import Feedback
from backend.lifecycle.tables import BusinessCalendar, Collection, Milestone
from backend.photos.tables import Photo
from backend.projects.tables import BusinessLine, Project, ProjectMember, TemplateVersion
from backend.specs import BUSINESS_ROLES, ROLES
from backend.sync.tables import SyncOperation
from backend.visits.tables import Note, Visit
from notifications.push.tables import PushDelivery, PushPreference, PushSubscription
from notifications.tables import InboxItem

Action = Literal["list", "read", "create", "update", "delete", "reassign", "nudge", "reject"]
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
    must_change_password: bool = False  # signed in with a one-time password: only the password change is open


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
    "feedback": Feedback,
}
# Records that belong to one user (a `user` column) and are only ever theirs to see and change. Kept apart from
# TABLES, which lists the records a client may name by id (a sync operation's id is its note's id by design).
OWN_TABLES: dict[str, type[Table]] = {
    "api_token": ApiToken,
    "push_subscription": PushSubscription,
    "push_preference": PushPreference,
    "sync_operation": SyncOperation,
}
OWN_RESOURCES = tuple(OWN_TABLES)


def table_of(resource: str) -> type[Table]:
    return TABLES.get(resource) or OWN_TABLES[resource]

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
    # (reassign) and chase (nudge) them. A legal review is approved (update) or rejected with a comment (reject)
    # by the legal specialist who owns it, or the branch manager standing in.
    "milestone": {
        "agent": CHECK_OFF, "project_manager": CHECK_OFF | {"reassign", "nudge"}, "legal": CHECK_OFF | {"reject"},
        "finance": CHECK_OFF, "branch_manager": CHECK_OFF | {"reassign", "nudge", "reject"}, "executive": READ,
        "admin": NONE,
    },
    # Payments received (回款): finance records them, branch managers may too; legal has no need to see them.
    # A payment recorded wrongly is corrected or voided (update), never deleted.
    "collection": {
        "agent": READ, "project_manager": READ, "legal": NONE, "finance": WRITE_NO_DELETE,
        "branch_manager": WRITE_NO_DELETE, "executive": READ, "admin": NONE,
    },
    # Everyone has an inbox, reads only their own, and marks its items read (update).
    "notification": {r: CHECK_OFF for r in ROLES},
    # Everyone manages their own devices (push subscription on them); only admins see delivery counts.
    "device": {r: frozenset({"list", "read", "update"}) for r in ROLES},
    "push_delivery": {**{r: NONE for r in BUSINESS_ROLES}, "admin": READ},
    # In-app feedback: everyone sends (and reads their own); branch managers triage their branch's, executives
    # everyone's; admins read text and metadata only.
    "feedback": {**{r: RECORD for r in ROLES}, "branch_manager": WRITE_NO_DELETE, "executive": WRITE_NO_DELETE},
    **{resource: {r: ALL for r in ROLES} for resource in OWN_RESOURCES},
}

# Fields a role never receives, even on records it may see.
FIELD_MASK: dict[str, dict[str, frozenset[str]]] = {
    "finance": {"project": frozenset({"description"}), "client": frozenset({"private_notes", "phone"})},
}


def _team_projects(actor: Actor) -> Select[Any]:
    return ProjectMember.select(ProjectMember.project).where(
        (ProjectMember.user == actor.id) & (ProjectMember.kind == "team")
    )


def _participating_projects(actor: Actor) -> Select[Any]:
    """Projects the actor takes part in: on the team, or owning (now or before) one of its milestones or stages,
    or told of a stage by the template (`backend.lifecycle.parties.ensure_participants` keeps these rows)."""
    return ProjectMember.select(ProjectMember.project).where(ProjectMember.user == actor.id)


def _managed_projects(actor: Actor, column: str = "id") -> Select[Any]:
    """Projects a project manager runs in their branch: the ones they manage or own."""
    return Project.select(getattr(Project, column)).where(
        ((Project.manager == actor.id) | (Project.owner == actor.id)) & (Project.branch == actor.branch_id))


def _visible_ids(resource: str, actor: Actor) -> Select[Any]:
    table = TABLES[resource]
    ids: Select[Any] = scope(table.select(table._meta.primary_key), actor, resource)
    return ids


def _predicate(resource: str, actor: Actor, mode: Mode) -> Any:
    """The row filter for `actor` on `resource`: a Piccolo where clause, EVERYTHING or NOTHING."""
    role, me, branch = actor.role, actor.id, actor.branch_id
    if role not in ACTIONS[resource] or not ACTIONS[resource][role]:
        return NOTHING
    if resource == "notification":
        return InboxItem.user == me  # executives too mark their own inbox read
    if resource == "device":
        return Device.user == me
    if resource in OWN_RESOURCES:
        return OWN_TABLES[resource].user == me  # type: ignore[attr-defined]
    if resource == "push_delivery":
        return EVERYTHING
    if resource == "feedback":
        if role == "executive" or (role == "admin" and mode == "read"):
            return EVERYTHING
        if role == "branch_manager":
            return (Feedback.branch == branch) | (Feedback.reporter == me)
        return (Feedback.reporter == me) if mode == "read" else NOTHING
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
    if role == "executive":
        return EVERYTHING
    in_branch = table.branch == branch  # type: ignore[attr-defined]
    if role == "branch_manager":
        return in_branch
    if resource == "client":
        if role == "agent":
            return (Client.owner == me) & in_branch
        return Client.id.is_in(_managed_projects(actor, "client"))
    if resource == "opportunity":
        if role == "agent":
            return (Opportunity.owner == me) & in_branch
        return Opportunity.client.is_in(_visible_ids("client", actor))
    if resource == "project":
        if role == "agent":
            return in_branch & ((Project.owner == me) if mode == "write" else (
                (Project.owner == me) | Project.id.is_in(_team_projects(actor))
            ))
        if role == "project_manager":
            return Project.id.is_in(_managed_projects(actor))
        if role == "finance":
            return in_branch  # amounts and collections of every project of the branch (FIELD_MASK hides the rest)
        return in_branch & Project.id.is_in(_participating_projects(actor))  # legal
    if resource == "visit":
        if role == "agent":
            return in_branch & ((Visit.owner == me) if mode == "write" else (
                (Visit.owner == me) | Visit.project.is_in(_team_projects(actor))
            ))
        return Visit.project.is_in(_managed_projects(actor))
    if resource == "note":
        if mode == "write":
            return (Note.author == me) & in_branch
        return (
            Note.client.is_in(_visible_ids("client", actor))
            | Note.project.is_in(_visible_ids("project", actor))
            | Note.visit.is_in(_visible_ids("visit", actor))
        )
    if resource == "milestone":
        mine = (Milestone.owner == me) & in_branch
        if mode == "write":
            if role == "project_manager":
                return mine | Milestone.project.is_in(_managed_projects(actor))
            return mine
        return mine | Milestone.project.is_in(_visible_ids("project", actor))
    if resource == "collection":
        if mode == "write":
            return in_branch & Collection.project.is_in(_visible_ids("project", actor))
        return Collection.project.is_in(_visible_ids("project", actor))
    if resource == "photo":
        # Visible exactly when its parent is; removable by the uploader (the branch manager is handled above:
        # a photo's branch is its parent's).
        if mode == "write":
            return (Photo.owner == me) & in_branch
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
    if action not in ("list", "read") and can(actor, "read", resource) and can(actor, action, resource):
        if await _in_scope(actor, resource, record_id, "read", "write"):
            return  # one query on the common path (writes hold SQLite's write lock while they check)
    readable = can(actor, "read", resource) and await _in_scope(actor, resource, record_id, "read")
    if not readable:
        raise NotFound(f"No {resource} with id {record_id}")
    if action in ("list", "read"):
        return
    if not can(actor, action, resource) or not await _in_scope(actor, resource, record_id, "write"):
        raise Forbidden(f"You may not {action} this {resource}")


async def _in_scope(actor: Actor, resource: str, record_id: Any, *modes: Mode) -> bool:
    """The scope query (of every mode given) restricted to one id. Selects the key only: Piccolo's `exists()`
    compiles every column of the table into its subquery, which cost about twice as much per check (bench/api.py,
    note writes)."""
    table = table_of(resource)
    pk = table._meta.primary_key
    query = table.select(pk).where(pk == record_id)
    for mode in modes:
        query = scope(query, actor, resource, mode)
    return await query.first() is not None


def mask(actor: Actor, resource: str, row: dict[str, Any]) -> dict[str, Any]:
    hidden = FIELD_MASK.get(actor.role, {}).get(resource)
    if not hidden:
        return row
    return {k: v for k, v in row.items() if k not in hidden}


# ---- who may own which work ---------------------------------------------------------------------------------------

def _owning_roles(resource: str) -> tuple[str, ...]:
    """The roles that create (and so own) a resource's records; executives only look."""
    return tuple(r for r in BUSINESS_ROLES if r != "executive" and "create" in ACTIONS[resource].get(r, NONE))


# A milestone's owner rule (from its template) names the kind of work; the branch manager may always take it.
MILESTONE_OWNER_ROLES: dict[str, tuple[str, ...]] = {
    "project_owner": _owning_roles("project"),
    "project_manager": ("project_manager", "branch_manager"),
    "legal": ("legal", "branch_manager"),
    "finance": ("finance", "branch_manager"),
    "branch_manager": ("branch_manager",),
}
ANY_MILESTONE_OWNER = tuple(r for r in BUSINESS_ROLES if r != "executive" and "update" in ACTIONS["milestone"][r])
OWNED_RESOURCES = ("client", "opportunity", "project", "visit", "milestone")


def open_work(resource: str) -> Any:
    """The records of `resource` still in progress, which an owner must hand over before leaving (None: all)."""
    return {
        "client": None,
        "opportunity": Opportunity.state.is_in(["potential", "following"]),
        "project": Project.status == "open",
        "visit": Visit.status == "planned",
        "milestone": Milestone.state == "open",
    }[resource]


def handover_actor(actor: Actor, branch_id: uuid.UUID) -> Actor:
    """Who hands over a departing user's open work: an administrator deactivating a user acts, for that handover
    only, with the reassigning rights of the user's branch manager (never seeing the records: the screen shows
    counts). Anyone else acts as themselves."""
    if actor.role != "admin" or not can(actor, "update", "user"):
        return actor
    return Actor(id=actor.id, role="branch_manager", branch_id=branch_id, username=actor.username,
                 display_name=actor.display_name, session_id=actor.session_id, language=actor.language)


def owner_roles(resource: str, owner_rule: str = "") -> tuple[str, ...]:
    """Roles whose users may own `resource`'s records (for a milestone: of its owner rule)."""
    if resource == "milestone":
        return MILESTONE_OWNER_ROLES.get(owner_rule, ANY_MILESTONE_OWNER)
    return _owning_roles(resource) if resource in OWNED_RESOURCES else ()


def _field(record: Mapping[str, Any], name: str) -> Any:
    """A column of a stored row (`branch`) or of its API form (`branch_id`)."""
    return record[name] if name in record else record.get(f"{name}_id")


async def assignable_users(
    actor: Actor, resource: str, records: Iterable[Mapping[str, Any]]
) -> dict[Any, list[dict[str, Any]]]:
    """Per record id: the users it may be given to — active users of the record's branch whose role may own that
    kind of work (a legal milestone goes to legal or the branch manager, never finance), the current owner
    left out. Nothing when the actor may not reassign such records. One query for any number of records."""
    rows = list(records)
    if not rows or not can(actor, "reassign", resource):
        return {}
    branches = list({_field(r, "branch") for r in rows} - {None})
    users = await User.select(User.id, User.display_name, User.role, User.branch).where(
        User.branch.is_in(branches) & (User.is_active == True)  # noqa: E712
    ).order_by(User.display_name).order_by(User.id) if branches else []
    out: dict[Any, list[dict[str, Any]]] = {}
    for record in rows:
        roles = owner_roles(resource, record.get("owner_rule") or "")
        branch, owner = _field(record, "branch"), _field(record, "owner")
        out[record["id"]] = [{"id": u["id"], "display_name": u["display_name"], "role": u["role"],
                              "branch_id": u["branch"]}
                             for u in users if u["branch"] == branch and u["role"] in roles and u["id"] != owner]
    return out


REVIEW_RULES = frozenset({"legal"})  # milestones that are reviews: approved or rejected, not just checked off


def can_reject(actor: Actor, milestone: Mapping[str, Any]) -> bool:
    """Whether `actor` may reject this milestone: a review, open, and theirs to reject (rows still checked by
    `authorize(actor, "reject", "milestone", id)`)."""
    return (can(actor, "reject", "milestone") and milestone.get("owner_rule") in REVIEW_RULES
            and milestone.get("state") == "open"
            and (actor.role == "branch_manager" or _field(milestone, "owner") == actor.id))


async def authorize_reassign(actor: Actor, resource: str, record_id: Any, owner_id: uuid.UUID) -> None:
    """A record may go to an active user of its branch whose role may own it (the same rule as `assignable_users`);
    only roles with the "reassign" action move records, and only records they may change."""
    await authorize(actor, "reassign", resource, record_id)
    table = TABLES[resource]
    columns = [table.branch] + ([Milestone.owner_rule] if resource == "milestone" else [])  # type: ignore[attr-defined]
    record = await table.select(*columns).where(table._meta.primary_key == record_id).first()
    owner = await User.select(User.branch, User.is_active, User.role).where(User.id == owner_id).first()
    if owner is None or record is None or owner["branch"] != record["branch"]:
        raise NotFound("No user of this branch with that id", field="owner_id")
    if not owner["is_active"]:
        raise Invalid("That user's account is disabled", field="owner_id")
    if owner["role"] not in owner_roles(resource, record.get("owner_rule") or ""):
        raise Invalid(f"A {owner['role']} cannot own this {resource}", field="owner_id")


# ---- who may be told of a project ---------------------------------------------------------------------------------

# Roles that open a project of their branch only as a participant, and the kind of participation a template's rule
# gives them (finance sees every project of its branch; the row still records who was involved).
MEMBERSHIP_NEEDED = {"legal": "stage", "finance": "stage", "agent": "team"}


def can_be_told(role: str, user_id: uuid.UUID, user_branch: uuid.UUID, branch: uuid.UUID,
                project: Mapping[str, Any] | None = None) -> bool:
    """Whether a user may be told of a project of `branch` (they can open it, once made a participant where their
    role needs it): executives anywhere; others in its branch, except admins, and project managers other than the
    project's own (`project`: its owner and manager)."""
    if role == "executive":
        return True
    if role == "admin" or user_branch != branch:
        return False
    return role != "project_manager" or project is None or user_id in (project.get("owner"), project.get("manager"))
