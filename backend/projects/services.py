"""Projects (deals), business lines and project teams."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from backend import access, db, records
from backend.access import Actor
from backend.accounts.tables import User
from backend.audit.services import record_change
from backend.clients.tables import Opportunity
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.lifecycle import stages
from backend.lifecycle.actions import reassign_project as reassign_with_milestones
from backend.lifecycle.collections import on_contract_value_changed
from backend.projects.schemas import BusinessLineOut, MemberOut, ProjectOut, TeamCandidate
from backend.projects.specs import BUSINESS_LINE_SPEC, PROJECT_SPEC
from backend.projects.tables import Project, ProjectMember
from backend.service import ListQuery, Page, Resource


def check_collected_within_contract(values: dict[str, Any], current: dict[str, Any] | None = None) -> None:
    merged = {**(current or {}), **values}
    if records.money(merged.get("collected_amount", 0)) > records.money(merged.get("contract_value", 0)):
        raise Invalid("The collected amount cannot exceed the contract value", field="contract_value")


async def create_project(actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    """Create the project and start its lifecycle (first stage, milestones, timers) in the same transaction."""
    at = records.now()
    async with db.write_transaction():
        created = await records.create_record(actor, PROJECT_SPEC, await stages.prepare(values, at))
        started = await stages.start(actor, created["id"], at)
    return records.to_api(PROJECT_SPEC, actor, started)


async def update_project(actor: Actor, project_id: uuid.UUID, version: int, changes: dict[str, Any]) -> dict[str, Any]:
    async with db.write_transaction():
        check_collected_within_contract(changes, await records.fetch(PROJECT_SPEC, project_id))
        updated = await records.update_record(actor, PROJECT_SPEC, project_id, version, changes)
        if "contract_value" in changes:
            current = await records.fetch(PROJECT_SPEC, project_id)
            assert current is not None
            await on_contract_value_changed(actor, current)
    return updated


async def reassign_project(actor: Actor, project_id: uuid.UUID, owner_id: uuid.UUID, version: int) -> dict[str, Any]:
    """The owner's open milestones go with the project (see backend.lifecycle.actions.reassign_project)."""
    return await reassign_with_milestones(actor, project_id, owner_id, version)


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
        assert project is not None  # its team member rows were just deleted
        for row in removed:
            await record_change(actor_id=actor.id, action="remove_member", table="project_members",
                                row_id=row["id"], before={"project": project_id, "user": user_id, "kind": "team"},
                                branch_id=project["branch"], owner_id=user_id)


async def create_project_with_team(actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    """A project from a client or a won opportunity (which gives its client), with its team, in one transaction."""
    values = dict(values)
    team = list(dict.fromkeys(values.pop("team_ids", None) or []))
    opportunity_id = values.pop("opportunity_id", None)
    if not access.can(actor, "create", "project"):
        raise Forbidden("Your role may not create a project")
    async with db.write_transaction():
        if opportunity_id is not None:
            try:
                await access.authorize(actor, "read", "opportunity", opportunity_id)
            except NotFound as exc:
                raise NotFound(exc.message, field="opportunity_id") from None
            opportunity = await Opportunity.select(Opportunity.state, Opportunity.client).where(
                Opportunity.id == opportunity_id).first()
            assert opportunity is not None
            if opportunity["state"] != "won":
                raise Invalid("A project starts from a won opportunity", field="opportunity_id")
            if values.get("client_id") not in (None, opportunity["client"]):
                raise Invalid("The opportunity belongs to another client", field="client_id")
            values["client_id"] = opportunity["client"]
        created = await create_project(actor, values)
        for user_id in team:
            if user_id == created["owner_id"]:
                continue
            try:
                await add_member(actor, created["id"], user_id)
            except (NotFound, Conflict) as exc:
                raise Invalid(exc.message, field="team_ids") from None
    return created


async def team_candidates(actor: Actor) -> list[TeamCandidate]:
    """Who a project's creator may put on its team: the active colleagues of their branch in a business role."""
    if not access.can(actor, "create", "project"):
        return []
    roles = [r for r in access.ANY_MILESTONE_OWNER if r != "executive"]
    rows = await User.select(User.id, User.display_name, User.role).where(
        (User.branch == actor.branch_id) & (User.is_active == True) & User.role.is_in(roles)  # noqa: E712
        & (User.id != actor.id)).order_by(User.display_name)
    return [msgspec.convert(row, TeamCandidate) for row in rows]


class ProjectResource(Resource[ProjectOut]):
    """Projects start their lifecycle on create and take their open milestones along on reassignment."""

    async def create(self, actor: Actor, values: dict[str, Any]) -> ProjectOut:
        return self.output(actor, await create_project_with_team(actor, values))

    async def update(self, actor: Actor, record_id: uuid.UUID, version: int, changes: dict[str, Any]) -> ProjectOut:
        return self.output(actor, await update_project(actor, record_id, version, changes))

    async def reassign(self, actor: Actor, record_id: uuid.UUID, owner_id: uuid.UUID, version: int) -> ProjectOut:
        return self.output(actor, await reassign_project(actor, record_id, owner_id, version))

    def output(self, actor: Actor, row: dict[str, Any]) -> ProjectOut:
        if "overdue" in row:  # already shaped by records.to_api
            return msgspec.convert(row, ProjectOut, strict=False)
        return super().output(actor, row)


PROJECTS = ProjectResource(PROJECT_SPEC, ProjectOut)
BUSINESS_LINES = Resource(BUSINESS_LINE_SPEC, BusinessLineOut)


async def list_projects(actor: Actor, query: ListQuery | None = None) -> Page[ProjectOut]:
    return await PROJECTS.list(actor, query)


async def get_project(actor: Actor, project_id: uuid.UUID) -> ProjectOut:
    return await PROJECTS.get(actor, project_id)


async def list_business_lines(actor: Actor, query: ListQuery | None = None) -> Page[BusinessLineOut]:
    return await BUSINESS_LINES.list(actor, query)


async def team(actor: Actor, project_id: uuid.UUID) -> list[MemberOut]:
    return [msgspec.convert({**m, "project_id": project_id}, MemberOut, strict=False)
            for m in await list_members(actor, project_id)]
