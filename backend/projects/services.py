"""Projects (deals), business lines and project teams."""

from __future__ import annotations

import uuid
from typing import Any

from backend import access, db, records
from backend.access import Actor
from backend.audit.services import record_change
from backend.errors import Conflict, Invalid, NotFound
from backend.projects.tables import BusinessLine, Project, ProjectMember

PROJECT_SPEC = records.Spec(
    resource="project", table=Project, search=("title",),
    filters={"owner": uuid.UUID, "manager": uuid.UUID, "client": uuid.UUID, "business_line": uuid.UUID,
             "stage_key": str, "status": str},
    references={"client": "client", "business_line": "business_line", "manager": "user"},
)
BUSINESS_LINE_SPEC = records.Spec(
    resource="business_line", table=BusinessLine, search=("key", "name_zh", "name_en"), owner_field=None,
)


def check_collected_within_contract(values: dict[str, Any], current: dict[str, Any] | None = None) -> None:
    merged = {**(current or {}), **values}
    if merged.get("collected_amount", 0) > merged.get("contract_value", 0):
        raise Invalid("The collected amount cannot exceed the contract value", field="contract_value")


async def create_project(actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    return await records.create_record(actor, PROJECT_SPEC, values)


async def update_project(actor: Actor, project_id: uuid.UUID, version: int, changes: dict[str, Any]) -> dict[str, Any]:
    check_collected_within_contract(changes, await records.fetch(PROJECT_SPEC, project_id))
    return await records.update_record(actor, PROJECT_SPEC, project_id, version, changes)


async def list_members(actor: Actor, project_id: uuid.UUID) -> list[dict[str, Any]]:
    await access.authorize(actor, "read", "project", project_id)
    rows = await ProjectMember.select(
        ProjectMember.id, ProjectMember.user, ProjectMember.kind, ProjectMember.created_at,
        ProjectMember.user.display_name.as_alias("display_name"), ProjectMember.user.role.as_alias("role"),
    ).where(ProjectMember.project == project_id).order_by(ProjectMember.created_at)
    return [{**r, "user_id": r.pop("user")} for r in rows]


async def add_member(
    actor: Actor, project_id: uuid.UUID, user_id: uuid.UUID, kind: str = "team"
) -> dict[str, Any]:
    """Add a participant; the lifecycle engine calls this with kind "milestone"/"stage" inside its transaction."""
    from backend.accounts.tables import User

    async with db.write_transaction():
        await access.authorize(actor, "update", "project", project_id)
        project = await Project.select(Project.branch).where(Project.id == project_id).first()
        user = await User.select(User.branch).where(User.id == user_id).first()
        if user is None or project is None or user["branch"] != project["branch"]:
            raise NotFound("No user of this project's branch with that id", field="user_id")
        exists = await ProjectMember.exists().where(
            (ProjectMember.project == project_id) & (ProjectMember.user == user_id) & (ProjectMember.kind == kind)
        )
        if exists:
            raise Conflict("That user is already on the team", field="user_id")
        member = ProjectMember(project=project_id, user=user_id, kind=kind)
        await ProjectMember.insert(member)
        await record_change(actor_id=actor.id, action="add_member", table="project_members", row_id=member.id,
                            after={"project": project_id, "user": user_id, "kind": kind},
                            branch_id=project["branch"], owner_id=user_id)
    return {"id": member.id, "project_id": project_id, "user_id": user_id, "kind": kind}


async def remove_member(actor: Actor, project_id: uuid.UUID, user_id: uuid.UUID) -> None:
    async with db.write_transaction():
        await access.authorize(actor, "update", "project", project_id)
        removed = await ProjectMember.delete().where(
            (ProjectMember.project == project_id) & (ProjectMember.user == user_id) & (ProjectMember.kind == "team")
        ).returning(ProjectMember.id)
        if not removed:
            raise NotFound("That user is not on the team", field="user_id")
        project = await Project.select(Project.branch).where(Project.id == project_id).first()
        for row in removed:
            await record_change(actor_id=actor.id, action="remove_member", table="project_members",
                                row_id=row["id"], before={"project": project_id, "user": user_id, "kind": "team"},
                                branch_id=project["branch"], owner_id=user_id)
