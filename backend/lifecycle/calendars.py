"""Branch business-hours calendars (admin-managed) and the deadline arithmetic a project uses."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from backend import access, db, records
from backend.access import Actor
from backend.accounts.tables import Branch
from backend.audit.services import record_change
from backend.errors import Conflict, Forbidden, NotFound
from backend.lifecycle.schemas import CalendarOut
from backend.lifecycle.tables import BusinessCalendar
from backend.lifecycle.workhours import WALL_CLOCK, CalendarDef, Deadlines, WorkingHours, check_calendar

CALENDAR_SPEC = records.Spec(resource="calendar", table=BusinessCalendar, owner_field=None)


async def branch_timezone(branch_id: uuid.UUID) -> str:
    row = await Branch.select(Branch.timezone).where(Branch.id == branch_id).first()
    return row["timezone"] if row else "Asia/Shanghai"


async def deadlines_for(branch_id: uuid.UUID, business_hours: bool, timezone: str | None = None) -> Deadlines:
    """Working hours of the branch when the template counts them and the branch has a calendar; else wall clock."""
    if not business_hours:
        return WALL_CLOCK
    row = await BusinessCalendar.select(BusinessCalendar.definition).where(BusinessCalendar.branch == branch_id).first()
    if row is None:
        return WALL_CLOCK
    calendar = msgspec.json.decode(row["definition"], type=CalendarDef)
    return WorkingHours.of(calendar, timezone or await branch_timezone(branch_id))


def _to_api(row: dict[str, Any]) -> CalendarOut:
    calendar = msgspec.json.decode(row["definition"], type=CalendarDef)
    return CalendarOut(id=row["id"], branch_id=row["branch"], version=row["version"], updated_at=row["updated_at"],
                       **msgspec.structs.asdict(calendar))


async def read_calendar(actor: Actor, branch_id: uuid.UUID) -> CalendarOut:
    await access.authorize(actor, "read", "branch", branch_id)
    row = await BusinessCalendar.select().where(BusinessCalendar.branch == branch_id).first()
    if row is None:
        raise NotFound("This branch has no business-hours calendar; deadlines count calendar hours")
    return _to_api(row)


async def _current(branch_id: uuid.UUID) -> dict[str, Any] | None:
    return await BusinessCalendar.select().where(BusinessCalendar.branch == branch_id).first()


async def save_calendar(
    actor: Actor, branch_id: uuid.UUID, calendar: CalendarDef, version: int | None
) -> CalendarOut:
    """Create (version omitted) or replace (current version given) the branch's calendar.

    A replace goes through `records.apply_update` (`UPDATE … WHERE version = n`), so of two saves from the same
    version one wins and the other answers 409 with the calendar as it now stands, on PostgreSQL too; two
    creates at once meet the unique branch and the second answers the same way."""
    if not access.can(actor, "update", "calendar"):
        raise Forbidden("Only admins set business hours")
    check_calendar(calendar)
    text = msgspec.json.encode(calendar).decode()
    async with db.write_transaction():
        await access.authorize(actor, "read", "branch", branch_id)
        before = await _current(branch_id)
        if before is None and version is not None:
            raise NotFound("This branch has no calendar yet; create it without a version", field="version")
        if before is None:
            made = await BusinessCalendar.insert(BusinessCalendar(branch=branch_id, definition=text)).on_conflict(
                action="DO NOTHING").returning(BusinessCalendar.id)
            if not made:
                raise await _stale(branch_id, version)
            after = await records.fetch(CALENDAR_SPEC, made[0]["id"])
            assert after is not None
            await record_change(actor_id=actor.id, action="create", table="business_calendars", row_id=after["id"],
                                after=after, branch_id=branch_id)
        else:
            try:
                after = await records.apply_update(actor, CALENDAR_SPEC, before["id"], version or 0,
                                                   {"definition": text})
            except Conflict:
                raise await _stale(branch_id, version) from None
    return _to_api(after)


async def _stale(branch_id: uuid.UUID, version: int | None) -> Conflict:
    current = await _current(branch_id)
    assert current is not None
    return Conflict(f"The calendar was changed (version {current['version']}, yours {version})", field="version",
                    extra={"current": _to_api(current)})


async def delete_calendar(actor: Actor, branch_id: uuid.UUID) -> None:
    if not access.can(actor, "delete", "calendar"):
        raise Forbidden("Only admins set business hours")
    async with db.write_transaction():
        before = await BusinessCalendar.select().where(BusinessCalendar.branch == branch_id).first()
        if before is None:
            raise NotFound("This branch has no business-hours calendar")
        await BusinessCalendar.delete().where(BusinessCalendar.id == before["id"])
        await record_change(actor_id=actor.id, action="delete", table="business_calendars", row_id=before["id"],
                            before=before, branch_id=branch_id)
