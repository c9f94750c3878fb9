"""HTTP routes of the lifecycle: transitions, milestones, collections, templates and branch calendars."""

import uuid
from typing import Annotated, Any, Literal

from litestar import Request, Router, delete, get, post, put
from litestar.params import JSONBody, Parameter, QueryParameter
from msgspec import UNSET

from backend.crud import Offset, record_opt
from backend.lifecycle import actions, calendars, collections, stages, templates, views
from backend.lifecycle.schemas import (
    Advance,
    CalendarOut,
    CalendarSave,
    Close,
    CollectionCorrect,
    CollectionCreate,
    CollectionOut,
    CollectionRecorded,
    CollectionUndone,
    CollectionVoid,
    Complete,
    LifecycleOut,
    MilestoneOut,
    Nudge,
    NudgeOut,
    ReassignMilestone,
    RejectReview,
    Reopen,
    SendBack,
    TemplateSave,
    TemplateVersionOut,
)
from backend.lifecycle.workhours import CalendarDef
from backend.projects.schemas import ProjectOut
from backend.records import MAX_PAGE
from backend.service import Page


@get("/projects/{record_id:uuid}/lifecycle", opt=record_opt("project", "record_id"), operation_id="project_lifecycle",
     summary="Current stage, milestones (state, deadline, overdue), escalation level, stage history, collections")
async def project_lifecycle(request: Request[Any, Any, Any], record_id: uuid.UUID) -> LifecycleOut:
    return await views.project_lifecycle(request.user, record_id)


@post("/projects/{record_id:uuid}/advance", opt=record_opt("project", "record_id"),
      operation_id="advance_project", status_code=200,
      summary="Move to the next stage (409 naming the milestones its guard still needs)")
async def advance(request: Request[Any, Any, Any], record_id: uuid.UUID, data: JSONBody[Advance]) -> ProjectOut:
    return await stages.transition(request.user, record_id, data.version, "advance", note=data.note)


@post("/projects/{record_id:uuid}/send-back", opt=record_opt("project", "record_id"),
      operation_id="send_project_back", status_code=200,
      summary="Return to an earlier stage, with the reason")
async def send_back(request: Request[Any, Any, Any], record_id: uuid.UUID, data: JSONBody[SendBack]) -> ProjectOut:
    return await stages.transition(request.user, record_id, data.version, "send_back", to_stage=data.to_stage,
                                   note=data.reason)


@post("/projects/{record_id:uuid}/close", opt=record_opt("project", "record_id"),
      operation_id="close_project", status_code=200,
      summary="Close as won (from the last stage, guards met) or lost (with the reason)")
async def close(request: Request[Any, Any, Any], record_id: uuid.UUID, data: JSONBody[Close]) -> ProjectOut:
    return await stages.transition(request.user, record_id, data.version, data.outcome, note=data.reason)


@post("/projects/{record_id:uuid}/reopen", opt=record_opt("project", "record_id"),
      operation_id="reopen_project", status_code=200,
      summary="Undo a won or lost close, with the reason: open again in the stage it closed from")
async def reopen_project(request: Request[Any, Any, Any], record_id: uuid.UUID, data: JSONBody[Reopen]) -> ProjectOut:
    return await stages.reopen(request.user, record_id, data.version, data.reason)


@get("/projects/{record_id:uuid}/collections", opt=record_opt("project", "record_id"),
     operation_id="list_collections", summary="Payments received (回款)")
async def list_collections(request: Request[Any, Any, Any], record_id: uuid.UUID) -> list[CollectionOut]:
    return await collections.list_collections(request.user, record_id)


@post("/projects/{record_id:uuid}/collections", opt=record_opt("project", "record_id"),
      operation_id="record_collection",
      summary="Record a payment (422 if it would pass the contract value)")
async def record_collection(
    request: Request[Any, Any, Any], record_id: uuid.UUID, data: JSONBody[CollectionCreate]
) -> CollectionRecorded:
    return await collections.record_collection(request.user, record_id, amount=data.amount,
                                               received_on=data.received_on, method=data.method, note=data.note)


