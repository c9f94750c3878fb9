"""Scoped list/read/create/update/delete of one resource, with optimistic concurrency and the change log.

Domain services describe a resource once (`Spec`) and reuse these functions; their own rules (state
machines, reassignment) build on `fetch`, `apply_update` and `backend.audit.services.record_change`.
"""

from __future__ import annotations

import decimal
import functools
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
from piccolo.columns import Column, ForeignKey, Numeric
from piccolo.columns.combination import WhereRaw
from piccolo.table import Table

from backend import access, db, specs
from backend.access import Actor
from backend.accounts.tables import User
from backend.audit.services import changed_fields, record_change, record_changes
from backend.errors import Conflict, Forbidden, Invalid, NotFound

MAX_PAGE = 200
CENT = decimal.Decimal("0.01")


@dataclass(frozen=True)
class Spec:
    resource: str
    table: type[Table]
    search: tuple[str, ...] = ()
    filters: dict[str, type] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)  # FK column -> resource it must be visible as
    owner_field: str | None = "owner"
    # Fields worked out from the stored row for every reply (e.g. a project's `overdue` flag).
    computed: Callable[[dict[str, Any]], dict[str, Any]] | None = None


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


now = specs.now


# Column-name sets per table, worked out once: to_api runs for every row of every page, and walking the
# columns (isinstance on Piccolo's ForeignKey) per row was about half the CPU of a 50-row list (bench/api.py).
@functools.cache
def _fk_names(table: type[Table]) -> frozenset[str]:
    return frozenset(c._meta.name for c in table._meta.columns if isinstance(c, ForeignKey))


@functools.cache
def _money_names(table: type[Table]) -> tuple[str, ...]:
    return tuple(c._meta.name for c in table._meta.columns if isinstance(c, Numeric))


@functools.cache
def _secret_names(table: type[Table]) -> frozenset[str]:
    return frozenset(c._meta.name for c in table._meta.columns if c._meta.secret)


def money(value: Any) -> decimal.Decimal:
    """Amounts to two decimals (SQLite hands Numeric back from a float)."""
    return decimal.Decimal(str(value)).quantize(CENT)


def to_api(spec: Spec, actor: Actor, row: dict[str, Any]) -> dict[str, Any]:
    """Rename foreign keys to `<name>_id`, drop secrets and apply the role's field mask."""
    fks = _fk_names(spec.table)
    secrets = _secret_names(spec.table)
    if money_names := _money_names(spec.table):
        row = {**row, **{k: money(row[k]) for k in money_names if row.get(k) is not None}}
    out = {(f"{k}_id" if k in fks else k): v for k, v in row.items() if k not in secrets}
    if spec.computed is not None:
        out |= spec.computed(row)
    return access.mask(actor, spec.resource, out)


def from_api(spec: Spec, values: dict[str, Any]) -> dict[str, Any]:
    fks = _fk_names(spec.table)
    return {(k[:-3] if k.endswith("_id") and k[:-3] in fks else k): v for k, v in values.items()}


async def fetch(spec: Spec, record_id: Any) -> dict[str, Any] | None:
    table = spec.table
    return await table.select().where(table._meta.primary_key == record_id).first()


def _contains(column: Any, text: str) -> Any:
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    operator = "ILIKE" if db.is_postgres() else "LIKE"
    return WhereRaw(f"{column._meta.db_column_name} {operator} {{}} ESCAPE '\\'", pattern)


async def list_records(
    actor: Actor,
    spec: Spec,
    *,
    filters: dict[str, Any] | None = None,
    search: str = "",
    limit: int = 50,
    offset: int = 0,
    convert: bool = True,
) -> Page:
    if not access.can(actor, "list", spec.resource):
        return Page(items=[], total=0, limit=limit, offset=offset)
    table = spec.table
    clauses = []
    for name, value in (filters or {}).items():
        clauses.append(getattr(table, name) == value)
    if search.strip() and spec.search:
        terms = [_contains(getattr(table, name), search.strip()) for name in spec.search]
        clause = terms[0]
        for term in terms[1:]:
            clause = clause | term
        clauses.append(clause)
    query = access.scope(table.select(), actor, spec.resource)
    for clause in clauses:
        query = query.where(clause)
    order = table.created_at if hasattr(table, "created_at") else table._meta.primary_key
    rows = await query.order_by(order, ascending=False).order_by(table._meta.primary_key).limit(limit).offset(offset)
    if len(rows) < limit and (rows or offset == 0):
        total = offset + len(rows)  # a short page is the last one: it tells the total without a count query
    else:
        count = access.scope(table.count(), actor, spec.resource)
        for clause in clauses:
            count = count.where(clause)
        total = await count
    items = [to_api(spec, actor, r) for r in rows] if convert else rows
    return Page(items=items, total=total, limit=limit, offset=offset)


