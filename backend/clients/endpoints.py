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
)
from backend.crud import Routes, record_opt, resource_router


@post("/{record_id:uuid}/move", operation_id="move_opportunity", summary="Move an opportunity along its pipeline",
      status_code=200, opt=record_opt("opportunity"))
async def move_opportunity(
    request: Request[Any, Any, Any], record_id: uuid.UUID, data: JSONBody[OpportunityMove]
) -> OpportunityOut:
    return await services.move_opportunity(request.user, record_id, data.version, data.state, data.lost_reason)


clients_router = resource_router(Routes("/api/clients", services.CLIENTS, ClientCreate, ClientUpdate))
opportunities_router = resource_router(
    Routes("/api/opportunities", services.OPPORTUNITIES, OpportunityCreate, OpportunityUpdate,
           extra=(move_opportunity,))
)
