"""Shared pieces of every screen: the app context, data loading, guarded actions, error boundaries and widgets.

Render errors are silent in ReactPy's browser client (the page just stops updating), so every screen and widget
renders through `guarded`, which logs the exception and shows an error state instead; loaders and actions log and
report their failures the same way.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from reactpy import component, create_context, html, use_async_effect, use_context, use_effect, use_ref, use_state
from reactpy.reactjs import component_from_url

from backend.access import Actor
from backend.errors import Forbidden, NotFound, ServiceError
from pwa import assets
from pwa.i18n import Formatter, t
from pwa.routes import Route

log = logging.getLogger("ipms.pwa")
# Actions still running, by the session that made them (see `action` and `settle`); holding them here also keeps
# the event loop from dropping those whose page has closed.
_RUNNING: dict[object, set[asyncio.Task[None]]] = {}
SETTLE_TIMEOUT = 10.0  # seconds: an upper bound on how long a new page waits for its session's running actions
Router, JsButton, JsForm = component_from_url(assets.url("app/ui.js"), ["Router", "Button", "Form"])


class SignedOut(Exception):
    """The session ended (signed out elsewhere, expired, user disabled) while the page was open."""


@dataclass(frozen=True)
class App:
    """Everything a screen needs to know about who is looking, in which language, and how to move on."""

    actor: Actor
    lang: str
    fmt: Formatter
    route: Route
    navigate: Callable[[str], None]
    notify: Callable[[str, str], None]
    ensure_actor: Callable[[], Awaitable[Actor]]
    changed: Callable[[], None] = lambda: None  # something changed that the frame shows (unread count)
    set_language: Callable[[str], None] = lambda lang: None
    sign_out: Callable[[], None] = lambda: None
    reload_page: Callable[[str], None] = lambda path: None  # a full page load of `path` (the session changed)
    extras: dict[str, Any] = field(default_factory=dict)

    def t(self, key: str, **values: Any) -> str:
        return t(self.lang, key, **values)


AppContext = create_context(None)


def use_app() -> App:
    app = use_context(AppContext)
    if app is None:
        raise RuntimeError("use_app() outside the app frame")
    return app


@dataclass(frozen=True)
class Query:
    status: str  # loading | ready | not_found | error
    data: Any
    reload: Callable[[], None]

    @property
    def ready(self) -> bool:
        return self.status == "ready"


def use_query(load: Callable[[], Awaitable[Any]], *deps: str | int | None) -> Query:
    """Run `load` after the first render and whenever `deps` (plain values) change; `reload()` runs it again."""
    key = repr(deps)
    state, set_state = use_state(lambda: {"status": "loading", "data": None, "key": key})
    tick, set_tick = use_state(0)

    @use_async_effect(dependencies=[*deps, tick])
    async def run() -> None:
        try:
            set_state({"status": "ready", "data": await load(), "key": key})
        except (NotFound, Forbidden):
            set_state({"status": "not_found", "data": None, "key": key})
        except SignedOut:
            pass
        except Exception:
            log.exception("Loading a screen's data failed")
            set_state({"status": "error", "data": None, "key": key})

    def reload() -> None:
        set_tick(lambda n: n + 1)

    if state["key"] != key:  # data of other parameters (a new tab or filter): not shown as if it were this one's
        return Query("loading", None, reload)
    return Query(state["status"], state["data"], reload)


def error_text(app: App, exc: ServiceError) -> str:
    """A service error in the user's language: by code and field where the catalog has it."""
    for key in (f"error.{exc.code}.{exc.field}", f"error.{exc.code}"):
        text = t(app.lang, key) if key in _catalog_keys(app.lang) else None
        if text:
            return text
    return t(app.lang, "error.unexpected")


@functools.cache
def _catalog_keys(lang: str) -> frozenset[str]:
    from pwa.i18n import catalog

    return frozenset(catalog(lang))


def action(app: App, work: Callable[[Actor, Any], Awaitable[Any]], *, done: str | None = None) -> Any:
    """An event handler that re-checks the session, runs `work(actor, data)` and reports failures as a toast.

    A tap that reached the server is carried out even if the page closes meanwhile: ReactPy cancels a closed
    page's running handlers (a tap followed at once by a reload or a sign-out lost its write), so the work runs
    in a task of its own that the handler only waits for. Its screen updates then go nowhere (`use_live`), and
    the session's next page waits for it (`settle`), so that page shows what the tap wrote."""

    async def handler(data: Any = None, *_: Any) -> None:
        key = _session_key(app.actor)
        task = asyncio.create_task(run(data))
        _RUNNING.setdefault(key, set()).add(task)
        task.add_done_callback(lambda done: _forget(key, done))
        await asyncio.shield(task)

    async def run(data: Any) -> None:
        try:
            actor = await app.ensure_actor()
            await work(actor, data)
            if done:
                app.notify(app.t(done), "ok")
        except SignedOut:
            return
        except ServiceError as exc:
            app.notify(error_text(app, exc), "error")
        except Exception:
            log.exception("An action failed")
            app.notify(app.t("error.unexpected"), "error")

    return handler


def _session_key(actor: Actor) -> object:
    return actor.session_id or actor.id


