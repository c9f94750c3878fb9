"""Server-rendered page shells: sign-in form and the ReactPy app page."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from backend.accounts import services as accounts
from backend.errors import ServiceError
from backend.web import (
    DEVICE_COOKIE,
    SESSION_COOKIE,
    actor_from_connection,
    device_cookie,
    peer_ip,
    same_origin,
    session_cookies,
    settings_of,
)
from pwa.assets import shell_context
from pwa.i18n import language_from_header, t
from pwa.routes import APP_PATHS

SHELL_PATH = "/app-shell"


def language(request: Request, preferred: str = "") -> str:
    if preferred in ("zh", "en"):
        return preferred
    return language_from_header(request.headers.get("accept-language", ""), settings_of(request).default_language)


@get(APP_PATHS, exclude_from_auth=True, include_in_schema=False)
async def app_page(request: Request) -> Any:
    """Every in-app path serves the same shell; the ReactPy root renders the screen named by the URL."""
    actor = await actor_from_connection(request)
    if actor is None or actor.session_id is None:
        return Redirect("/login")
    lang = language(request, actor.language)
    return Template("page.html.j2", context={"csrf_token": actor.csrf_token, "user_id": str(actor.id),
                                            "fieldkit_text": fieldkit_text(), **shell_context(lang)},
                    headers={"Cache-Control": "no-store"}, media_type="text/html")


@get(SHELL_PATH, exclude_from_auth=True, include_in_schema=False)
async def app_shell(request: Request) -> Template:
    """The user-neutral page the service worker precaches at install and answers navigations with when the network
    fails: no user, no CSRF token (the field kit takes both from the session kept in IndexedDB), both languages."""
    return Template("page.html.j2", context={"csrf_token": "", "user_id": "", "fieldkit_text": fieldkit_text(),
                                            **shell_context(language(request))},
                    headers={"Cache-Control": "no-cache"}, media_type="text/html")


def _words(lang: str) -> dict[str, Any]:
    from pwa.i18n import catalog

    def group(prefix: str) -> dict[str, str]:
        return {key.split(".", 1)[1]: t(lang, key) for key in catalog(lang) if key.startswith(prefix)}

    return {**group("fieldkit."), "visit_status": group("visit_status."), "capture": group("capture."),
            "shell": group("shell."), "intent_words": group("intent.")}


def fieldkit_text() -> str:
    """The field kit's words in both languages ({"zh": …, "en": …}), embedded in every page so the cached shell
    has them whichever language the session kept in IndexedDB speaks."""
    import json

    return json.dumps({lang: _words(lang) for lang in ("zh", "en")}, ensure_ascii=False).replace("</", "<\\/")


@get("/login", exclude_from_auth=True, include_in_schema=False)
async def login_page(request: Request) -> Template:
    return Template("login.html.j2", context={"error": "", "username": "", **shell_context(language(request))},
                    media_type="text/html")


@post("/login", exclude_from_auth=True, include_in_schema=False)
async def login_form(
    request: Request, data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    settings = settings_of(request)
    username = (data.get("username") or "")[:64]
    try:
        if not same_origin(request):
            raise ServiceError("Sign-in from another site is not allowed")
        result = await accounts.sign_in(username, (data.get("password") or "")[:200], ip=peer_ip(request),
                                        user_agent=request.headers.get("user-agent", ""), settings=settings,
                                        replaces=request.cookies.get(SESSION_COOKIE),
                                        device=request.cookies.get(DEVICE_COOKIE))
    except ServiceError as exc:
        lang = language(request)
        retry_after = exc.extra.get("retry_after")
        return Template("login.html.j2", context={"error": sign_in_error(lang, exc), "username": username,
                                                  **shell_context(lang)}, status_code=exc.status_code,
                        headers={"Retry-After": str(retry_after)} if retry_after else None, media_type="text/html")
    response: Response = Redirect("/")
    response.cookies.extend([*session_cookies(settings, result.token), device_cookie(settings, result.device_token)])
    return response


def sign_in_error(lang: str, exc: ServiceError) -> str:
    """What the sign-in form says: wrong password, or which limit was hit and how long to wait."""
    if exc.status_code == 401:
        return t(lang, "login.wrong_password")
    if exc.status_code != 429:
        return t(lang, "login.failed")
    seconds = int(exc.extra.get("retry_after") or 1)
    wait = (t(lang, "login.wait_seconds", count=seconds) if seconds < 60
            else t(lang, "login.wait_minutes", count=-(-seconds // 60)))
    key = "login.slow_down" if exc.extra.get("limit") == "username" else "login.too_many"
    return t(lang, key, wait=wait)
