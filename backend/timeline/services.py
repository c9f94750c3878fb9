"""One activity timeline per client and per project: notes (visit notes included), visits, photos, opportunity and
stage changes, milestone completions, reassignments and collections — who and when, newest first, paged.

Each kind is one scoped SQL query (`access.scope` on its own resource, so a role sees on the timeline exactly the
notes, photos and payments it may list anywhere else) ordered by time and cut at `offset + limit` rows; the page is
the merge of those short lists. No kind reads more than one page's worth of rows past the offset, however long the
history; `total` is one COUNT per kind.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from piccolo.columns.combination import WhereRaw

from backend import access
from backend.access import Actor
from backend.accounts.tables import User
from backend.audit.tables import ChangeLog
from backend.errors import Invalid
from backend.lifecycle.tables import Collection, Milestone, StageEntry
from backend.photos.tables import Photo
from backend.records import MAX_PAGE, money
from backend.timeline.schemas import TimelineItem, TimelinePage
from backend.visits.tables import Note, Visit

TEXT_MAX = 500


@dataclass(frozen=True)
class Source:
    """One kind of event: the resource whose scope applies (None: visible with its parent), its table, the
    columns of its rows (each with `id`, `at`, `actor`), the filter naming the parent, how a row becomes an item,
    and the column the rows are ordered by."""

    resource: str | None
    table: Any
    columns: tuple[Any, ...]
    where: Any
    item: Callable[[dict[str, Any]], dict[str, Any]]
    at: Any

    def rows(self, actor: Actor) -> Any:
        query = self.table.select(*self.columns).where(self.where)
        return access.scope(query, actor, self.resource) if self.resource else query

    def count(self, actor: Actor) -> Any:
        query = self.table.count().where(self.where)
        return access.scope(query, actor, self.resource) if self.resource else query


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


def _note(row: dict[str, Any]) -> dict[str, Any]:
    link = f"/visits/{row['visit']}" if row.get("visit") else ""
    return {"kind": "note", "text": _clip(row["body"]), "link": link}


def _visit(row: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "visit", "text": row["address"], "state": row["status"], "link": f"/visits/{row['id']}"}


def _photo(row: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "photo", "link": f"/api/photos/{row['id']}/thumbnail"}


def _collection(row: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "collection", "amount": money(row["amount"]), "text": row["method"],
            "state": "voided" if row["voided_at"] is not None else ""}


def _milestone(row: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "milestone", "text": row["title_zh"], "text_en": row["title_en"], "stage_key": row["stage_key"],
            "state": "done"}


def _stage(row: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "stage", "stage_key": row["stage_key"], "state": "entered"}


def _closed(row: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "stage", "stage_key": row["stage_key"], "state": row["outcome"], "text": row["note"]}


def _change(kind: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def item(row: dict[str, Any]) -> dict[str, Any]:
        changes = row["changes"] if isinstance(row["changes"], dict) else _json(row["changes"])
        after = changes.get("after") or {}
        state = str(after.get("state") or after.get("owner") or row["action"])
        return {"kind": kind, "id": f"log-{row['id']}", "state": state, "text": str(changes.get("reason") or "")}
    return item


def _json(value: Any) -> dict[str, Any]:
    """A PostgreSQL JSON column may arrive as text, as SQLite's does."""
    decoded: dict[str, Any] = json.loads(value or "{}")
    return decoded


def _rows_about(table: str, id_sql: str, *args: Any) -> WhereRaw:
    """Change-log rows of `table` whose row id is one of `id_sql`'s (the log keeps ids as text)."""
    return WhereRaw(f"table_name = '{table}' AND row_id IN (SELECT CAST(id AS VARCHAR(64)) FROM {id_sql})", *args)


def _log_columns() -> tuple[Any, ...]:
    return (ChangeLog.seq.as_alias("id"), ChangeLog.at, ChangeLog.actor_id.as_alias("actor"), ChangeLog.action,
            ChangeLog.changes)


def _note_columns() -> tuple[Any, ...]:
    return Note.id, Note.created_at.as_alias("at"), Note.author.as_alias("actor"), Note.body, Note.visit


def _visit_columns() -> tuple[Any, ...]:
    return Visit.id, Visit.scheduled_at.as_alias("at"), Visit.owner.as_alias("actor"), Visit.address, Visit.status


def _photo_columns() -> tuple[Any, ...]:
    return Photo.id, Photo.created_at.as_alias("at"), Photo.owner.as_alias("actor")


