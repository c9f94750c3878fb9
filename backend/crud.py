"""Builds the standard JSON routes of one resource (list, create, read, update, delete, reassign).

Handlers stay thin: parse, call one service function, return its result. Each domain passes its own
schemas and, where it has rules of its own, its own service functions.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Router, delete, get, patch, post
from litestar.params import JSONBody, Parameter

from backend import access, records
from backend.errors import Invalid
from backend.records import Spec
from backend.schemas import Version


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


Create = Callable[[access.Actor, dict[str, Any]], Awaitable[dict[str, Any]]]
Update = Callable[[access.Actor, uuid.UUID, int, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Routes:
    path: str
    spec: Spec
    create_schema: type[msgspec.Struct] | None
    update_schema: type[msgspec.Struct] | None
    create: Create | None = None
    update: Update | None = None
    reassign: Callable[[access.Actor, uuid.UUID, uuid.UUID, int], Awaitable[dict[str, Any]]] | None = None
    extra: tuple[Any, ...] = ()


def resource_router(routes: Routes) -> Router:
    spec, name = routes.spec, routes.spec.resource
    create_fn = routes.create or (lambda actor, values: records.create_record(actor, spec, values))
    update_fn = routes.update or (lambda actor, rid, version, values: records.update_record(actor, spec, rid, version, values))
    reassign_fn = routes.reassign or (lambda actor, rid, owner, version: records.reassign(actor, spec, rid, owner, version))
    handlers: list[Any] = list(routes.extra)

    @get("/", operation_id=f"list_{name}", summary=f"List {name} records visible to you")
    async def list_records(
        request: Request,
        q: str = Parameter(default="", max_length=100, description="Search text"),
        limit: int = Parameter(default=50, ge=1, le=records.MAX_PAGE),
        offset: int = Parameter(default=0, ge=0),
    ) -> dict[str, Any]:
        page = await records.list_records(
            request.user, spec, filters=parse_filters(spec, request.query_params), search=q, limit=limit, offset=offset
        )
        return {"items": page.items, "total": page.total, "limit": page.limit, "offset": page.offset}

    @get("/{record_id:uuid}", operation_id=f"read_{name}", summary=f"Read one {name}")
    async def read_record(request: Request, record_id: uuid.UUID) -> dict[str, Any]:
        return await records.get_record(request.user, spec, record_id)

    handlers += [list_records, read_record]

    if routes.create_schema is not None:
        create_schema = routes.create_schema

        @post("/", operation_id=f"create_{name}", summary=f"Create a {name}")
        async def create_record(request: Request, data: JSONBody[create_schema]) -> dict[str, Any]:  # type: ignore[valid-type]
            return await create_fn(request.user, body_values(data))

        handlers.append(create_record)

    if routes.update_schema is not None:
        update_schema = routes.update_schema

        @patch("/{record_id:uuid}", operation_id=f"update_{name}", summary=f"Update a {name} (send its version)")
        async def update_record(request: Request, record_id: uuid.UUID, data: JSONBody[update_schema]) -> dict[str, Any]:  # type: ignore[valid-type]
            values = body_values(data)
            version = values.pop("version")
            return await update_fn(request.user, record_id, version, values)

        handlers.append(update_record)

    if any("delete" in actions for actions in access.ACTIONS[name].values()):

        @delete("/{record_id:uuid}", operation_id=f"delete_{name}", summary=f"Delete a {name}")
        async def delete_record(request: Request, record_id: uuid.UUID) -> None:
            await records.delete_record(request.user, spec, record_id)

        handlers.append(delete_record)

    if spec.owner_field and any("reassign" in actions for actions in access.ACTIONS[name].values()):

        @post("/{record_id:uuid}/reassign", operation_id=f"reassign_{name}", summary=f"Give a {name} to another user",
              status_code=200)
        async def reassign_record(request: Request, record_id: uuid.UUID, data: JSONBody[ReassignBody]) -> dict[str, Any]:
            return await reassign_fn(request.user, record_id, data.owner_id, data.version)

        handlers.append(reassign_record)

    return Router(path=routes.path, route_handlers=handlers, tags=[name])