async def get_record(actor: Actor, spec: Spec, record_id: uuid.UUID) -> dict[str, Any]:
    await access.authorize(actor, "read", spec.resource, record_id)
    row = await fetch(spec, record_id)
    assert row is not None
    return to_api(spec, actor, row)


async def check_references(actor: Actor, spec: Spec, values: dict[str, Any]) -> None:
    """Every referenced record must be visible to the actor (a guessed id of another branch is a 404)."""
    for column, resource in spec.references.items():
        value = values.get(column)
        if value is None:
            continue
        try:
            await access.authorize(actor, "read", resource, value)
        except NotFound as exc:
            raise NotFound(exc.message, field=f"{column}_id") from None


async def check_owner(actor: Actor, spec: Spec, values: dict[str, Any]) -> None:
    if not spec.owner_field:
        return
    owner = values.get(spec.owner_field) or actor.id
    values[spec.owner_field] = owner
    if owner == actor.id:
        return
    user = await User.select(User.branch, User.is_active).where(User.id == owner).first()
    if not access.can(actor, "reassign", spec.resource) or not user or user["branch"] != actor.branch_id:
        raise Invalid("The owner must be yourself or, for a branch manager, a user of your branch",
                      field=f"{spec.owner_field}_id")
    if not user["is_active"]:
        raise Invalid("The owner's account is disabled", field=f"{spec.owner_field}_id")


MAX_AMOUNT = decimal.Decimal("999999999999.99")


def check_amounts(spec: Spec, values: dict[str, Any]) -> None:
    """Money columns hold 0 … 999,999,999,999.99 with at most two decimals."""
    for column in spec.table._meta.columns:
        value = values.get(column._meta.name)
        if isinstance(column, Numeric) and value is not None:
            check_money(column._meta.name, value)


def check_money(name: str, value: decimal.Decimal) -> None:
    """The one money rule: 0 … 999,999,999,999.99 with at most two decimals."""
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise Invalid(f"{name} must be between 0 and {MAX_AMOUNT}", field=name)
    if value != value.quantize(CENT):
        raise Invalid(f"{name} has more than two decimals", field=name)


def _integrity_error(exc: Exception) -> Conflict:
    return Conflict(f"The change conflicts with related records: {exc}")


INTEGRITY_ERRORS = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)


async def insert_audited(actor: Actor, spec: Spec, values: dict[str, Any]) -> dict[str, Any]:
    """Insert inside the caller's transaction, authorise the result and log it; returns the stored row."""
    table = spec.table
    record = table(**values)
    try:
        await table.insert(record)
    except INTEGRITY_ERRORS as exc:
        raise _integrity_error(exc) from None
    record_id = getattr(record, table._meta.primary_key._meta.name)
    await access.authorize(actor, "create", spec.resource, record_id)
    # The inserted object holds every column (defaults filled in): no re-read under the write lock.
    after = {column._meta.name: getattr(record, column._meta.name) for column in table._meta.columns}
    await record_change(
        actor_id=actor.id, action="create", table=table._meta.tablename, row_id=record_id,
        after=after, branch_id=after.get("branch"), owner_id=after.get(spec.owner_field or ""),
    )
    return after


async def create_record(actor: Actor, spec: Spec, values: dict[str, Any]) -> dict[str, Any]:
    if not access.can(actor, "create", spec.resource):
        raise Forbidden(f"Your role may not create a {spec.resource}")
    values = from_api(spec, values)
    if values.get("id") is None:
        values.pop("id", None)  # the table makes one; clients may send their own for idempotent creates
    if "branch" in {c._meta.name for c in spec.table._meta.columns}:
        values["branch"] = actor.branch_id
    check_amounts(spec, values)
    # Validation reads run before the write lock is taken (SQLite has one writer: time under the lock is
    # throughput). The authoritative check stays inside: the new record must be visible and writable.
    await check_owner(actor, spec, values)
    await check_references(actor, spec, values)
    async with db.write_transaction():
        after = await insert_audited(actor, spec, values)
    return to_api(spec, actor, after)


