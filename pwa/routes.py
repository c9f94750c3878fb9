"""The app's URLs: which screen a path names. The page shell answers every one of them (a reload, a shared link or
a push notification opens the same screen), and the ReactPy root renders the screen from the URL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode


@dataclass(frozen=True)
class Place:
    """One screen's URL: `path` is "/section" or "/section/{id}" (a record's UUID); `parent` is where the back
    arrow of a record screen leads. Adding a screen = one row here and its component in `pwa.screens.SCREENS`."""

    screen: str
    path: str
    parent: str | None = None


# The one route table. "/" is each role's home screen (pwa.app.NAV names which).
PLACES = (
    Place("home", "/"),
    Place("clients", "/clients"),
    Place("client", "/clients/{id}", parent="/clients"),
    Place("pipeline", "/pipeline"),
    Place("projects", "/projects"),
    Place("project", "/projects/{id}", parent="/"),
    Place("visit", "/visits/{id}", parent="/"),
    Place("inbox", "/inbox"),
    Place("manager", "/manager"),
    Place("finance", "/finance"),
    Place("admin", "/admin"),
    Place("settings", "/settings"),
    Place("feedback", "/feedback"),
)
BY_SCREEN = {place.screen: place for place in PLACES}
# Litestar paths served by the page shell (pwa.pages.app_page).
APP_PATHS = [place.path.replace("{id}", "{item_id:str}") for place in PLACES]


@dataclass(frozen=True)
class Route:
    """A parsed URL: `screen` names the screen, `item_id` the record, `query` the filters (first value each),
    `anchor` the element to scroll to (an alert's "#milestone-…": app/ui.js's Router scrolls to it, on a page load
    from a push as after an in-app navigation from the inbox)."""

    screen: str
    item_id: uuid.UUID | None = None
    query: dict[str, str] = field(default_factory=dict)
    path: str = "/"
    anchor: str = ""

    def param(self, name: str, default: str = "") -> str:
        return self.query.get(name, default)


def parse(url: str) -> Route:
    """The screen a URL names (every alert's URL comes from `backend.alerts.alert_url`). A `#fragment` (an
    alert's "#milestone-…") only points inside the screen: it is the route's `anchor`, not part of its path."""
    url, _, anchor = url.partition("#")
    path, _, query_string = url.partition("?")
    query = {k: v[0] for k, v in parse_qs(query_string, keep_blank_values=False).items() if v}
    parts = [p for p in path.split("/") if p]
    full = path + (f"?{query_string}" if query_string else "")
    for place in PLACES:
        pattern = [p for p in place.path.split("/") if p]
        if len(pattern) != len(parts) or any(a != b for a, b in zip(pattern, parts, strict=True) if a != "{id}"):
            continue
        if "{id}" not in pattern:
            return Route(place.screen, query=query, path=full, anchor=anchor)
        try:
            item_id = uuid.UUID(parts[pattern.index("{id}")])
        except ValueError:
            break
        return Route(place.screen, item_id=item_id, query=query, path=full, anchor=anchor)
    return Route("not_found", path=full)


def href(path: str, **query: str | None) -> str:
    """A path with its non-empty query parameters, e.g. href("/clients", q="王", tag=None) → /clients?q=王."""
    params = {k: v for k, v in query.items() if v}
    return f"{path}?{urlencode(params)}" if params else path
