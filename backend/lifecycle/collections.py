"""Collections (回款): payments finance records against a project.

The project row is locked while a payment is checked and added (SQLite's write lock does the same), so two
payments recorded at once cannot together pass the contract value. Amounts are added as decimals in Python:
SQLite keeps Numeric as a float, and a sum in SQL could drift by a fraction of a cent.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
import zoneinfo
from typing import Any

import msgspec

from backend import access, db, records
from backend.access import Actor
from backend.errors import Conflict, Forbidden, Invalid
from backend.lifecycle.actions import complete_automatically, reopen_automatically
from backend.lifecycle.calendars import branch_timezone
from backend.lifecycle.schemas import CollectionOut, CollectionRecorded, CollectionUndone
from backend.lifecycle.stages import fully_collected, lock_project
from backend.lifecycle.tables import PAYMENT_METHODS, Collection
from backend.projects.schemas import ProjectOut
from backend.projects.specs import PROJECT_SPEC

COLLECTION_SPEC = records.Spec(resource="collection", table=Collection, owner_field=None,
                               filters={"project": uuid.UUID})
ZERO = decimal.Decimal(0)


def check_amount(amount: decimal.Decimal) -> None:
    """A payment: a money amount (records.check_money) that is more than nothing."""
    records.check_money("amount", amount)
    if amount <= ZERO:
        raise Invalid("The amount must be more than 0", field="amount")


async def record_collection(actor: Actor, project_id: uuid.UUID, *, amount: decimal.Decimal, received_on: dt.date,
                            method: str = "bank_transfer", note: str = "", at: dt.datetime | None = None
                            ) -> CollectionRecorded:
    """Add a payment; the collected total follows, and the full-collection milestone completes itself when the
    contract value is reached. An amount above what is still due is refused (422), nothing written."""
    at = at or records.now()
    if not access.can(actor, "create", "collection"):
        raise Forbidden("Only finance and branch managers record payments")
    check_amount(amount)
    if method not in PAYMENT_METHODS:
        raise Invalid(f"Method must be one of {', '.join(PAYMENT_METHODS)}", field="method")
    async with db.write_transaction():
        await access.authorize(actor, "read", "project", project_id)
        project = await lock_project(project_id)
        if project["status"] == "lost":
            raise Invalid("This project was lost; no payments can be recorded on it", field="project_id")
        today = at.astimezone(zoneinfo.ZoneInfo(await branch_timezone(project["branch"]))).date()
        if received_on > today:
            raise Invalid("A payment cannot be received in the future", field="received_on")
        contract, collected = records.money(project["contract_value"]), records.money(project["collected_amount"])
        if collected + amount > contract:
            raise above_outstanding(contract - collected)
        row = Collection(project=project_id, branch=project["branch"], amount=amount, received_on=received_on,
                         method=method, note=note.strip(), recorded_by=actor.id, created_at=at)
        created = await records.insert_audited(actor, COLLECTION_SPEC, row.to_dict())
        after = await records.apply_update(actor, PROJECT_SPEC, project_id, project["version"],
                                           {"collected_amount": collected + amount}, action="collect")
        completed = []
        if fully_collected(after):
            completed = await complete_automatically(project_id, "full_collection", actor.id, at)
    return CollectionRecorded(collection=collection_out(actor, created),
                              project=msgspec.convert(records.to_api(PROJECT_SPEC, actor, after), ProjectOut,
                                                      strict=False),
                              completed_milestone_ids=completed)


def collection_out(actor: Actor, row: dict[str, Any]) -> CollectionOut:
    return msgspec.convert(records.to_api(COLLECTION_SPEC, actor, row), CollectionOut, strict=False)


async def list_collections(actor: Actor, project_id: uuid.UUID) -> list[CollectionOut]:
    await access.authorize(actor, "read", "project", project_id)
    if not access.can(actor, "list", "collection"):
        raise Forbidden("Your role does not see payments")
    rows = await access.scope(Collection.select().where(Collection.project == project_id), actor, "collection"
                              ).order_by(Collection.received_on).order_by(Collection.created_at)
    return [collection_out(actor, row) for row in rows]


async def on_contract_value_changed(actor: Actor, project: dict[str, Any]) -> None:
    """A contract value lowered to what was already collected completes the full-collection milestone."""
    if project["status"] == "open" and fully_collected(project):
        await complete_automatically(project["id"], "full_collection", actor.id, records.now())


def above_outstanding(outstanding: decimal.Decimal) -> Invalid:
    """The one refusal of an amount that passes the contract value, in words, with the figure for the screen."""
    return Invalid(f"above the outstanding ¥{outstanding:,.2f}".replace(".00", ""), field="amount",
                   extra={"still_due": outstanding, "reason": "above_outstanding"})


async def _recount(actor: Actor, project: dict[str, Any], at: dt.datetime) -> tuple[dict[str, Any], list[uuid.UUID]]:
    """The project's collected total from its payments that stand (voided ones count for nothing), and the
    full-collection milestone following it: done when the contract is reached, open again (in the current stage)
    when a correction takes the total back below it."""
    rows = await Collection.select(Collection.amount).where(
        (Collection.project == project["id"]) & Collection.voided_at.is_null())
    total = sum((records.money(r["amount"]) for r in rows), ZERO)
    after = await records.apply_update(actor, PROJECT_SPEC, project["id"], project["version"],
                                       {"collected_amount": total}, action="collect")
    changed: list[uuid.UUID] = []
    if after["status"] == "open":
        if fully_collected(after):
            changed = await complete_automatically(project["id"], "full_collection", actor.id, at)
        else:
            changed = await reopen_automatically(after, "full_collection", actor.id, at)
    return after, changed


async def _standing_collection(actor: Actor, collection_id: uuid.UUID, reason: str) -> dict[str, Any]:
    if not access.can(actor, "update", "collection"):
        raise Forbidden("Only finance and branch managers correct payments")
    await access.authorize(actor, "update", "collection", collection_id)
    row = await records.fetch(COLLECTION_SPEC, collection_id)
    assert row is not None
    if row["voided_at"] is not None:
        raise Conflict("This payment was voided; record a new one instead", field="voided_at")
    if not reason.strip():
        raise Invalid("Say why the payment is changed", field="reason")
    return row


async def correct_collection(actor: Actor, collection_id: uuid.UUID, version: int, *, reason: str,
                             amount: decimal.Decimal | None = None, received_on: dt.date | None = None,
                             method: str | None = None, at: dt.datetime | None = None) -> CollectionUndone:
    """Fix a payment recorded wrongly (amount, date, method); the total and the full-collection milestone follow.
    The old values and the reason stay in the change log."""
    at = at or records.now()
    async with db.write_transaction():
        row = await _standing_collection(actor, collection_id, reason)
        project = await lock_project(row["project"])
        changes: dict[str, Any] = {"reason": reason.strip()}
        if amount is not None:
            check_amount(amount)
            outstanding = (records.money(project["contract_value"]) - records.money(project["collected_amount"])
                           + records.money(row["amount"]))
            if amount > outstanding:
                raise above_outstanding(outstanding)
            changes["amount"] = amount
        if received_on is not None:
            today = at.astimezone(zoneinfo.ZoneInfo(await branch_timezone(project["branch"]))).date()
            if received_on > today:
                raise Invalid("A payment cannot be received in the future", field="received_on")
            changes["received_on"] = received_on
        if method is not None:
            if method not in PAYMENT_METHODS:
                raise Invalid(f"Method must be one of {', '.join(PAYMENT_METHODS)}", field="method")
            changes["method"] = method
        after = await records.apply_update(actor, COLLECTION_SPEC, collection_id, version, changes,
                                           action="correct", reason=reason.strip())
        project_after, changed = await _recount(actor, project, at)
    return _undone(actor, after, project_after, changed)


async def void_collection(actor: Actor, collection_id: uuid.UUID, version: int, reason: str,
                          at: dt.datetime | None = None) -> CollectionUndone:
    """Void a payment that was never received (or recorded twice): it stays on the record and counts for nothing."""
    at = at or records.now()
    async with db.write_transaction():
        row = await _standing_collection(actor, collection_id, reason)
        project = await lock_project(row["project"])
        after = await records.apply_update(actor, COLLECTION_SPEC, collection_id, version,
                                           {"voided_at": at, "voided_by": actor.id, "reason": reason.strip()},
                                           action="void", reason=reason.strip())
        project_after, changed = await _recount(actor, project, at)
    return _undone(actor, after, project_after, changed)


def _undone(actor: Actor, collection: dict[str, Any], project: dict[str, Any], changed: list[uuid.UUID]
            ) -> CollectionUndone:
    return CollectionUndone(collection=collection_out(actor, collection),
                            project=msgspec.convert(records.to_api(PROJECT_SPEC, actor, project), ProjectOut,
                                                    strict=False),
                            changed_milestone_ids=changed)
