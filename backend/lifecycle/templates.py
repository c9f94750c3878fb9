"""Lifecycle templates per business line: immutable, numbered versions.

Saving a template stores version n + 1 (the editor names the version they started from, so two admins cannot
overwrite each other); a project records the version it started with and runs it to the end.

A business line that has no stored version yet runs its seed (`backend.lifecycle.seeds`). Reads never write: they
show the seed as version 1 with an id derived from the line (`seed_version_id`) and the line's creation time, and
the first write that needs it (a project started, a template saved) stores exactly that row. So what a reader saw
is what gets stored, with no migration to run for lines made before, and no hook in business-line creation.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from piccolo.query.functions.aggregate import Count

from backend import access, db
from backend.access import Actor
from backend.accounts.tables import User
from backend.audit.services import record_change
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.lifecycle import definitions
from backend.lifecycle.definitions import TemplateDef
from backend.lifecycle.schemas import TemplateVersionOut
from backend.lifecycle.seeds import seed_for
from backend.projects.tables import BusinessLine, Project, TemplateVersion

_CACHE: dict[uuid.UUID, TemplateDef] = {}
SEED_NOTE = "seeded"
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


def seed_version_id(business_line_id: uuid.UUID) -> uuid.UUID:
    """The id version 1 of a line gets when it comes from the seed: the same before and after it is stored."""
    return uuid.uuid5(business_line_id, "lifecycle-template-seed-1")


async def _seed(business_line_id: uuid.UUID) -> tuple[dict[str, Any], TemplateDef]:
    """Version 1 of a line without stored versions, as it would be stored (nothing is written)."""
    line = await BusinessLine.select(BusinessLine.key, BusinessLine.created_at).where(
        BusinessLine.id == business_line_id).first()
    if line is None:
        raise NotFound(f"No business line with id {business_line_id}", field="business_line_id")
    row = {"id": seed_version_id(business_line_id), "business_line": business_line_id, "number": 1,
           "created_at": line["created_at"], "created_by": None, "note": SEED_NOTE}
    return row, seed_for(line["key"])


async def _current_or_seed(business_line_id: uuid.UUID) -> tuple[dict[str, Any], TemplateDef]:
    current = await current_version(business_line_id)
    if current is None:
        return await _seed(business_line_id)
    return current, await definition_of(current["id"])


async def _store(business_line_id: uuid.UUID, number: int, definition: TemplateDef, actor_id: uuid.UUID | None,
                 note: str) -> dict[str, Any]:
    line = await BusinessLine.select(BusinessLine.id).where(BusinessLine.id == business_line_id).first()
    if line is None:
        raise NotFound(f"No business line with id {business_line_id}")
    version = TemplateVersion(business_line=business_line_id, number=number, definition=definitions.encode(definition),
                              created_by=actor_id, note=note)
    await TemplateVersion.insert(version)
    return await _stored(version.id, definition, actor_id)


async def _stored(version_id: uuid.UUID, definition: TemplateDef, actor_id: uuid.UUID | None) -> dict[str, Any]:
    """Log a version just inserted and return its summary row."""
    _CACHE[version_id] = definition
    stored = await TemplateVersion.select(*SUMMARY).where(TemplateVersion.id == version_id).first()
    assert stored is not None
    await record_change(actor_id=actor_id, action="create", table="lifecycle_template_versions", row_id=version_id,
                        after={"business_line": stored["business_line"], "number": stored["number"],
                               "note": stored["note"]})
    return stored


async def ensure_template(business_line_id: uuid.UUID) -> dict[str, Any]:
    """The line's current version, storing version 1 from its seed (exactly as `read_current` showed it,
    recorded as the system's doing) if it has none. For write paths only; runs inside the caller's transaction.
    Two first writers at once store it once: the id is fixed, and the second finds the first's row.
    """
    current = await current_version(business_line_id)
    if current is not None:
        return current
    row, definition = await _seed(business_line_id)
    inserted = await TemplateVersion.insert(TemplateVersion(
        id=row["id"], business_line=business_line_id, number=1, definition=definitions.encode(definition),
        created_by=None, created_at=row["created_at"], note=SEED_NOTE,
    )).on_conflict(action="DO NOTHING").returning(TemplateVersion.id)
    if not inserted:
        current = await current_version(business_line_id)
        assert current is not None
        return current
    return await _stored(row["id"], definition, None)


def to_api(row: dict[str, Any], definition: TemplateDef | None = None) -> TemplateVersionOut:
    out = TemplateVersionOut(id=row["id"], business_line_id=row["business_line"], number=row["number"],
                             created_at=row["created_at"], created_by_id=row["created_by"], note=row["note"])
    if definition is not None:
        out.definition = definition
    return out


async def read_current(actor: Actor, business_line_id: uuid.UUID) -> TemplateVersionOut:
    """The template new projects of the line get (the seed, unstored, until the first project or edit)."""
    await access.authorize(actor, "read", "business_line", business_line_id)
    row, definition = await _current_or_seed(business_line_id)
    return to_api(row, definition)


async def read_version(actor: Actor, version_id: uuid.UUID) -> TemplateVersionOut:
    try:
        await access.authorize(actor, "read", "template_version", version_id)
    except NotFound:
        seeded = await _unstored_seed(actor, version_id)
        if seeded is None:
            raise
        return seeded
    row = await TemplateVersion.select(*SUMMARY).where(TemplateVersion.id == version_id).first()
    assert row is not None
    return to_api(row, await definition_of(version_id))


async def _unstored_seed(actor: Actor, version_id: uuid.UUID) -> TemplateVersionOut | None:
    """The seed version a line shows before it is stored, found by its derived id (lines are few)."""
    if not access.can(actor, "read", "template_version"):
        return None
    stored_lines = TemplateVersion.select(TemplateVersion.business_line)
    for line in await BusinessLine.select(BusinessLine.id).where(BusinessLine.id.not_in(stored_lines)):
        if seed_version_id(line["id"]) == version_id:
            return to_api(*(await _seed(line["id"])))
    return None


async def list_versions(actor: Actor, business_line_id: uuid.UUID) -> list[TemplateVersionOut]:
    await access.authorize(actor, "read", "business_line", business_line_id)
    rows = await TemplateVersion.select(*SUMMARY).where(TemplateVersion.business_line == business_line_id).order_by(
        TemplateVersion.number, ascending=False)
    return [to_api(row) for row in rows] or [to_api((await _seed(business_line_id))[0])]


async def _check_named_users(definition: TemplateDef) -> None:
    for path, user_id in definitions.named_users(definition):
        user = await User.select(User.role, User.is_active).where(User.id == user_id).first()
        if user is None:
            raise NotFound(f"No user with id {user_id}", field=path)
        if not user["is_active"] or user["role"] == "admin":
            raise Invalid("Escalations go to an active user who works on projects (not an admin account)",
                          field=path)


async def save_template(actor: Actor, business_line_id: uuid.UUID, definition: TemplateDef | dict[str, Any],
                        based_on: int, note: str = "") -> TemplateVersionOut:
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
            theirs = await definition_of(current["id"])
            base = await TemplateVersion.select(TemplateVersion.id).where(
                (TemplateVersion.business_line == business_line_id) & (TemplateVersion.number == based_on)).first()
            changes = diff(await definition_of(base["id"]), theirs) if base else []
            raise Conflict(f"Version {current['number']} was saved after version {based_on}; start from it",
                           field="based_on", extra={"current": to_api(current, theirs), "diff": changes})
        stored = await _store(business_line_id, based_on + 1, definition, actor.id, note)
    return to_api(stored, definition)


def _fields(struct: Any, skip: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in msgspec.structs.asdict(struct).items() if k not in skip}


def diff(old: TemplateDef, new: TemplateDef) -> list[str]:
    """What changed from `old` to `new`, one line each ("+ stage x", "- milestone y in x", "~ x.sla_hours: 48 → 72"),
    so an admin told that someone saved first sees what that was."""
    lines: list[str] = []
    old_stages, new_stages = {s.key: s for s in old.stages}, {s.key: s for s in new.stages}
    lines += [f"+ stage {k}" for k in new_stages if k not in old_stages]
    lines += [f"- stage {k}" for k in old_stages if k not in new_stages]
    if [k for k in old_stages if k in new_stages] != [k for k in new_stages if k in old_stages]:
        lines.append("~ stage order: " + " → ".join(new_stages))
    for key, stage in new_stages.items():
        before = old_stages.get(key)
        if before is None:
            continue
        was, now = _fields(before, ("milestones", "key")), _fields(stage, ("milestones", "key"))
        lines += [f"~ {key}.{name}: {was[name]} → {now[name]}" for name in now if was.get(name) != now[name]]
        old_ms, new_ms = {m.key: m for m in before.milestones}, {m.key: m for m in stage.milestones}
        lines += [f"+ milestone {k} in {key}" for k in new_ms if k not in old_ms]
        lines += [f"- milestone {k} in {key}" for k in old_ms if k not in new_ms]
        lines += [f"~ milestone {k} in {key}" for k, m in new_ms.items() if k in old_ms and old_ms[k] != m]
    if old.business_hours != new.business_hours:
        lines.append(f"~ business_hours: {old.business_hours} → {new.business_hours}")
    return lines


async def ladder_warnings(definition: TemplateDef) -> list[dict[str, Any]]:
    """Escalation steps to a role that some working branch has no active user of: saved anyway (the branch may
    hire), but the admin is told which step and which branches. A working branch has agents or managers."""
    steps = [(f"definition.stages[{i}].escalation[{j}].role", step.role) for i, stage in enumerate(definition.stages)
             for j, step in enumerate(stage.escalation) if step.to == "role" and step.role]
    if not steps:
        return []
    staff = await User.select(User.branch, User.role, User.branch.name.as_alias("branch_name")).where(
        User.is_active == True)  # noqa: E712
    working = {r["branch"]: r["branch_name"] for r in staff
               if r["role"] in ("agent", "project_manager", "branch_manager")}
    has = {(r["branch"], r["role"]) for r in staff}
    out = []
    for field, role in steps:
        lacking = sorted(name for branch, name in working.items() if (branch, role) not in has)
        if lacking:
            out.append({"field": field, "role": role, "branches": lacking})
    return out


async def version_usage(actor: Actor, business_line_id: uuid.UUID) -> list[dict[str, Any]]:
    """Each version of the line, newest first, with how many open projects run it (a count, no project data)."""
    versions = await list_versions(actor, business_line_id)
    rows = await Project.select(Project.template_version, Count(Project.id).as_alias("running")).where(
        (Project.business_line == business_line_id) & (Project.status == "open")).group_by(Project.template_version)
    running = {r["template_version"]: r["running"] for r in rows}
    return [{"id": v.id, "number": v.number, "created_at": v.created_at, "note": v.note,
             "running": running.get(v.id, 0)} for v in versions]
