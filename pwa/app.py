"""The ReactPy root: resolves the user from the session cookie, picks the language, and renders the frame
(header, screen, bottom navigation) for the screen named by the URL."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, Literal

from reactpy import component, html, use_async_effect, use_location, use_scope, use_state
from reactpy.reactjs import component_from_url

from backend.access import Actor
from backend.accounts.services import get_branch
from pwa import assets, screens
from pwa.i18n import Formatter, language_for, t
from pwa.icons import icon
from pwa.live import use_live_updates
from pwa.routes import BY_SCREEN, Route, href, parse
from pwa.screens import common, guide
from pwa.session import active_settings, current_actor
from pwa.ui import App, AppContext, Router, SignedOut, button, link, settle, use_live

log = logging.getLogger("ipms.pwa")

# The bottom navigation of each role: (screen, href, icon). The first entry is the role's home screen at "/".
NAV: dict[str, list[tuple[str, str, str]]] = {
    "agent": [("home", "/", "home"), ("clients", "/clients", "clients"), ("pipeline", "/pipeline", "pipeline"),
              ("inbox", "/inbox", "inbox"), ("settings", "/settings", "settings")],
    "project_manager": [("home", "/", "home"), ("clients", "/clients", "clients"), ("inbox", "/inbox", "inbox"),
                        ("settings", "/settings", "settings")],
    "legal": [("home", "/", "home"), ("inbox", "/inbox", "inbox"), ("settings", "/settings", "settings")],
    "finance": [("finance", "/", "finance"), ("inbox", "/inbox", "inbox"), ("settings", "/settings", "settings")],
    "branch_manager": [("manager", "/", "manager"), ("clients", "/clients", "clients"),
                       ("pipeline", "/pipeline", "pipeline"), ("inbox", "/inbox", "inbox"),
                       ("settings", "/settings", "settings")],
    "executive": [("manager", "/", "manager"), ("clients", "/clients", "clients"),
                  ("pipeline", "/pipeline", "pipeline"), ("inbox", "/inbox", "inbox"),
                  ("settings", "/settings", "settings")],
    "admin": [("admin", "/", "admin"), ("settings", "/settings", "settings")],
}

# Once after sign-in, on the home screen: offers push (the click is the user gesture), re-syncs a granted subscription.
PushPrompt = component_from_url(assets.url("fieldkit/push.js"), "PushPrompt")
# What waits to be sent from this phone (count and state), in the header of every screen; a tap opens the outbox.
PendingBadge = component_from_url(assets.url("fieldkit/badge.js"), "PendingBadge")
PROMPT_LABELS = ("prompt_title", "prompt_body", "prompt_later", "prompt_close", "turn_on", "working", "ios_tab",
                 "timeout", "denied", "unsupported", "failed")


def screen_name(route: Route, role: str) -> str:
    """The screen to render: "/" is the role's home screen."""
    if route.screen == "home":
        return NAV.get(role, NAV["agent"])[0][0]
    return route.screen


def signed_out(lang: str) -> Any:
    return html.main({"className": "state signed-out", "data-state": "signed-out"},
                     html.p(t(lang, "auth.signed_out")),
                     html.a({"href": "/login", "id": "sign-in-link", "className": "button"}, t(lang, "auth.sign_in")))


async def load_session(scope: dict[str, Any]) -> dict[str, Any] | None:
    actor = await current_actor(scope)
    if actor is not None and await settle(actor):  # a tap on the page just closed is still being written
        actor = await current_actor(scope)
    if actor is None:
        return None
    branch = common.plain(await get_branch(actor, actor.branch_id))
    lang = language_for(actor.language, scope.get("headers"), active_settings().default_language)
    return {"actor": actor, "lang": lang, "timezone": branch.get("timezone") or "Asia/Shanghai"}


