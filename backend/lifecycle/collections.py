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
from backend.errors import Forbidden, Invalid
from backend.lifecycle.actions import complete_automatically
from backend.lifecycle.calendars import branch_timezone
from backend.lifecycle.schemas import CollectionOut, CollectionRecorded
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
            raise Invalid(f"That would collect {collected + amount} against a contract value of {contract}; "
                          f"at most {contract - collected} is still due", field="amount",
                          extra={"still_due": contract - collected})
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
