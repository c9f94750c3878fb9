"""Open work of people who left a branch, offered to its manager for reassignment.

When a user moves to another branch (or their account is disabled), `backend/access.py` stops showing them the old
branch's records at once; what they still own there stays in the old branch. Here the old branch's manager finds it
— clients, open opportunities, open projects they own, planned visits, open milestones — each with the users it
may go to (`access.assignable_users`), and hands it over through the resource's own reassign service.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from piccolo.table import Table

from backend import access, db
from backend.access import Actor
from backend.accounts.rules import describe_work
from backend.accounts.services import USERS
from backend.accounts.tables import User
from backend.clients.services import CLIENTS, OPPORTUNITIES
from backend.errors import Invalid, NotFound, ServiceError
from backend.lifecycle.actions import reassign_milestone
from backend.lifecycle.tables import Milestone
from backend.projects.services import PROJECTS
from backend.visits.services import VISITS

CAP = 500  # records per resource in one answer; the rest appear once these are handed over
RESOURCES = ("client", "opportunity", "project", "visit", "milestone")


_open = access.open_work


def _title(resource: str, row: dict[str, Any]) -> dict[str, Any]:
    if resource == "client":
        return {"title": row["name"]}
    if resource == "visit":
        return {"title": row["address"], "scheduled_at": row["scheduled_at"]}
    if resource == "milestone":
        return {"title": row["title_zh"], "title_zh": row["title_zh"], "title_en": row["title_en"],
                "project_id": row["project"], "project_title": row["project_title"], "due_at": row["due_at"],
                "owner_rule": row["owner_rule"]}
    return {"title": row["title"]}


def _columns(table: type[Table], resource: str) -> list[Any]:
    names = {"client": ["name"], "opportunity": ["title"], "project": ["title"],
             "visit": ["address", "scheduled_at"], "milestone": ["title_zh", "title_en", "project", "due_at",
                                                                  "owner_rule"]}[resource]
    columns = [table.id, table.branch, table.owner, table.version, *(getattr(table, n) for n in names)]  # type: ignore[attr-defined]
    if resource == "milestone":
        columns.append(Milestone.project.title.as_alias("project_title"))
    return columns


async def left_work(actor: Actor) -> dict[str, Any]:
    """Per person who left the actor's branch (moved elsewhere, or disabled) and still owns open work in it: who
    they are, why they count as gone, and each record with the users it may be given to. Only what the actor may
    reassign; an actor who may reassign nothing gets an empty list."""
    gone = User.select(User.id).where((User.branch != actor.branch_id) | (User.is_active == False))  # noqa: E712
    found: dict[str, list[dict[str, Any]]] = {}
    for resource in RESOURCES:
        if not access.can(actor, "reassign", resource):
            continue
        table = access.TABLES[resource]
        query = access.scope(table.select(*_columns(table, resource)), actor, resource, "write").where(
            (table.branch == actor.branch_id) & table.owner.is_in(gone))  # type: ignore[attr-defined]
        if (still_open := _open(resource)) is not None:
            query = query.where(still_open)
        found[resource] = await query.order_by(table._meta.primary_key).limit(CAP)
    owners = {row["owner"] for rows in found.values() for row in rows}
    if not owners:
        return {"people": [], "total": 0}
    people = {row["id"]: row for row in await User.select(
        User.id, User.display_name, User.role, User.is_active, User.branch,
        User.branch.name.as_alias("branch_name")).where(User.id.is_in(list(owners)))}
    work: dict[uuid.UUID, dict[str, list[dict[str, Any]]]] = {o: {r: [] for r in RESOURCES} for o in owners}
    for resource, rows in found.items():
        candidates = await access.assignable_users(actor, resource, rows)
        for row in rows:
            work[row["owner"]][resource].append({
                "resource": resource, "id": row["id"], "version": row["version"], "branch_id": row["branch"],
                "owner_id": row["owner"], **_title(resource, row), "assignable": candidates.get(row["id"], [])})
    out = []
    for owner_id in sorted(owners, key=lambda o: (people[o]["display_name"], str(o))):
        person = people[owner_id]
        moved = person["branch"] != actor.branch_id
        out.append({"user_id": owner_id, "display_name": person["display_name"], "role": person["role"],
                    "reason": "moved" if moved else "disabled", "branch_id": person["branch"],
                    "branch_name": person["branch_name"], "is_active": person["is_active"],
                    "count": sum(len(items) for items in work[owner_id].values()), "work": work[owner_id]})
    return {"people": out, "total": sum(p["count"] for p in out)}


Reassign = Callable[[Actor, uuid.UUID, uuid.UUID, int], Awaitable[Any]]
# The very services the reassign routes call (`backend.crud`: `resource.reassign`; milestones: lifecycle actions).
REASSIGN: dict[str, Reassign] = {
    "client": CLIENTS.reassign,
    "opportunity": OPPORTUNITIES.reassign,
    "project": PROJECTS.reassign,
    "visit": VISITS.reassign,
    "milestone": lambda actor, rid, owner, version: reassign_milestone(actor, rid, owner, version),
}


async def reassign(actor: Actor, resource: str, record_id: uuid.UUID, owner_id: uuid.UUID, version: int) -> Any:
    """Hand one record over through its resource's own reassign service (the same as its HTTP route)."""
    handler = REASSIGN.get(resource)
    if handler is None:
        raise Invalid(f"Records of kind {resource!r} are not handed over", field="resource")
    return await handler(actor, record_id, owner_id, version)