@post("/collections/{collection_id:uuid}/correct", opt=record_opt("collection", "collection_id"),
      operation_id="correct_collection", status_code=200,
      summary="Correct a payment's amount, date or method, with the reason (the total follows)")
async def correct_collection(
    request: Request[Any, Any, Any], collection_id: uuid.UUID, data: JSONBody[CollectionCorrect]
) -> CollectionUndone:
    values = {k: getattr(data, k) for k in ("amount", "received_on", "method") if getattr(data, k) is not UNSET}
    return await collections.correct_collection(request.user, collection_id, data.version, reason=data.reason,
                                                **values)


@post("/collections/{collection_id:uuid}/void", opt=record_opt("collection", "collection_id"),
      operation_id="void_collection", status_code=200,
      summary="Void a payment recorded by mistake, with the reason (it stays on record and counts for nothing)")
async def void_collection(
    request: Request[Any, Any, Any], collection_id: uuid.UUID, data: JSONBody[CollectionVoid]
) -> CollectionUndone:
    return await collections.void_collection(request.user, collection_id, data.version, data.reason)


@post("/projects/{record_id:uuid}/nudge", opt=record_opt("project", "record_id"),
      operation_id="nudge_project_owner", status_code=200,
      summary="Send the project's owner an inbox item with your message")
async def nudge_project(request: Request[Any, Any, Any], record_id: uuid.UUID, data: JSONBody[Nudge]) -> NudgeOut:
    return await actions.nudge(request.user, "project", record_id, data.message)


@get("/milestones", operation_id="list_milestones", summary="Milestones you may see, soonest deadline first")
async def list_milestones(
    request: Request[Any, Any, Any],
    owner_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
    milestone_state: Annotated[Literal["open", "done", "cancelled"] | None, QueryParameter(name="state")] = None,
    overdue: bool | None = None,
    mine: bool = False,
    limit: int = Parameter(default=50, ge=1, le=MAX_PAGE),
    offset: int = Offset,
) -> Page[MilestoneOut]:
    return await views.list_milestones(request.user, owner_id=request.user.id if mine else owner_id,
                                       project_id=project_id, state=milestone_state, overdue=overdue,
                                       limit=limit, offset=offset)


@get("/milestones/{milestone_id:uuid}", opt=record_opt("milestone", "milestone_id"),
     operation_id="read_milestone", summary="One milestone")
async def read_milestone(request: Request[Any, Any, Any], milestone_id: uuid.UUID) -> MilestoneOut:
    return await views.read_milestone(request.user, milestone_id)


@post("/milestones/{milestone_id:uuid}/complete", opt=record_opt("milestone", "milestone_id"),
      operation_id="complete_milestone", status_code=200,
      summary="Check a milestone off (cancels its reminder and escalations)")
async def complete(request: Request[Any, Any, Any], milestone_id: uuid.UUID, data: JSONBody[Complete]) -> MilestoneOut:
    return await actions.complete_milestone(request.user, milestone_id, data.version, data.note)


@post("/milestones/{milestone_id:uuid}/reopen", opt=record_opt("milestone", "milestone_id"),
      operation_id="reopen_milestone", status_code=200,
      summary="Undo a check-off while its stage is current, with the reason (its timers are planned again)")
async def reopen(request: Request[Any, Any, Any], milestone_id: uuid.UUID, data: JSONBody[Reopen]) -> MilestoneOut:
    return await actions.reopen_milestone(request.user, milestone_id, data.version, data.reason)


@post("/milestones/{milestone_id:uuid}/reassign", opt=record_opt("milestone", "milestone_id"),
      operation_id="reassign_milestone", status_code=200,
      summary="Give a milestone to another user of the branch, optionally with a new deadline")
async def reassign(
    request: Request[Any, Any, Any], milestone_id: uuid.UUID, data: JSONBody[ReassignMilestone]
) -> MilestoneOut:
    return await actions.reassign_milestone(request.user, milestone_id, data.owner_id, data.version, data.due_at)


@post("/milestones/{milestone_id:uuid}/reject", opt=record_opt("milestone", "milestone_id"),
      operation_id="reject_review", status_code=200,
      summary="Reject a legal review with a comment: it returns to its previous owner, who is told")
