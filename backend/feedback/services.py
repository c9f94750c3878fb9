"""In-app feedback (issue 14; seed 2: "在APP内嵌入'意见反馈'按钮,每月汇总高频问题形成优化列表").

Anyone signed in sends feedback from any screen; the app attaches the screen, role, app revision and outbox state.
Branch managers triage their branch's, executives everyone's (new → accepted | declined → done, with a reply);
every change tells the reporter in their inbox, in the same transaction. Admins see text and metadata only.
Topics come from keywords, so the monthly summary is explainable (no model): the first topic whose words appear.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from piccolo.query.functions.aggregate import Count

from backend import access, db, records
from backend.access import Actor
from backend.accounts.tables import User
from backend.audit.services import record_change
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.feedback.schemas import TEXT_MAX, FeedbackOut, SummaryOut, TopicCount
from backend.feedback.tables import Feedback
from notifications import Notice, notify

TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sync", ("同步", "离线", "没信号", "丢失", "上传", "sync", "offline", "upload", "lost")),
    ("photo", ("照片", "拍照", "图片", "photo", "picture", "camera")),
    ("notification", ("通知", "推送", "提醒", "notification", "push", "reminder", "alert")),
    ("speed", ("慢", "卡", "加载", "转圈", "slow", "loading", "spinner", "lag")),
    ("sign_in", ("登录", "密码", "sign in", "login", "password")),
    ("layout", ("按钮", "字太小", "看不清", "显示", "button", "too small", "layout", "scroll")),
    ("data", ("客户", "项目", "数据", "client", "project", "data")),
)
STATUSES = ("new", "accepted", "done", "declined")
MOVES = {"new": {"accepted", "declined"}, "accepted": {"done", "declined"}, "declined": {"accepted"},
         "done": {"accepted"}}
TEXTS = {
    "zh": ("您的反馈已更新：{status}", "“{excerpt}”{reply}", {"new": "新", "accepted": "已采纳", "done": "已完成",
                                                         "declined": "未采纳"}, "。回复：{reply}"),
    "en": ("Your feedback: {status}", "“{excerpt}”{reply}", {"new": "new", "accepted": "accepted", "done": "done",
                                                          "declined": "declined"}, ". Reply: {reply}"),
}
COLUMNS = (*Feedback.all_columns(), Feedback.reporter.display_name.as_alias("reporter_name"))


def topic_of(text: str) -> str:
    lowered = text.lower()
    return next((topic for topic, words in TOPICS if any(w in lowered for w in words)), "other")


def _out(row: dict[str, Any]) -> FeedbackOut:
    return FeedbackOut(id=row["id"], branch_id=row["branch"], reporter_id=row["reporter"],
                       reporter_name=row.get("reporter_name") or "", role=row["role"], screen=row["screen"],
                       app_revision=row["app_revision"], outbox=row["outbox"], text=row["text"], topic=row["topic"],
                       status=row["status"], reply=row["reply"], handled_by_id=row["handled_by"],
                       created_at=row["created_at"], updated_at=row["updated_at"], version=row["version"])


async def _one(feedback_id: uuid.UUID) -> dict[str, Any]:
    row = await Feedback.select(*COLUMNS).where(Feedback.id == feedback_id).first()
    if row is None:
        raise NotFound(f"No feedback with id {feedback_id}")
    return row


async def submit_feedback(actor: Actor, values: dict[str, Any]) -> FeedbackOut:
    if not access.can(actor, "create", "feedback"):
        raise Forbidden("You may not send feedback")
    text = str(values.get("text") or "").strip()
    if not text:
        raise Invalid("Write what you noticed first", field="text")
    if len(text) > TEXT_MAX:
        raise Invalid(f"Feedback has at most {TEXT_MAX} characters", field="text")
    row = Feedback(branch=actor.branch_id, reporter=actor.id, role=actor.role, text=text, topic=topic_of(text),
                   screen=str(values.get("screen") or "")[:64], app_revision=str(values.get("app_revision") or "")[:64],
                   outbox=str(values.get("outbox") or "")[:100])
    async with db.write_transaction():
        await Feedback.insert(row)
        await access.authorize(actor, "read", "feedback", row.id)
        await record_change(actor_id=actor.id, action="create", table="feedback", row_id=row.id,
                            after={"screen": row.screen, "topic": row.topic, "role": row.role},
                            branch_id=actor.branch_id, owner_id=actor.id)
        return _out(await _one(row.id))


async def list_feedback(actor: Actor, *, status: str = "", mine: bool = False, limit: int = 200) -> list[FeedbackOut]:
    """Newest first: the reporter's own, a branch manager's branch, everything for executives and admins."""
    if status and status not in STATUSES:
        raise Invalid(f"status is one of {', '.join(STATUSES)}", field="status")
    query = access.scope(Feedback.select(*COLUMNS), actor, "feedback")
    if status:
        query = query.where(Feedback.status == status)
    if mine:
        query = query.where(Feedback.reporter == actor.id)
    return [_out(r) for r in await query.order_by(Feedback.created_at, ascending=False).limit(min(limit, 500))]


def can_triage(actor: Actor) -> bool:
    return access.can(actor, "update", "feedback")


async def triage(actor: Actor, feedback_id: uuid.UUID, version: int, status: str, reply: str = "") -> FeedbackOut:
    """Move feedback on (with an optional reply) and tell the reporter, in one transaction."""
    if status not in STATUSES:
        raise Invalid(f"status is one of {', '.join(STATUSES)}", field="status")
    at = records.now()
    async with db.write_transaction():
        await access.authorize(actor, "update", "feedback", feedback_id)
        before = await _one(feedback_id)
        if status != before["status"] and status not in MOVES[before["status"]]:
            raise Invalid(f"Feedback that is {before['status']} cannot become {status}", field="status")
        if before["version"] != version:
            raise Conflict("Someone else triaged this feedback meanwhile", field="version",
                           extra={"current": _out(before)})
        reply = reply.strip()[:TEXT_MAX] or before["reply"]
        await Feedback.update({Feedback.status: status, Feedback.reply: reply, Feedback.handled_by: actor.id,
                               Feedback.updated_at: at, Feedback.version: version + 1}).where(
            (Feedback.id == feedback_id) & (Feedback.version == version))
        await record_change(actor_id=actor.id, action="triage", table="feedback", row_id=feedback_id,
                            before={"status": before["status"]}, after={"status": status, "reply": reply},
                            branch_id=before["branch"], owner_id=before["reporter"])
        reporter = await User.select(User.language).where(User.id == before["reporter"]).first()
        lang = (reporter or {}).get("language") or "zh"
        title, body, names, with_reply = TEXTS[lang if lang in TEXTS else "zh"]
        excerpt = before["text"] if len(before["text"]) <= 60 else before["text"][:59] + "…"
        await notify([Notice(user_id=before["reporter"], kind="feedback", title=title.format(status=names[status]),
                             body=body.format(excerpt=excerpt, reply=with_reply.format(reply=reply) if reply else ""),
                             link="/feedback", source_id=feedback_id)], at=at)
        return _out(await _one(feedback_id))


async def monthly_summary(actor: Actor, month: dt.date | None = None) -> SummaryOut:
    """The feedback the actor may see from one calendar month (UTC), counted by topic, most frequent first."""
    if not access.can(actor, "list", "feedback") or actor.role not in ("branch_manager", "executive", "admin"):
        raise Forbidden("Branch managers, executives and admins see the summary")
    first = (month or records.now().date()).replace(day=1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    start = dt.datetime.combine(first, dt.time(0), tzinfo=dt.UTC)
    end = dt.datetime.combine(after, dt.time(0), tzinfo=dt.UTC)
    query = access.scope(Feedback.select(Feedback.topic, Count(Feedback.id).as_alias("n")), actor, "feedback")
    rows = await query.where((Feedback.created_at >= start) & (Feedback.created_at < end)).group_by(Feedback.topic)
    topics = sorted((TopicCount(topic=r["topic"], count=r["n"]) for r in rows), key=lambda t: (-t.count, t.topic))
    return SummaryOut(month=first.strftime("%Y-%m"), total=sum(t.count for t in topics), topics=topics)
