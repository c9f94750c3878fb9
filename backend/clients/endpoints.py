import uuid
from typing import Any

from litestar import Request, post
from litestar.params import JSONBody

from backend.clients import services
from backend.clients.schemas import (
    ClientCreate,
    ClientUpdate,
    OpportunityCreate,
    OpportunityMove,
    OpportunityOut,
    OpportunityUpdate,
    Reopen,
)
from backend.crud import Routes, record_opt, resource_router


@post("/{record_id:uuid}/move", operation_id="move_opportunity", summary="Move an opportunity along its pipeline",
      status_code=200, opt=record_opt("opportunity"))
async def move_opportunity(
    request: Request[Any, Any, Any], record_id: uuid.UUID, data: JSONBody[OpportunityMove]
) -> OpportunityOut:
    return await services.move_opportunity(request.user, record_id, data.version, data.state, data.lost_reason)


@post("/{record_id:uuid}/reopen", operation_id="reopen_opportunity", status_code=200, opt=record_opt("opportunity"),
      summary="Undo a won or lost: follow the opportunity again (owner or manager; the reason is logged)")
async def reopen_opportunity(
    request: Request[Any, Any, Any], record_id: uuid.UUID, data: JSONBody[Reopen]
) -> OpportunityOut:
    return await services.reopen_opportunity(request.user, record_id, data.version, data.reason)


clients_router = resource_router(Routes("/api/clients", services.CLIENTS, ClientCreate, ClientUpdate))
opportunities_router = resource_router(
    Routes("/api/opportunities", services.OPPORTUNITIES, OpportunityCreate, OpportunityUpdate,
           extra=(move_opportunity, reopen_opportunity))
)