async def apply_update(
    actor: Actor, spec: Spec, record_id: Any, version: int, changes: dict[str, Any], *, action: str = "update",
    reason: str = "",
) -> dict[str, Any]:
    """Optimistic update inside the caller's transaction: stale `version` → Conflict with the current record.
    A `reason` (an undo says why) is kept in the change-log row beside the changed fields."""
    table = spec.table
    before = await fetch(spec, record_id)
    if before is None:
        raise NotFound(f"No {spec.resource} with id {record_id}")
    if before["version"] != version:
        raise Conflict(
            f"This {spec.resource} was changed by someone else (version {before['version']}, yours {version})",
            field="version",
            extra={"current": to_api(spec, actor, before)},
        )
    values = {**changes, "version": version + 1}
    if hasattr(table, "updated_at"):
        values["updated_at"] = now()
    pk, version_column = table._meta.primary_key, table._meta.get_column_by_name("version")
    try:
        # Piccolo keys `update` by `Column | str` (dict is invariant, so a `dict[str, Any]` needs the cast).
        query = table.update(cast("dict[Column | str, Any]", values))
        updated = await query.where((pk == record_id) & (version_column == version)).returning(pk)
    except INTEGRITY_ERRORS as exc:
        raise _integrity_error(exc) from None
    if not updated:
        raise Conflict(f"This {spec.resource} was changed by someone else", field="version")
    after = await fetch(spec, record_id)
    assert after is not None
    await _log(actor, action, spec, record_id, before, after, reason)
    return after


async def _log(actor: Actor, action: str, spec: Spec, record_id: Any, before: dict[str, Any] | None,
               after: dict[str, Any] | None, reason: str) -> None:
    scope = after or before or {}
    diff = changed_fields(before, after)
    if reason:
        diff["reason"] = reason
    await record_changes([{"actor_id": actor.id, "action": action, "table": spec.table._meta.tablename,
                           "row_id": record_id, "changes": diff, "branch_id": scope.get("branch"),
                           "owner_id": scope.get(spec.owner_field or ""), "row": scope}])  # row: live scope keys


async def update_record(
    actor: Actor, spec: Spec, record_id: uuid.UUID, version: int, changes: dict[str, Any]
) -> dict[str, Any]:
    changes = from_api(spec, changes)
    async with db.write_transaction():
        await access.authorize(actor, "update", spec.resource, record_id)
        check_amounts(spec, changes)
        await check_references(actor, spec, changes)
        after = await apply_update(actor, spec, record_id, version, changes)
    return to_api(spec, actor, after)


async def delete_record(actor: Actor, spec: Spec, record_id: uuid.UUID, reason: str = "") -> None:
    table = spec.table
    async with db.write_transaction():
        await access.authorize(actor, "delete", spec.resource, record_id)
        before = await fetch(spec, record_id)
        assert before is not None
        try:
            await table.delete().where(table._meta.primary_key == record_id)
        except INTEGRITY_ERRORS:
            raise Conflict(f"This {spec.resource} still has related records; remove or move them first") from None
        await _log(actor, "delete", spec, record_id, before, None, reason)


async def authorize_reassign(actor: Actor, resource: str, record_id: Any, owner_id: uuid.UUID) -> None:
    """The rule lives in `backend.access.authorize_reassign`; kept here for the services that call it."""
    await access.authorize_reassign(actor, resource, record_id, owner_id)


async def reassign(actor: Actor, spec: Spec, record_id: uuid.UUID, owner_id: uuid.UUID, version: int) -> dict[str, Any]:
    async with db.write_transaction():
        await authorize_reassign(actor, spec.resource, record_id, owner_id)
        assert spec.owner_field is not None  # only specs with an owner are reassigned (backend.crud, handover)
        after = await apply_update(actor, spec, record_id, version, {spec.owner_field: owner_id}, action="reassign")
    return to_api(spec, actor, after)
