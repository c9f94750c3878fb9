"""`/api/feedback`: send feedback from any screen, triage it, and the month's summary by topic."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Router, get, post
from litestar.params import JSONBody, Parameter

from backend.feedback import services
from backend.feedback.schemas import FeedbackIn, FeedbackOut, SummaryOut, TriageIn

STATUS = Parameter(default="", max_length=16, pattern=r"^[a-z]*$")


@post("/", operation_id="send_feedback", summary="Send feedback (the app attaches screen, revision and outbox)")
async def send_feedback(request: Request[Any, Any, Any], data: JSONBody[FeedbackIn]) -> FeedbackOut:
    return await services.submit_feedback(request.user, {"text": data.text, "screen": data.screen,
                                                         "app_revision": data.app_revision, "outbox": data.outbox})


@get("/", operation_id="list_feedback", summary="Feedback you may see: your own, your branch's, or everyone's")
async def list_feedback(request: Request[Any, Any, Any], status: str = STATUS) -> list[FeedbackOut]:
    return await services.list_feedback(request.user, status=status)


@get("/summary", operation_id="feedback_summary", summary="This month's feedback by topic, most frequent first")
async def feedback_summary(request: Request[Any, Any, Any]) -> SummaryOut:
    return await services.monthly_summary(request.user)


@post("/{feedback_id:uuid}/triage", operation_id="triage_feedback", status_code=200,
      opt={"authorize": ("feedback", "feedback_id")},
      summary="Accept, decline or finish feedback with a reply (the reporter is told in their inbox)")
async def triage_feedback(request: Request[Any, Any, Any], feedback_id: uuid.UUID,
                          data: JSONBody[TriageIn]) -> FeedbackOut:
    return await services.triage(request.user, feedback_id, data.version, data.status, data.reply)


feedback_router = Router(path="/api/feedback", route_handlers=[send_feedback, list_feedback, feedback_summary,
                                                               triage_feedback], tags=["feedback"])