async def reject(
    request: Request[Any, Any, Any], milestone_id: uuid.UUID, data: JSONBody[RejectReview]
) -> MilestoneOut:
    return await actions.reject_review(request.user, milestone_id, data.version, data.comment)


@post("/milestones/{milestone_id:uuid}/nudge", opt=record_opt("milestone", "milestone_id"),
      operation_id="nudge_milestone_owner", status_code=200,
      summary="Send the milestone's owner an inbox item with your message")
async def nudge_milestone(request: Request[Any, Any, Any], milestone_id: uuid.UUID, data: JSONBody[Nudge]) -> NudgeOut:
    return await actions.nudge(request.user, "milestone", milestone_id, data.message)


@get("/business-lines/{record_id:uuid}/template", opt=record_opt("business_line", "record_id"),
     operation_id="read_lifecycle_template",
     summary="The lifecycle template new projects of this business line get")
async def read_template(request: Request[Any, Any, Any], record_id: uuid.UUID) -> TemplateVersionOut:
    return await templates.read_current(request.user, record_id)


@put("/business-lines/{record_id:uuid}/template", opt=record_opt("business_line", "record_id"),
     operation_id="save_lifecycle_template",
     summary="Save a new version (running projects keep theirs); name the version you edited in based_on")
async def save_template(
    request: Request[Any, Any, Any], record_id: uuid.UUID, data: JSONBody[TemplateSave]
) -> TemplateVersionOut:
    return await templates.save_template(request.user, record_id, data.definition, data.based_on, data.note)


@get("/business-lines/{record_id:uuid}/template/versions", opt=record_opt("business_line", "record_id"),
     operation_id="list_lifecycle_template_versions",
     summary="Every version of the business line's template, newest first")
async def list_versions(request: Request[Any, Any, Any], record_id: uuid.UUID) -> list[TemplateVersionOut]:
    return await templates.list_versions(request.user, record_id)


@get("/template-versions/{version_id:uuid}", operation_id="read_lifecycle_template_version",
     opt={"authorize": "a GET has no body; the service authorizes first and also answers the seed version a line "
                       "shows before it is stored (backend.lifecycle.templates), which a table lookup cannot see"},
     summary="One template version (what the projects that started on it run)")
async def read_version(request: Request[Any, Any, Any], version_id: uuid.UUID) -> TemplateVersionOut:
    return await templates.read_version(request.user, version_id)


@get("/branches/{record_id:uuid}/calendar", opt=record_opt("branch", "record_id"),
     operation_id="read_business_calendar",
     summary="The branch's working days, hours and holidays")
async def read_calendar(request: Request[Any, Any, Any], record_id: uuid.UUID) -> CalendarOut:
    return await calendars.read_calendar(request.user, record_id)


@put("/branches/{record_id:uuid}/calendar", opt=record_opt("branch", "record_id"),
     operation_id="save_business_calendar",
     summary="Set the branch's business hours (deadlines of business-hours templates then skip the rest)")
async def save_calendar(
    request: Request[Any, Any, Any], record_id: uuid.UUID, data: JSONBody[CalendarSave]
) -> CalendarOut:
    calendar = CalendarDef(**{name: getattr(data, name) for name in CalendarDef.__struct_fields__})
    return await calendars.save_calendar(request.user, record_id, calendar, data.version)


@delete("/branches/{record_id:uuid}/calendar", opt=record_opt("branch", "record_id"),
        operation_id="delete_business_calendar",
        summary="Remove the branch's calendar (deadlines count calendar hours again)")
async def delete_calendar(request: Request[Any, Any, Any], record_id: uuid.UUID) -> None:
    await calendars.delete_calendar(request.user, record_id)


lifecycle_router = Router(path="/api", tags=["lifecycle"], route_handlers=[
    project_lifecycle, advance, send_back, close, reopen_project, list_collections, record_collection,
    correct_collection,
    void_collection, nudge_project, list_milestones, read_milestone, complete, reopen, reassign, reject,
    nudge_milestone,
    read_template, save_template, list_versions, read_version,
    read_calendar, save_calendar, delete_calendar,
])
