"""Data helpers shared by screens: they call services only (access rules live in backend/access.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from reactpy import html

from backend import records
from backend.access import Actor
from backend.clients.services import CLIENT_SPEC
from backend.errors import NotFound
from pwa.i18n import t
from pwa.ui import App, chip

STAGES = ("intake", "assessment", "signing", "execution", "collection", "review")


async def all_records(actor: Actor, spec: records.Spec, *, cap: int = 1000, **options: Any) -> list[dict[str, Any]]:
    """Every record of a scoped list (up to `cap`), page by page."""
    items: list[dict[str, Any]] = []
    while len(items) < cap:
        page = await records.list_records(actor, spec, limit=records.MAX_PAGE, offset=len(items), **options)
        items += page.items
        if not page.items or len(items) >= page.total:
            break
    return items[:cap]


async def names_of(actor: Actor, spec: records.Spec, ids: set[Any], field: str = "name") -> dict[Any, str]:
    """Display names of the records the actor may see; invisible ones are simply absent."""
    names: dict[Any, str] = {}
    for record_id in ids:
        if record_id is None:
            continue
        try:
            names[record_id] = (await records.get_record(actor, spec, record_id)).get(field, "")
        except NotFound:
            continue
    return names


async def client_names(actor: Actor, ids: set[Any]) -> dict[Any, str]:
    """Names of the clients the actor may see: one by one for a few, else one scoped list (two queries)."""
    ids = {i for i in ids if i is not None}
    if len(ids) <= 3:
        return await names_of(actor, CLIENT_SPEC, ids)
    return {c["id"]: c["name"] for c in await all_records(actor, CLIENT_SPEC, cap=5000) if c["id"] in ids}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def local_day_bounds(app: App, day: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The UTC start and end of a day in the branch's time zone (today by default)."""
    tz = app.fmt.tz
    day = day or dt.datetime.now(tz).date()
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    return start.astimezone(dt.UTC), (start + dt.timedelta(days=1)).astimezone(dt.UTC)


def stage_name(app: App, key: str, names: dict[str, dict[str, str]] | None = None) -> str:
    """A stage's name: the template's own words when known, else the standard stages' catalog entry."""
    if names and key in names:
        return names[key].get(app.lang) or names[key].get("zh") or key
    if key in STAGES:
        return app.t(f"stage.{key}")
    return key


def is_overdue(due: dt.datetime | None) -> bool:
    return due is not None and due < now()


def overdue_chip(app: App, due: dt.datetime | None, escalation: int = 0) -> Any:
    if escalation:
        return chip(app.t("project.escalated", level=escalation), "danger", **{"data-flag": "escalated"})
    if is_overdue(due):
        return chip(app.t("common.overdue"), "danger", **{"data-flag": "overdue"})
    if due is not None:
        return chip(app.t("common.due", when=app.fmt.datetime(due)), "plain")
    return ""


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        return None


def budget_text(app: App, low: Any, high: Any) -> str:
    if low is None and high is None:
        return ""
    if low is not None and high is not None:
        return f"{app.fmt.money_short(low)} – {app.fmt.money_short(high)}"
    return app.fmt.money_short(low if low is not None else high)


def label(lang: str, group: str, key: str) -> str:
    """An enumerated value (intent, source, state, status) in the user's language."""
    return t(lang, f"{group}.{key}") if key else ""


def heading(text: str, count: int | None = None) -> Any:
    return html.h2({"className": "section-title"}, text,
                   html.span({"className": "count"}, str(count)) if count is not None else "")
