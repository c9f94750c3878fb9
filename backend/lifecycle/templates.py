"""Lifecycle templates per business line: immutable, numbered versions.

Saving a template stores version n + 1 (the editor names the version they started from, so two admins cannot
overwrite each other); a project records the version it started with and runs it to the end.
"""

from __future__ import annotations

import uuid
from typing import Any

from backend import access, db
from backend.access import Actor
from backend.accounts.tables import User
from backend.audit.services import record_change
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.lifecycle import definitions
from backend.lifecycle.definitions import TemplateDef
from backend.lifecycle.seeds import seed_for
from backend.projects.tables import BusinessLine, TemplateVersion

_CACHE: dict[uuid.UUID, TemplateDef] = {}
SUMMARY = (TemplateVersion.id, TemplateVersion.business_line, TemplateVersion.number, TemplateVersion.created_at,
           TemplateVersion.created_by, TemplateVersion.note)


async def definition_of(version_id: uuid.UUID) -> TemplateDef:
    """The definition of a version; versions never change, so each is decoded once per process."""
    cached = _CACHE.get(version_id)
    if cached is None:
        row = await TemplateVersion.select(TemplateVersion.definition).where(TemplateVersion.id == version_id).first()
        if row is None:
            raise NotFound(f"No lifecycle template version {version_id}")
        cached = definitions.decode(row["definition"])
        if len(_CACHE) > 512:
            _CACHE.clear()
        _CACHE[version_id] = cached
    return cached


async def current_version(business_line_id: uuid.UUID) -> dict[str, Any] | None:
    return await TemplateVersion.select(*SUMMARY).where(TemplateVersion.business_line == business_line_id).order_by(
        TemplateVersion.number, ascending=False).first()


async def _store(business_line_id: uuid.UUID, number: int, definition: TemplateDef, actor_id: uuid.UUID | None,
                 note: str) -> dict[str, Any]:
    line = await BusinessLine.select(BusinessLine.id).where(BusinessLine.id == business_line_id).first()
    if line is None:
        raise NotFound(f"No business line with id {business_line_id}")
    version = TemplateVersion(business_line=business_line_id, number=number, definition=definitions.encode(definition),
                              created_by=actor_id, note=note)
    await TemplateVersion.insert(version)
    _CACHE[version.id] = definition
    await record_change(actor_id=actor_id, action="create", table="lifecycle_template_versions", row_id=version.id,
                        after={"business_line": business_line_id, "number": number, "note": note})
    stored = await TemplateVersion.select(*SUMMARY).where(TemplateVersion.id == version.id).first()
    assert stored is not None
    return stored


async def ensure_template(business_line_id: uuid.UUID) -> dict[str, Any]:
    """The line's current version, creating version 1 from its seed (or the generic lifecycle) if it has none
    (recorded as the system's doing). Runs inside the caller's transaction.
    """
    current = await current_version(business_line_id)
    if current is not None:
        return current
    line = await BusinessLine.select(BusinessLine.key).where(BusinessLine.id == business_line_id).first()
    if line is None:
        raise NotFound(f"No business line with id {business_line_id}", field="business_line_id")
    return await _store(business_line_id, 1, seed_for(line["key"]), None, "seeded")


def to_api(row: dict[str, Any], definition: TemplateDef | None = None) -> dict[str, Any]:
    out = {"id": row["id"], "business_line_id": row["business_line"], "number": row["number"],
           "created_at": row["created_at"], "created_by_id": row["created_by"], "note": row["note"]}
    if definition is not None:
        out["definition"] = definition
    return out


async def read_current(actor: Actor, business_line_id: uuid.UUID) -> dict[str, Any]:
    """The template new projects of the line get (created from the seed on first look)."""
    await access.authorize(actor, "read", "business_line", business_line_id)
    current = await current_version(business_line_id)
    if current is None:
        async with db.write_transaction():
            current = await ensure_template(business_line_id)
    return to_api(current, await definition_of(current["id"]))


async def read_version(actor: Actor, version_id: uuid.UUID) -> dict[str, Any]:
    await access.authorize(actor, "read", "template_version", version_id)
    row = await TemplateVersion.select(*SUMMARY).where(TemplateVersion.id == version_id).first()
    assert row is not None
    return to_api(row, await definition_of(version_id))


async def list_versions(actor: Actor, business_line_id: uuid.UUID) -> list[dict[str, Any]]:
    await access.authorize(actor, "read", "business_line", business_line_id)
    rows = await TemplateVersion.select(*SUMMARY).where(TemplateVersion.business_line == business_line_id).order_by(
        TemplateVersion.number, ascending=False)
    return [to_api(row) for row in rows]


async def _check_named_users(definition: TemplateDef) -> None:
    for path, user_id in definitions.named_users(definition):
        user = await User.select(User.role, User.is_active).where(User.id == user_id).first()
        if user is None:
            raise NotFound(f"No user with id {user_id}", field=path)
        if not user["is_active"] or user["role"] == "admin":
            raise Invalid("Escalations go to an active user who works on projects (not an admin account)",
                          field=path)


async def save_template(actor: Actor, business_line_id: uuid.UUID, definition: TemplateDef | dict, based_on: int,
                        note: str = "") -> dict[str, Any]:
    """Store the next version. `based_on` is the number the admin edited; anything else means someone saved first."""
    if not access.can(actor, "create", "template_version"):
        raise Forbidden("Only admins edit lifecycle templates")
    if not isinstance(definition, TemplateDef):
        definition = definitions.decode(definition)
    definitions.check(definition)
    await _check_named_users(definition)
    async with db.write_transaction():
        await access.authorize(actor, "read", "business_line", business_line_id)
        current = await ensure_template(business_line_id)
        if current["number"] != based_on:
            raise Conflict(f"Version {current['number']} was saved after version {based_on}; start from it",
                           field="based_on", extra={"current": to_api(current, await definition_of(current["id"]))})
        stored = await _store(business_line_id, based_on + 1, definition, actor.id, note)
    return to_api(stored, definition)