def client_sources(client_id: uuid.UUID) -> list[Source]:
    return [
        Source("note", Note, _note_columns(), (Note.client == client_id) | (Note.visit.client == client_id),
               _note, Note.created_at),
        Source("visit", Visit, _visit_columns(), Visit.client == client_id, _visit, Visit.scheduled_at),
        Source("photo", Photo, _photo_columns(), Photo.visit.client == client_id, _photo, Photo.created_at),
        Source(None, ChangeLog, _log_columns(),
               _rows_about("opportunities", "opportunities WHERE client = {}", client_id)
               & ChangeLog.action.is_in(["move", "reopen"]), _change("opportunity"), ChangeLog.at),
        Source(None, ChangeLog, _log_columns(),
               (ChangeLog.table_name == "clients") & (ChangeLog.row_id == str(client_id))
               & (ChangeLog.action == "reassign"), _change("reassignment"), ChangeLog.at),
    ]


def project_sources(project_id: uuid.UUID) -> list[Source]:
    return [
        Source("note", Note, _note_columns(), (Note.project == project_id) | (Note.visit.project == project_id),
               _note, Note.created_at),
        Source("visit", Visit, _visit_columns(), Visit.project == project_id, _visit, Visit.scheduled_at),
        Source("photo", Photo, _photo_columns(), (Photo.project == project_id) | (Photo.visit.project == project_id),
               _photo, Photo.created_at),
        Source(None, StageEntry, (StageEntry.id, StageEntry.entered_at.as_alias("at"),
                                  StageEntry.entered_by.as_alias("actor"), StageEntry.stage_key),
               StageEntry.project == project_id, _stage, StageEntry.entered_at),
        Source(None, StageEntry, (StageEntry.id, StageEntry.left_at.as_alias("at"),
                                  StageEntry.left_by.as_alias("actor"), StageEntry.stage_key, StageEntry.outcome,
                                  StageEntry.note),
               (StageEntry.project == project_id) & StageEntry.outcome.is_in(["won", "lost", "sent_back"]),
               _closed, StageEntry.left_at),
        Source(None, Milestone, (Milestone.id, Milestone.done_at.as_alias("at"), Milestone.done_by.as_alias("actor"),
                                 Milestone.title_zh, Milestone.title_en, Milestone.stage_key),
               (Milestone.project == project_id) & (Milestone.state == "done") & Milestone.done_at.is_not_null(),
               _milestone, Milestone.done_at),
        Source(None, ChangeLog, _log_columns(),
               (ChangeLog.action == "reassign")
               & (((ChangeLog.table_name == "projects") & (ChangeLog.row_id == str(project_id)))
                  | _rows_about("project_milestones", "project_milestones WHERE project = {}", project_id)),
               _change("reassignment"), ChangeLog.at),
        Source("collection", Collection, (Collection.id, Collection.created_at.as_alias("at"),
                                          Collection.recorded_by.as_alias("actor"), Collection.amount,
                                          Collection.method, Collection.voided_at),
               Collection.project == project_id, _collection, Collection.created_at),
    ]


async def _page(actor: Actor, sources: list[Source], limit: int, offset: int) -> TimelinePage:
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if not 0 <= offset <= 10_000:
        raise Invalid("offset must be between 0 and 10000", field="offset")
    lists: list[list[dict[str, Any]]] = []
    total = 0
    for source in sources:
        if source.resource is not None and not access.can(actor, "list", source.resource):
            continue
        rows = await source.rows(actor).order_by(source.at, ascending=False).limit(offset + limit)
        total += len(rows) if len(rows) < offset + limit else int(await source.count(actor))
        lists.append([{**row, **source.item(row)} for row in rows])
    merged = list(heapq.merge(*lists, key=lambda row: _utc(row["at"]), reverse=True))[offset:offset + limit]
    names = await _names({row["actor"] for row in merged if row.get("actor")})
    items = [TimelineItem(kind=row["kind"], id=str(row["id"]), at=row["at"], actor_id=row.get("actor"),
                          actor_name=names.get(row.get("actor")), text=row.get("text", ""),
                          text_en=row.get("text_en", ""), state=row.get("state", ""),
                          stage_key=row.get("stage_key", ""), amount=row.get("amount"), link=row.get("link", ""))
             for row in merged]
    return TimelinePage(items=items, total=total, limit=limit, offset=offset)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


async def _names(ids: set[Any]) -> dict[Any, str]:
    if not ids:
        return {}
    rows = await User.select(User.id, User.display_name).where(User.id.is_in(list(ids)))
    return {row["id"]: row["display_name"] for row in rows}


async def client_timeline(actor: Actor, client_id: uuid.UUID, *, limit: int = 20, offset: int = 0) -> TimelinePage:
    await access.authorize(actor, "read", "client", client_id)
    return await _page(actor, client_sources(client_id), limit, offset)


async def project_timeline(actor: Actor, project_id: uuid.UUID, *, limit: int = 20, offset: int = 0) -> TimelinePage:
    await access.authorize(actor, "read", "project", project_id)
    return await _page(actor, project_sources(project_id), limit, offset)

