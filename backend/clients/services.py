"""Clients and opportunities: scoped CRUD, the opportunity state machine and reassignment."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from backend import access, db, records
from backend.access import Actor
from backend.clients.protection import normalise_phone, refuse_if_registered
from backend.clients.schemas import ClientOut, OpportunityOut
from backend.clients.similar import CANDIDATE_LIMIT, Similarity, rank_similar
from backend.clients.tables import Client, Opportunity
from backend.errors import Conflict, Invalid
from backend.service import ListQuery, Page, Resource
from backend.visits.services import VISIT_SPEC
from backend.visits.tables import Visit

CLIENT_SPEC = records.Spec(
    resource="client", table=Client, search=("name", "phone", "area_preference"),
    filters={"owner": uuid.UUID, "intent": str, "source": str},
)
OPPORTUNITY_SPEC = records.Spec(
    resource="opportunity", table=Opportunity, search=("title",),
    filters={"owner": uuid.UUID, "client": uuid.UUID, "state": str},
    references={"client": "client"},
)
# potential → following → won | lost; a lead can drop back from following to potential.
TRANSITIONS = {"potential": {"following", "lost"}, "following": {"potential", "won", "lost"}}


def check_budget(values: dict[str, Any], current: dict[str, Any] | None = None) -> None:
    merged = {**(current or {}), **values}
    low, high = merged.get("budget_min"), merged.get("budget_max")
    if low is not None and high is not None and low > high:
        raise Invalid("The budget minimum is above the maximum", field="budget_min", extra={"reason": "budget_order"})


class ClientResource(Resource[ClientOut]):
    async def create(self, actor: Actor, values: dict[str, Any]) -> ClientOut:
        """A phone the branch already holds is refused (client protection, backend.clients.protection)."""
        if access.can(actor, "create", "client") and "phone" in values:
            values = {**values, "phone": normalise_phone(values["phone"])}
            await refuse_if_registered(actor, values["phone"], actor.branch_id)
        return await super().create(actor, values)

    async def update(self, actor: Actor, record_id: uuid.UUID, version: int, changes: dict[str, Any]) -> ClientOut:
        if "phone" in changes:
            await access.authorize(actor, "update", "client", record_id)
            current = await records.fetch(CLIENT_SPEC, record_id)
            assert current is not None
            changes = {**changes, "phone": normalise_phone(changes["phone"])}
            if changes["phone"] != current["phone"]:
                await refuse_if_registered(actor, changes["phone"], current["branch"], record_id)
        return await super().update(actor, record_id, version, changes)

    async def reassign(self, actor: Actor, record_id: uuid.UUID, owner_id: uuid.UUID, version: int) -> ClientOut:
        """Move a client to another agent of the branch, with its open opportunities and planned visits."""
        async with db.write_transaction():
            await records.authorize_reassign(actor, "client", record_id, owner_id)
            after = await records.apply_update(actor, CLIENT_SPEC, record_id, version, {"owner": owner_id},
                                               action="reassign")
            for spec, table, open_clause in (
                (OPPORTUNITY_SPEC, Opportunity, Opportunity.state.is_in(["potential", "following"])),
                (VISIT_SPEC, Visit, Visit.status == "planned"),
            ):
                rows = await table.select(table.id, table.version).where((table.client == record_id) & open_clause)
                for row in rows:
                    await records.apply_update(actor, spec, row["id"], row["version"], {"owner": owner_id},
                                               action="reassign")
        return self.output(actor, after)


CLIENTS = ClientResource(CLIENT_SPEC, ClientOut, on_create=check_budget, on_update=check_budget)
OPPORTUNITIES = Resource(OPPORTUNITY_SPEC, OpportunityOut)


async def list_clients(actor: Actor, query: ListQuery | None = None) -> Page[ClientOut]:
    return await CLIENTS.list(actor, query)


async def get_client(actor: Actor, client_id: uuid.UUID) -> ClientOut:
    return await CLIENTS.get(actor, client_id)


async def create_client(actor: Actor, values: dict[str, Any]) -> ClientOut:
    return await CLIENTS.create(actor, values)


async def update_client(actor: Actor, client_id: uuid.UUID, version: int, changes: dict[str, Any]) -> ClientOut:
    return await CLIENTS.update(actor, client_id, version, changes)


async def reassign_client(actor: Actor, client_id: uuid.UUID, owner_id: uuid.UUID, version: int) -> ClientOut:
    return await CLIENTS.reassign(actor, client_id, owner_id, version)


async def list_opportunities(actor: Actor, query: ListQuery | None = None) -> Page[OpportunityOut]:
    return await OPPORTUNITIES.list(actor, query)


async def create_opportunity(actor: Actor, values: dict[str, Any]) -> OpportunityOut:
    return await OPPORTUNITIES.create(actor, values)


async def move_opportunity(
    actor: Actor, opportunity_id: uuid.UUID, version: int, state: str, lost_reason: str = ""
) -> OpportunityOut:
    async with db.write_transaction():
        await access.authorize(actor, "update", "opportunity", opportunity_id)
        current = await records.fetch(OPPORTUNITY_SPEC, opportunity_id)
        assert current is not None
        if state not in TRANSITIONS.get(current["state"], set()):
            raise Conflict(f"An opportunity cannot move from {current['state']} to {state}", field="state")
        if state == "lost" and not lost_reason.strip():
            raise Invalid("Say why the opportunity was lost", field="lost_reason")
        changes: dict[str, Any] = {"state": state, "lost_reason": lost_reason.strip() if state == "lost" else ""}
        if state in ("won", "lost"):
            changes["closed_at"] = records.now()
        after = await records.apply_update(actor, OPPORTUNITY_SPEC, opportunity_id, version, changes, action="move")
    return OPPORTUNITIES.output(actor, after)


async def reopen_opportunity(actor: Actor, opportunity_id: uuid.UUID, version: int, reason: str) -> OpportunityOut:
    """Undo a won or lost: the opportunity is followed again; the reason is kept in the change log."""
    async with db.write_transaction():
        await access.authorize(actor, "update", "opportunity", opportunity_id)
        current = await records.fetch(OPPORTUNITY_SPEC, opportunity_id)
        assert current is not None
        if current["state"] not in ("won", "lost"):
            raise Conflict(f"Only a won or lost opportunity can be reopened; this one is {current['state']}",
                           field="state")
        if not reason.strip():
            raise Invalid("Say why the opportunity is reopened", field="reason")
        after = await records.apply_update(actor, OPPORTUNITY_SPEC, opportunity_id, version,
                                           {"state": "following", "closed_at": None, "lost_reason": ""},
                                           action="reopen", reason=reason.strip())
    return OPPORTUNITIES.output(actor, after)


async def similar_clients(actor: Actor, client_id: uuid.UUID, limit: int = 5) -> list[tuple[ClientOut, Similarity]]:
    """Clients similar to `client_id` among those the actor may see (a 404 when the client itself is invisible)."""
    target = records.to_api(CLIENT_SPEC, actor, await CLIENTS.fetch_visible(actor, client_id))
    candidates: list[dict[str, Any]] = []
    while len(candidates) < CANDIDATE_LIMIT:
        page = await records.list_records(actor, CLIENT_SPEC, limit=records.MAX_PAGE, offset=len(candidates))
        candidates += page.items
        if not page.items or len(candidates) >= page.total:
            break
    return [(msgspec.convert(row, ClientOut, strict=False), score)
            for row, score in rank_similar(target, candidates, limit)]