@dataclass(frozen=True)
class Frame:
    """All the root keeps between renders, in one value (a reconnect rebuilds it from the URL and the session).

    `session`: None while loading, False when signed out, else {actor, lang, timezone} (or {error: True}).
    `path`: the URL shown; `replace`: navigate without a history entry; `reload_to`: a full page load (sign-out);
    `ticks`: bumped to re-count unread alerts; `refresh`: bumped by the refresh button to reload the screen."""

    path: str
    session: dict[str, Any] | Literal[False] | None = None
    replace: bool = False
    reload_to: str = ""
    toast: dict[str, Any] | None = None
    unread: int | None = None
    ticks: int = 0
    refresh: int = 0


@component
def root() -> Any:
    scope = use_scope()
    location = use_location()
    state, set_state = use_state(lambda: Frame(path=(location.path or "/") + (location.query_string or "")))
    session, path = state.session, state.path

    def update(**changes: Any) -> None:
        set_state(lambda current: dataclasses.replace(current, **changes))

    live = use_live()
    default_lang = language_for("", scope.get("headers"), active_settings().default_language)

    @use_async_effect(dependencies=[])
    async def start() -> None:
        try:
            update(session=await load_session(scope) or False)
        except Exception:
            log.exception("Opening the app failed")
            update(session={"error": True})

    actor_id = str(session["actor"].id) if session and "actor" in session else ""

    use_live_updates(session["actor"] if session and "actor" in session else None,
                     [("inbox_items", {"user": actor_id}), ("inbox_items", {"owner": actor_id})],
                     live(lambda: set_state(lambda c: dataclasses.replace(c, ticks=c.ticks + 1))))

    @use_async_effect(dependencies=[actor_id, state.ticks, path])
    async def count_unread() -> None:
        """On start, on every screen change and after reading: alerts that arrived meanwhile show up."""
        if not actor_id or not session:
            return
        try:
            update(unread=await screens.inbox.unread_count(session["actor"]))
        except Exception:
            log.exception("Counting unread inbox items failed")

    toast = state.toast
    toast_id = toast["id"] if toast else 0

    @use_async_effect(dependencies=[toast_id])
    async def dismiss_toast() -> None:
        if toast_id:
            await asyncio.sleep(6)
            set_state(lambda current: dataclasses.replace(current, toast=None)
                      if current.toast and current.toast["id"] == toast_id else current)

    def on_navigate(data: Any) -> None:
        target = data.get("path") if hasattr(data, "get") else None
        if isinstance(target, str) and target.startswith("/"):
            update(replace=False, path=target)

    def frame(*content: Any, title: str = "") -> Any:
        """The Router sits at the same place in every state, so its onNavigate handler keeps one address: a tap
        made while the first data loads still reaches the server (a moved handler's events are dropped)."""
        lang = session["lang"] if session and "lang" in session else default_lang
        router = Router({"path": path, "replace": state.replace, "reload": state.reload_to, "lang": lang,
                         "title": title, "onNavigate": on_navigate})
        return html.div({"className": "root"}, router, *content)

    if session is None:
        return frame(html.div({"className": "state", "data-state": "loading"}, t(default_lang, "common.loading")))
    if session is False:
        return frame(html.div(signed_out(default_lang)))
    if session.get("error"):
        return frame(html.div({"className": "state error", "data-state": "error"}, t(default_lang, "error.render")))

    actor: Actor = session["actor"]
    lang: str = session["lang"]
    route = parse(path)

    def navigate(target: str, replace_entry: bool = False) -> None:
        update(replace=replace_entry, path=target)

    async def ensure_actor() -> Actor:
        fresh = await current_actor(scope)
        if fresh is None:
            live(update)(session=False)
            raise SignedOut()
        return fresh

    def notify(text: str, kind: str = "ok") -> None:
        set_state(lambda current: dataclasses.replace(current, toast={
            "id": (current.toast["id"] + 1) if current.toast else 1, "text": text, "kind": kind}))

    def set_language(choice: str) -> None:
        """The user's choice ("" follows the browser) and the language it means here."""
        lang = language_for(choice, scope.get("headers"), active_settings().default_language)
        set_state(lambda current: dataclasses.replace(current, session={
            **current.session, "lang": lang, "actor": dataclasses.replace(current.session["actor"], language=choice)}))

    def sign_out() -> None:
        update(reload_to="/login")

    app = App(actor=actor, lang=lang, fmt=Formatter(lang, session["timezone"]), route=route, navigate=live(navigate),
              notify=live(notify), ensure_actor=ensure_actor,
              changed=live(lambda: set_state(lambda c: dataclasses.replace(c, ticks=c.ticks + 1))),
              set_language=live(set_language), sign_out=live(sign_out),
              reload_page=live(lambda target: update(reload_to=target)))
    # A one-time password opens nothing but Settings, where the user chooses their own (issue 14).
    name = "settings" if actor.must_change_password else screen_name(route, actor.role)
    title = t(lang, f"screen.{name}") if name in screens.SCREENS else t(lang, "screen.not_found")
    body = screens.SCREENS.get(name, screens.not_found)
    return frame(AppContext(
        html.div(
            {"className": "app", "data-screen": name, "data-role": actor.role, "data-lang": lang},
            header(app, name, title, state.unread,
                   lambda *_: set_state(lambda c: dataclasses.replace(c, refresh=c.refresh + 1))),
            PushPrompt({"user": str(actor.id), "labels": {k: app.t(f"push.{k}") for k in PROMPT_LABELS}},
                       ) if route.screen == "home" and not actor.must_change_password else "",
            guide.banner(app, key="guide") if route.screen == "home" and not actor.must_change_password else "",
            body(app, key=f"{name}:{route.item_id or ''}:{state.refresh}"),
            bottom_nav(app, name),
            html.div({"className": f"toast {toast['kind']}", "role": "status", "id": "toast",
                      "data-kind": toast["kind"]}, toast["text"]) if toast else "",
        ),
        value=app,
    ), title=f"{title} · IPMS")