def _forget(key: object, task: asyncio.Task[None]) -> None:
    running = _RUNNING.get(key, set())
    running.discard(task)
    if not running:
        _RUNNING.pop(key, None)


async def settle(actor: Actor) -> bool:
    """Wait (a bounded while) for the actions still running for `actor`'s session, typically a tap on the page
    just closed by a reload; True when there were any, so the caller reads the session's data again."""
    running = list(_RUNNING.get(_session_key(actor), ()))
    if running:
        await asyncio.wait(running, timeout=SETTLE_TIMEOUT)
    return bool(running)


def use_live() -> Callable[[Callable[..., None]], Callable[..., None]]:
    """`live(update)`: the state update, doing nothing once the page has closed (an action carried on past it
    would otherwise schedule renders on a layout that is gone)."""
    page_open = use_ref(True)

    @use_effect(dependencies=[])
    def close_with_the_page() -> Callable[[], None]:
        def closed() -> None:
            page_open.current = False

        return closed

    def live(update: Callable[..., None]) -> Callable[..., None]:
        def update_if_open(*args: Any, **kwargs: Any) -> None:
            if page_open.current:
                update(*args, **kwargs)

        return update_if_open

    return live


def guarded(function: Callable[..., Any]) -> Any:
    """A component whose render errors are logged and shown, not swallowed by ReactPy."""

    @component
    @functools.wraps(function)
    def boundary(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except SignedOut:
            return html.div()
        except Exception:
            log.exception("Rendering %s failed", function.__qualname__)
            app = use_context(AppContext)
            lang = app.lang if app else "zh"
            return error_state(lang)

    return boundary


# Widgets ---------------------------------------------------------------------------------------------------------


def error_state(lang: str, retry: Callable[[], None] | None = None) -> Any:
    children: list[Any] = [html.p(t(lang, "error.render"))]
    if retry:
        children.append(button(t(lang, "common.retry"), lambda *_: retry(), "secondary"))
    return html.div({"className": "state error", "role": "alert", "data-state": "error"}, *children)


def query_state(app: App, query: Query) -> Any | None:
    """The loading / not-found / error state of a query, or None when its data is ready."""
    if query.status == "loading":
        return html.div({"className": "state", "aria-busy": "true", "data-state": "loading"}, app.t("common.loading"))
    if query.status == "not_found":
        return html.div({"className": "state", "data-state": "not-found"}, html.p(app.t("common.not_found")),
                        link("/", app.t("common.go_home"), class_name="button secondary"))
    if query.status == "error":
        return error_state(app.lang, query.reload)
    return None


def link(href: str, *children: Any, class_name: str = "", **attributes: Any) -> Any:
    """An in-app link: a real href (open in new tab, reload) that the router turns into a pushState navigation."""
    return html.a({"href": href, "data-nav": "", "className": class_name, **attributes}, *children)


def card(*children: Any, title: Any = None, count: int | None = None, **attributes: Any) -> Any:
    head = []
    if title is not None:
        head.append(html.h2({"className": "section-title"}, title,
                            html.span({"className": "count"}, f"{count}") if count is not None else ""))
    return html.section({"className": "card", **attributes}, *head, *children)


def chip(text: str, tone: str = "", **attributes: Any) -> Any:
    return html.span({"className": f"chip {tone}".strip(), **attributes}, text)


def empty(text: str) -> Any:
    return html.p({"className": "empty"}, text)


def list_link(href: str, title: Any, meta: Any = "", lead: Any = None, trail: Any = None, below: Any = None,
              **attributes: Any) -> Any:
    parts: list[Any] = []
    if lead is not None:
        parts.append(lead)
    parts.append(html.div({"className": "grow"}, html.div({"className": "title"}, title),
                          html.div({"className": "meta"}, meta) if meta else "",
                          html.div({"className": "chips", "style": {"marginTop": "4px"}}, below) if below else ""))
    if trail is not None:
        parts.append(trail)
    parts.append(html.span({"className": "chevron", "aria-hidden": "true"}, "›"))
    return link(href, *parts, class_name="list-link", **attributes)


def facts(*pairs: tuple[str, Any]) -> Any:
    items: list[Any] = []
    for label, value in pairs:
        if value in (None, ""):
            continue
        items += [html.dt(label), html.dd(value)]
    return html.dl({"className": "facts"}, *items)


def button(text: Any, on_press: Any, tone: str = "", **attributes: Any) -> Any:
    """A button whose press reaches Python as an empty event (see app/ui.js): handlers take `*_`."""
    class_name = attributes.pop("className") if "className" in attributes else f"button {tone}".strip()
    return JsButton({"className": class_name, "onPress": on_press, **attributes}, text)


def form(on_values: Any, *children: Any, **attributes: Any) -> Any:
    """A form that sends only its controls' values: the handler gets {"values": {name: value}}."""
    return JsForm({"onValues": on_values, **attributes}, *children)


def form_value(data: Any, name: str) -> str:
    try:
        return str(data["values"].get(name, "") or "")
    except (KeyError, TypeError, AttributeError):
        return ""


def event_value(data: Any) -> str:
    try:
        return str(data["target"]["value"] or "")
    except (KeyError, TypeError):
        return ""
