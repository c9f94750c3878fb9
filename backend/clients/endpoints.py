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
    OpportunityUpdate,
)
from backend.crud import Routes, resource_router


@post("/{record_id:uuid}/move", operation_id="move_opportunity", summary="Move an opportunity along its pipeline",
      status_code=200)
async def move_opportunity(request: Request, record_id: uuid.UUID, data: JSONBody[OpportunityMove]) -> dict[str, Any]:
    return await services.move_opportunity(request.user, record_id, data.version, data.state, data.lost_reason)


clients_router = resource_router(
    Routes("/api/clients", services.CLIENT_SPEC, ClientCreate, ClientUpdate, create=services.create_client,
           update=services.update_client, reassign=services.reassign_client)
)
opportunities_router = resource_router(
    Routes("/api/opportunities", services.OPPORTUNITY_SPEC, OpportunityCreate, OpportunityUpdate,
           extra=(move_opportunity,))
)
