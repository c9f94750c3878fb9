from backend.crud import Routes, resource_router
from backend.visits import services
from backend.visits.schemas import NoteCreate, NoteUpdate, VisitCreate, VisitUpdate

visits_router = resource_router(Routes("/api/visits", services.VISITS, VisitCreate, VisitUpdate))
notes_router = resource_router(Routes("/api/notes", services.NOTES, NoteCreate, NoteUpdate))