async def assignable_users(actor: Actor, resource: str, rows: list[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    """Per record, the users it may be given to (`access.assignable_users`), for screens choosing a new owner."""
    return await access.assignable_users(actor, resource, rows)


# ---- deactivating a user who still owns open work ------------------------------------------------------------
# Deactivating a user who still owns open work: the admin names, per kind of record, who takes it over, and the
# work moves and the account closes in one transaction. The admin sees counts and candidates only, never the
# records (`access.handover_actor` lends them the branch manager's reassigning rights for this step alone).

async def _open_rows(user_id: uuid.UUID, branch_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for resource in access.OWNED_RESOURCES:
        table = access.TABLES[resource]
        columns = [table._meta.primary_key, table.branch, table.owner, table.version]  # type: ignore[attr-defined]
        if resource == "milestone":
            columns.append(table.owner_rule)  # type: ignore[attr-defined]
        query = table.select(*columns).where(
            (table.owner == user_id) & (table.branch == branch_id))  # type: ignore[attr-defined]
        if (still_open := access.open_work(resource)) is not None:
            query = query.where(still_open)
        if rows := await query.order_by(table._meta.primary_key):
            found[resource] = rows
    return found


async def _subject(actor: Actor, user_id: uuid.UUID) -> dict[str, Any]:
    await access.authorize(actor, "update", "user", user_id)
    user = await User.select(User.id, User.branch, User.is_active).where(User.id == user_id).first()
    if user is None:
        raise NotFound(f"No user with id {user_id}")
    return user


async def departure(actor: Actor, user_id: uuid.UUID) -> dict[str, Any]:
    """What deactivating `user_id` would leave behind: per kind, how many open records and the users who may take
    every one of them (a milestone's owner rule narrows the roles)."""
    user = await _subject(actor, user_id)
    delegate = access.handover_actor(actor, user["branch"])
    rows = await _open_rows(user_id, user["branch"])
    counts, candidates = {}, {}
    for resource, items in rows.items():
        per_record = await access.assignable_users(delegate, resource, items)
        shared: list[dict[str, Any]] | None = None
        for item in items:
            ids = {u["id"] for u in per_record.get(item["id"], [])}
            shared = [u for u in (shared if shared is not None else per_record.get(item["id"], [])) if u["id"] in ids]
        counts[resource], candidates[resource] = len(items), shared or []
    return {"user_id": user_id, "counts": counts, "candidates": candidates}


async def deactivate_with_handover(actor: Actor, user_id: uuid.UUID, version: int,
                                   reassign_to: dict[str, uuid.UUID]) -> Any:
    """Hand every open record to the user named for its kind, then deactivate (sessions, push subscriptions and
    tokens end: `update_user`). A kind with open work and no one named refuses the whole step, naming it."""
    async with db.write_transaction():
        user = await _subject(actor, user_id)
        rows = await _open_rows(user_id, user["branch"])
        missing = {r: len(items) for r, items in rows.items() if not reassign_to.get(r)}
        if missing:
            first = next(iter(missing))
            raise Invalid(f"Choose who takes over the open work: {describe_work(missing)}",
                          field=f"reassign_to.{first}", extra={"open_work": missing})
        delegate = access.handover_actor(actor, user["branch"])
        for resource, items in rows.items():
            table = access.TABLES[resource]
            for item in items:
                # Read again: handing over a client also moves its opportunities (a new version, maybe a new owner).
                now = await table.select(table.version, table.owner).where(  # type: ignore[attr-defined]
                    table._meta.primary_key == item["id"]).first()
                if now is None or now["owner"] != user_id:
                    continue
                try:
                    await reassign(delegate, resource, item["id"], reassign_to[resource], now["version"])
                except ServiceError as exc:
                    raise type(exc)(exc.message, field=f"reassign_to.{resource}", extra=exc.extra) from None
        return await USERS.update(actor, user_id, version, {"is_active": False})
