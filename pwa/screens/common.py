"""Data helpers shared by screens: they call services only (access rules live in backend/access.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from reactpy import html

from backend.access import Actor
from backend.clients.services import CLIENTS
from backend.errors import Conflict, NotFound
from backend.specs import is_overdue
from pwa.i18n import t
from pwa.ui import App, chip

STAGES = ("intake", "assessment", "signing", "execution", "collection", "review")


def plain(value: Any) -> Any:
    """A service's typed reply as the screens' view model: plain dicts (and lists of them), native values kept."""
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, msgspec.Struct):
        return {k: v for k, v in msgspec.structs.asdict(value).items() if v is not msgspec.UNSET}
    return value


async def all_records(actor: Actor, resource: Any, *, cap: int = 1000, **options: Any) -> list[dict[str, Any]]:
    """Every record of a service's scoped list (up to `cap`), as view-model dicts."""
    return plain(await resource.every(actor, cap=cap, **options))


async def one(actor: Actor, resource: Any, record_id: Any) -> dict[str, Any]:
    return plain(await resource.get(actor, record_id))


async def page(actor: Actor, resource: Any, **options: Any) -> list[dict[str, Any]]:
    return plain((await resource.list(actor, **options)).items)


async def names_of(actor: Actor, resource: Any, ids: set[Any], field: str = "name") -> dict[Any, str]:
    """Display names of the records the actor may see; invisible ones are simply absent."""
    names: dict[Any, str] = {}
    for record_id in ids:
        if record_id is None:
            continue
        try:
            names[record_id] = getattr(await resource.get(actor, record_id), field, "")
        except NotFound:
            continue
    return names


async def client_names(actor: Actor, ids: set[Any]) -> dict[Any, str]:
    """Names of the clients the actor may see: one by one for a few, else one scoped list (two queries)."""
    ids = {i for i in ids if i is not None}
    if len(ids) <= 3:
        return await names_of(actor, CLIENTS, ids)
    return {c.id: c.name for c in await CLIENTS.every(actor, cap=5000) if c.id in ids}




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


def guard_text(app: Any, exc: Exception) -> str:
    """The transition guard's refusal in the user's words (which milestones are still open), or ""."""
    if not isinstance(exc, Conflict):
        return ""
    missing = (exc.extra or {}).get("missing") or []
    if not missing:
        return ""
    separator = "、" if app.lang == "zh" else ", "
    titles = separator.join(f"“{m.get(f'title_{app.lang}') or m.get('title_zh') or m.get('key')}”" for m in missing)
    return app.t("project.guard_blocked", items=titles)
