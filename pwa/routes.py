"""The app's URLs: which screen a path names. The page shell answers every one of them (a reload, a shared link or
a push notification opens the same screen), and the ReactPy root renders the screen from the URL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode

# Litestar paths served by the page shell (pwa.pages.app_page).
APP_PATHS = [
    "/", "/clients", "/clients/{item_id:str}", "/pipeline", "/projects", "/projects/{item_id:str}",
    "/visits/{item_id:str}", "/inbox", "/manager", "/finance", "/admin", "/settings",
]
SECTIONS = ("clients", "pipeline", "projects", "visits", "inbox", "manager", "finance", "admin", "settings")


@dataclass(frozen=True)
class Route:
    """A parsed URL: `screen` names the screen, `item_id` the record, `query` the filters (first value each)."""

    screen: str
    item_id: uuid.UUID | None = None
    query: dict[str, str] = field(default_factory=dict)
    path: str = "/"

    def param(self, name: str, default: str = "") -> str:
        return self.query.get(name, default)


def parse(url: str) -> Route:
    path, _, query_string = url.partition("?")
    query = {k: v[0] for k, v in parse_qs(query_string, keep_blank_values=False).items() if v}
    parts = [p for p in path.split("/") if p]
    full = path + (f"?{query_string}" if query_string else "")
    if not parts:
        return Route("home", query=query, path=full)
    section = parts[0]
    if section not in SECTIONS or len(parts) > 2:
        return Route("not_found", path=full)
    if len(parts) == 1:
        return Route(section if section != "visits" else "not_found", query=query, path=full)
    if section not in ("clients", "projects", "visits"):
        return Route("not_found", path=full)
    try:
        item_id = uuid.UUID(parts[1])
    except ValueError:
        return Route("not_found", path=full)
    singular = {"clients": "client", "projects": "project", "visits": "visit"}[section]
    return Route(singular, item_id=item_id, query=query, path=full)


def href(path: str, **query: str | None) -> str:
    """A path with its non-empty query parameters, e.g. href("/clients", q="王", tag=None) → /clients?q=王."""
    params = {k: v for k, v in query.items() if v}
    return f"{path}?{urlencode(params)}" if params else path
