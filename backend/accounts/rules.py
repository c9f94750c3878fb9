"""Invariants of the organisation that an admin edit must keep: a supervisor chain without loops, at least one
active administrator, and no account deactivated while it still owns open work (it is handed over first)."""

from __future__ import annotations

import uuid
from typing import Any

from backend import access
from backend.accounts.tables import User
from backend.errors import Invalid

CHAIN_LIMIT = 1000  # a chain longer than the whole staff of a large agency is a loop by another name
WORK_NAMES = {"client": "clients", "opportunity": "opportunities", "project": "projects", "visit": "visits",
              "milestone": "milestones"}


async def check_supervisor(user_id: uuid.UUID | None, supervisor_id: uuid.UUID | None) -> None:
    """The new supervisor exists, is not the user, and does not report (through any chain) to the user."""
    if supervisor_id is None:
        return
    if supervisor_id == user_id:
        raise Invalid("A user cannot be their own supervisor", field="supervisor_id")
    seen: set[uuid.UUID] = set()
    current: uuid.UUID | None = supervisor_id
    while current is not None and len(seen) < CHAIN_LIMIT:
        if current == user_id:
            raise Invalid("That supervisor reports to this user: the chain would loop", field="supervisor_id")
        if current in seen:
            break  # an old loop above the new link; not this edit's doing
        seen.add(current)
        row = await User.select(User.supervisor).where(User.id == current).first()
        if row is None:
            raise Invalid("No such supervisor", field="supervisor_id")
        current = row["supervisor"]


async def check_not_last_admin(user_id: uuid.UUID, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Deactivating the last active administrator (or taking their role away) would lock everyone out."""
    was_admin = before["role"] == "admin" and before["is_active"]
    stays_admin = after.get("role", before["role"]) == "admin" and after.get("is_active", before["is_active"])
    if not was_admin or stays_admin:
        return
    others = await User.count().where((User.role == "admin") & (User.is_active == True) & (User.id != user_id))  # noqa: E712
    if not others:
        field = "is_active" if not after.get("is_active", True) else "role"
        raise Invalid("This is the last active administrator; make another one first", field=field)


async def open_work_counts(user_id: uuid.UUID, branch_id: uuid.UUID) -> dict[str, int]:
    """How many records of each kind `user_id` still owns open in their branch (counts only: the admin sees no
    business data)."""
    counts: dict[str, int] = {}
    for resource in access.OWNED_RESOURCES:
        table = access.TABLES[resource]
        query = table.count().where((table.owner == user_id) & (table.branch == branch_id))  # type: ignore[attr-defined]
        if (still_open := access.open_work(resource)) is not None:
            query = query.where(still_open)
        if number := await query:
            counts[resource] = number
    return counts


def describe_work(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {WORK_NAMES[r]}" for r, n in counts.items())


async def check_no_open_work(user_id: uuid.UUID, branch_id: uuid.UUID) -> None:
    counts = await open_work_counts(user_id, branch_id)
    if counts:
        raise Invalid(f"Hand over the open work first: {describe_work(counts)}", field="reassign_to",
                      extra={"open_work": counts})
