"""Builds the standard JSON routes of one resource (list, create, read, update, delete, reassign).

Every handler calls one operation of the domain's `Resource` (its rules are part of it, so no route can skip
them) and returns its typed reply. Routes with a record in the path name it in `opt["authorize"]`: the guard in
`backend.web` checks visibility before the body is even decoded.
"""

import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Router, delete, get, patch, post
from litestar.params import JSONBody, Parameter

from backend import access
from backend.errors import Invalid
from backend.records import Spec
from backend.schemas import NO_NUL, Version
from backend.service import MAX_LIMIT, MAX_OFFSET, ListQuery, Page, Resource


class ReassignBody(msgspec.Struct, forbid_unknown_fields=True):
    owner_id: uuid.UUID
    version: Version


def body_values(data: msgspec.Struct) -> dict[str, Any]:
    """The fields the client actually sent (UNSET ones dropped)."""
    return {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}


def parse_filters(spec: Spec, params: Any) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for column, kind in spec.filters.items():
        name = f"{column}_id" if kind is uuid.UUID else column
        raw = params.get(name)
        if raw is None or raw == "":
            continue
        if len(raw) > 100:
            raise Invalid(f"{name} is longer than 100 characters", field=name)
        try:
            if kind is uuid.UUID:
                filters[column] = uuid.UUID(raw)
            elif kind is bool:
                filters[column] = {"true": True, "false": False}[raw.lower()]
            else:
                filters[column] = raw
        except (ValueError, KeyError):
            raise Invalid(f"{name}: {raw!r} is not a valid {kind.__name__}", field=name) from None
    return filters


def record_opt(resource: str, parameter: str = "record_id") -> dict[str, Any]:
    """`opt` for a route whose path names a `resource` record: visible to the caller, or 404 before anything else."""
    return {"authorize": (resource, parameter)}


SearchText = Parameter(default="", max_length=100, pattern=NO_NUL, description="Search text")
Limit = Parameter(default=50, ge=1, le=MAX_LIMIT)
Offset = Parameter(default=0, ge=0, le=MAX_OFFSET)


@dataclass(frozen=True)
class Routes:
    path: str
    resource: Resource[Any]
    create_schema: type[msgspec.Struct] | None
    update_schema: type[msgspec.Struct] | None
    extra: tuple[Any, ...] = ()


def resource_router(routes: Routes) -> Router:
    resource = routes.resource
    spec, name, out = resource.spec, resource.name, resource.out
    handlers: list[Any] = list(routes.extra)
    opt = record_opt(name)

    @get("/", operation_id=f"list_{name}", summary=f"List {name} records visible to you")
    async def list_records(
        request: Request[Any, Any, Any], q: str = SearchText, limit: int = Limit, offset: int = Offset,
    ) -> Any:
        query = ListQuery(filters=parse_filters(spec, request.query_params), search=q, limit=limit, offset=offset)
        return await resource.list(request.user, query)

    @get("/{record_id:uuid}", operation_id=f"read_{name}", summary=f"Read one {name}", opt=opt)
    async def read_record(request: Request[Any, Any, Any], record_id: uuid.UUID) -> Any:
        return await resource.get(request.user, record_id)

    handlers += [list_records, read_record]

    if routes.create_schema is not None:
        create_schema = routes.create_schema

        @post("/", operation_id=f"create_{name}", summary=f"Create a {name}")
        async def create_record(request: Request[Any, Any, Any], data: JSONBody[create_schema]) -> Any:  # type: ignore[valid-type]
            return await resource.create(request.user, body_values(data))

        handlers.append(create_record)

    if routes.update_schema is not None:
        update_schema = routes.update_schema

        @patch("/{record_id:uuid}", operation_id=f"update_{name}", summary=f"Update a {name} (send its version)",
               opt=opt)
        async def update_record(
            request: Request[Any, Any, Any], record_id: uuid.UUID, data: JSONBody[update_schema]  # type: ignore[valid-type]
        ) -> Any:
            values = body_values(data)
            version = values.pop("version")
            return await resource.update(request.user, record_id, version, values)

        handlers.append(update_record)

    if any("delete" in actions for actions in access.ACTIONS[name].values()):

        @delete("/{record_id:uuid}", operation_id=f"delete_{name}", summary=f"Delete a {name}", opt=opt)
        async def delete_record(request: Request[Any, Any, Any], record_id: uuid.UUID) -> None:
            await resource.delete(request.user, record_id)

        handlers.append(delete_record)

    if spec.owner_field and any("reassign" in actions for actions in access.ACTIONS[name].values()):

        @post("/{record_id:uuid}/reassign", operation_id=f"reassign_{name}", summary=f"Give a {name} to another user",
              status_code=200, opt=opt)
        async def reassign_record(
            request: Request[Any, Any, Any], record_id: uuid.UUID, data: JSONBody[ReassignBody]
        ) -> Any:
            return await resource.reassign(request.user, record_id, data.owner_id, data.version)

        handlers.append(reassign_record)

    # The handlers above say `Any` to the type checker; Litestar (and so the OpenAPI document) reads the real reply.
    replies = {"list_records": Page[out], "read_record": out, "create_record": out, "update_record": out,  # type: ignore[valid-type]
               "reassign_record": out}
    for handler in handlers:
        if handler.fn.__name__ in replies and handler not in routes.extra:
            handler.fn.__annotations__["return"] = replies[handler.fn.__name__]
    return Router(path=routes.path, route_handlers=handlers, tags=[name])
