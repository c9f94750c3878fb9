"""Server-rendered page shells: sign-in form and the ReactPy app page."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from backend.accounts import services as accounts
from backend.errors import ServiceError
from backend.web import SESSION_COOKIE, actor_from_connection, peer_ip, session_cookies, settings_of


def language(request: Request, preferred: str = "") -> str:
    if preferred in ("zh", "en"):
        return preferred
    accept = request.headers.get("accept-language", "").lower()
    if accept.startswith("en"):
        return "en"
    if accept.startswith("zh"):
        return "zh"
    return settings_of(request).default_language


@get("/", exclude_from_auth=True, include_in_schema=False)
async def app_page(request: Request) -> Any:
    actor = await actor_from_connection(request)
    if actor is None or actor.session_id is None:
        return Redirect("/login")
    return Template("page.html.j2", context={"csrf_token": actor.csrf_token, "lang": language(request, actor.language)})


@get("/login", exclude_from_auth=True, include_in_schema=False)
async def login_page(request: Request) -> Template:
    return Template("login.html.j2", context={"error": "", "username": "", "lang": language(request)})


@post("/login", exclude_from_auth=True, include_in_schema=False)
async def login_form(
    request: Request, data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    from backend.accounts.endpoints import same_origin

    settings = settings_of(request)
    username = (data.get("username") or "")[:64]
    try:
        if not same_origin(request):
            raise ServiceError("Sign-in from another site is not allowed")
        result = await accounts.sign_in(username, (data.get("password") or "")[:200], ip=peer_ip(request),
                                        user_agent=request.headers.get("user-agent", ""), settings=settings,
                                        replaces=request.cookies.get(SESSION_COOKIE))
    except ServiceError as exc:
        message = {401: "用户名或密码错误 · Wrong username or password",
                   429: "登录失败次数过多，请稍后再试 · Too many failed sign-ins; try again later"}.get(
            exc.status_code, exc.message)
        return Template("login.html.j2", context={"error": message, "username": username, "lang": language(request)},
                        status_code=exc.status_code)
    response: Response = Redirect("/")
    response.cookies.extend(session_cookies(settings, result.token))
    return response
