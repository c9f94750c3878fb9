"""The one template every resource's service follows: authorize → validate → write → change log.

A domain describes a resource once (`Resource(spec, Out)`) and exposes its operations as functions of its own
`services.py`; endpoints and screens call only those. The order is structural: a record the caller may not see is
a 404 before any rule looks at the body, so no validation message can tell anything about an invisible record
(the value oracle of issue 10). Replies are msgspec structs, so the OpenAPI document names every field.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec
from piccolo.columns import UUID as UUIDColumn

from backend import access, db, records
from backend.access import Actor
from backend.audit.tables import ClaimedId
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.records import Spec

Out = TypeVar("Out", bound=msgspec.Struct)
Row = dict[str, Any]
# A domain rule over the values about to be written and the stored record (None on create). It runs after the
# caller was authorised and inside the write transaction, so it sees the row it will change.
Rule = Callable[[Row, Row | None], Awaitable[None] | None]
MAX_OFFSET = 1_000_000
MAX_LIMIT = records.MAX_PAGE


class Page(msgspec.Struct, Generic[Out]):
    """One page of a list: `total` counts every visible record matching the filters."""

    items: list[Out]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class ListQuery:
    filters: Mapping[str, Any] = field(default_factory=dict)
    search: str = ""
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise Invalid(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
        if not 0 <= self.offset <= MAX_OFFSET:
            raise Invalid(f"offset must be between 0 and {MAX_OFFSET}", field="offset")


async def _run(rule: Rule | None, values: Row, current: Row | None) -> None:
    if rule is None:
        return
    result = rule(values, current)
    if result is not None:
        await result


@dataclass(frozen=True)
class Resource(Generic[Out]):
    """One resource's operations. Domain rules are part of it (`on_create`, `on_update`, or a subclass overriding
    an operation), so every caller — endpoint, screen, sync op — gets them; none can reach the bare machinery."""

    spec: Spec
    out: type[Out]
    on_create: Rule | None = None
    on_update: Rule | None = None

    @property
    def name(self) -> str:
        return self.spec.resource

    def output(self, actor: Actor, row: Row) -> Out:
        """The stored row as this actor may receive it (foreign keys as `<name>_id`, the role's field mask)."""
        return msgspec.convert(records.to_api(self.spec, actor, row), self.out, strict=False)

    def may(self, actor: Actor, action: access.Action) -> bool:
        """Whether the actor's role may take `action` on this resource at all (screens show or hide a button)."""
        return access.can(actor, action, self.name)

    async def list(self, actor: Actor, query: ListQuery | None = None, **options: Any) -> Page[Out]:
        """One page; `options` are ListQuery's fields (filters, search, limit, offset) when no query is given."""
        query = query or ListQuery(**options)
        page = await records.list_records(actor, self.spec, filters=dict(query.filters), search=query.search,
                                          limit=query.limit, offset=query.offset, convert=False)
        return Page(items=[self.output(actor, row) for row in page.items], total=page.total, limit=page.limit,
                    offset=page.offset)

    async def every(self, actor: Actor, *, cap: int = 1000, **options: Any) -> builtins.list[Out]:
        """Every visible record matching `options` (filters, search), up to `cap`, page by page."""
        items: builtins.list[Out] = []
        while len(items) < cap:
            page = await self.list(actor, limit=MAX_LIMIT, offset=len(items), **options)
            items += page.items
            if not page.items or len(items) >= page.total:
                break
        return items[:cap]

    async def get(self, actor: Actor, record_id: uuid.UUID) -> Out:
        await access.authorize(actor, "read", self.name, record_id)
        row = await records.fetch(self.spec, record_id)
        assert row is not None
        return self.output(actor, row)

    async def fetch_visible(self, actor: Actor, record_id: uuid.UUID) -> Row:
        """The stored row after a read check: for domain rules that need more than the reply shows."""
        await access.authorize(actor, "read", self.name, record_id)
        row = await records.fetch(self.spec, record_id)
        assert row is not None
        return row

    async def create(self, actor: Actor, values: Row) -> Out:
        """Insert one record. A client-made `id` makes the create idempotent for its creator: repeating it returns
        the first record; to anyone else a taken id is the same 409 whoever holds it (see `claim_id`)."""
        if not access.can(actor, "create", self.name):
            raise Forbidden(f"Your role may not create a {self.name}")
        values = records.from_api(self.spec, values)
        client_id = values.pop("id", None)
        if client_id is not None:
            first = await self._first_create(actor, client_id)
            if first is not None:
                return first
            values["id"] = client_id
        if "branch" in {c._meta.name for c in self.spec.table._meta.columns}:
            values["branch"] = actor.branch_id
        await _run(self.on_create, values, None)
        records.check_amounts(self.spec, values)
        # Validation reads run before the write lock (SQLite has one writer: time under the lock is throughput).
        # The authoritative check stays inside: the new record must be visible and writable.
        await records.check_owner(actor, self.spec, values)
        await records.check_references(actor, self.spec, values)
        try:
            async with db.write_transaction():
                if client_id is not None:
                    await claim_id(actor, self.name, client_id)
                after = await records.insert_audited(actor, self.spec, values)
        except Conflict as exc:
            if client_id is not None and exc.field == "id":
                first = await self._first_create(actor, client_id)
                if first is not None:
                    return first  # a concurrent retry of the same create won the race
            raise
        return self.output(actor, after)

    async def _first_create(self, actor: Actor, client_id: uuid.UUID) -> Out | None:
        """The record a previous create with this id made, if the caller made it; a taken id otherwise is 409."""
        claim = await ClaimedId.select(ClaimedId.resource, ClaimedId.creator).where(ClaimedId.id == client_id).first()
        row = await records.fetch(self.spec, client_id)
        if claim is None and row is None:
            if await _held_elsewhere(client_id):
                raise taken_id()
            return None
        if claim is None:  # made before ids were claimed: the record's owner is its creator
            mine = row is not None and row.get(self.spec.owner_field or "") == actor.id
        else:
            mine = claim["resource"] == self.name and claim["creator"] == actor.id
        if not mine or row is None:
            raise taken_id()
        try:
            await access.authorize(actor, "read", self.name, client_id)
        except (NotFound, Forbidden):
            raise taken_id() from None
        return self.output(actor, row)

    async def update(self, actor: Actor, record_id: uuid.UUID, version: int, changes: Row) -> Out:
        changes = records.from_api(self.spec, changes)
        async with db.write_transaction():
            await access.authorize(actor, "update", self.name, record_id)
            current = await records.fetch(self.spec, record_id)
            await _run(self.on_update, changes, current)
            records.check_amounts(self.spec, changes)
            await records.check_references(actor, self.spec, changes)
            after = await records.apply_update(actor, self.spec, record_id, version, changes)
        return self.output(actor, after)

    async def delete(self, actor: Actor, record_id: uuid.UUID) -> None:
        await records.delete_record(actor, self.spec, record_id)

    async def reassign(self, actor: Actor, record_id: uuid.UUID, owner_id: uuid.UUID, version: int) -> Out:
        after = await records.reassign(actor, self.spec, record_id, owner_id, version)
        return self.output(actor, after)


async def _held_elsewhere(record_id: uuid.UUID) -> bool:
    """Whether any other kind of record already has this id (one query over every uuid-keyed table)."""
    tables = [t for t in access.TABLES.values() if isinstance(t._meta.primary_key, UUIDColumn)]
    union = " UNION ALL ".join(f'SELECT 1 FROM "{t._meta.tablename}" WHERE id = {{}}' for t in tables)
    return bool(await ClaimedId.raw(f"{union} LIMIT 1", *([record_id] * len(tables))))


def taken_id() -> Conflict:
    """The one answer to an id someone else holds: the same whether the holder is invisible, deleted or another
    kind of record, so a create cannot be used to learn what exists."""
    return Conflict("That id is already taken; make a new one", field="id")


async def claim_id(actor: Actor, resource: str, client_id: uuid.UUID) -> bool:
    """Inside the caller's write transaction, record that `actor` made `client_id`: True when this is the first
    use, False when the actor already used it for this resource (a retry), `taken_id()` otherwise."""
    claimed = await ClaimedId.insert(ClaimedId(id=client_id, resource=resource, creator=actor.id)).on_conflict(
        action="DO NOTHING").returning(ClaimedId.id)  # one statement on the common path, under the write lock
    if claimed:
        return True
    claim = await ClaimedId.select(ClaimedId.resource, ClaimedId.creator).where(ClaimedId.id == client_id).first()
    if claim is not None and claim["resource"] == resource and claim["creator"] == actor.id:
        return False
    raise taken_id()