def header(app: App, name: str, title: str, unread: int | None, on_refresh: Any) -> Any:
    route = app.route
    place = BY_SCREEN.get(name)
    back = place.parent if place and route.item_id else None
    return html.header(
        {"className": "app-header"},
        link(back, icon("back"), class_name="icon-button back-link", **{"aria-label": app.t("common.back"),
                                                                         "id": "back-link"}) if back else "",
        html.h1({"id": "screen-title"}, title),
        html.div({"className": "who"},
                 html.span({"id": "user-name"}, app.actor.display_name),
                 html.span({"id": "user-role", "data-role": app.actor.role}, app.t(f"role.{app.actor.role}"))),
        link(href("/feedback", **{"from": name}), icon("feedback"), class_name="icon-button", id="feedback-link",
             **{"aria-label": app.t("feedback.open")}) if name != "feedback" else "",
        PendingBadge({"lang": app.lang}),
        button(icon("refresh"), on_refresh, id="refresh", className="icon-button",
               **{"aria-label": app.t("common.refresh")}),
        link("/inbox", icon("inbox"),
             html.span({"className": "badge", "id": "unread-count"}, str(unread)) if unread else "",
             class_name="icon-button", id="inbox-link",
             **{"aria-label": app.t("inbox.unread", count=unread or 0), "data-unread": str(unread or 0)}),
    )


def bottom_nav(app: App, current: str) -> Any:
    items = NAV.get(app.actor.role, NAV["agent"])
    return html.nav(
        {"className": "bottom-nav", "aria-label": app.t("nav.label")},
        *[link(href, icon(icon_name), html.span(app.t(f"nav.{screen}")), key=screen,
               **{"data-screen": screen, **({"aria-current": "page"} if screen == current else {})})
          for screen, href, icon_name in items],
    )

