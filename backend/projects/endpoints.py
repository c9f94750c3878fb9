import uuid
from typing import Any

import msgspec
from litestar import Request, delete, get, post
from litestar.params import JSONBody

from backend.crud import Routes, record_opt, resource_router
from backend.projects import services
from backend.projects.schemas import (
    BusinessLineCreate,
    BusinessLineUpdate,
    MemberAdd,
    MemberOut,
    ProjectCreate,
    ProjectUpdate,
)


@get("/{record_id:uuid}/members", operation_id="list_project_members", summary="The project's participants",
     opt=record_opt("project"))
async def list_members(request: Request[Any, Any, Any], record_id: uuid.UUID) -> list[MemberOut]:
    return await services.team(request.user, record_id)


@post("/{record_id:uuid}/members", operation_id="add_project_member", summary="Add a team member",
      opt=record_opt("project"))
async def add_member(request: Request[Any, Any, Any], record_id: uuid.UUID, data: JSONBody[MemberAdd]) -> MemberOut:
    return msgspec.convert(await services.add_member(request.user, record_id, data.user_id), MemberOut)


@delete("/{record_id:uuid}/members/{user_id:uuid}", operation_id="remove_project_member",
        summary="Remove a team member", opt=record_opt("project"))
async def remove_member(request: Request[Any, Any, Any], record_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await services.remove_member(request.user, record_id, user_id)


projects_router = resource_router(
    Routes("/api/projects", services.PROJECTS, ProjectCreate, ProjectUpdate,
           extra=(list_members, add_member, remove_member))
)
business_lines_router = resource_router(
    Routes("/api/business-lines", services.BUSINESS_LINES, BusinessLineCreate, BusinessLineUpdate)
)
