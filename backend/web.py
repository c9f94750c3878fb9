"""HTTP plumbing shared by every endpoint: who is calling, CSRF, cookies and the error format."""

from __future__ import annotations

import hmac
import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from backend import access
from backend.access import Actor
from backend.accounts import services as accounts
from backend.accounts.signin import DEVICE_COOKIE, DEVICE_COOKIE_DAYS
from backend.errors import ServiceError
from backend.schemas import NO_NUL
from backend.settings import Settings, get_settings

log = logging.getLogger("ipms")
SESSION_COOKIE = "ipms_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def settings_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Settings:
    return connection.app.state.get("settings") or get_settings()


def peer_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    settings = settings_of(connection)
    peer = connection.client.host if connection.client else None
    return accounts.client_ip(peer, connection.headers.get("x-forwarded-for"), settings)


async def actor_from_connection(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor | None:
    """Bearer API token first, then the session cookie. Used by the middleware and by pages."""
    authorization = connection.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return await accounts.actor_for_api_token(authorization[7:].strip())
    return await accounts.actor_for_session(connection.cookies.get(SESSION_COOKIE), settings_of(connection))


# All a user signed in with a one-time password may do before choosing their own.
PASSWORD_CHANGE_PATHS = frozenset({"/api/auth/password", "/api/auth/me", "/api/auth/logout"})


class AuthMiddleware(AbstractAuthenticationMiddleware):
    """Every route needs a signed-in user unless it opts out with `exclude_from_auth=True`.

    Cookie-authenticated writes must echo the session's CSRF token in `X-CSRF-Token`; bearer tokens
    are not sent by browsers on their own, so they need none.
    """

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        actor = await actor_from_connection(connection)
        if actor is None:
            raise NotAuthorizedException("Sign in first")
        method = connection.scope.get("method", "GET")
        if actor.session_id is not None and method not in SAFE_METHODS:
            sent = connection.headers.get(CSRF_HEADER, "")
            if not sent or not hmac.compare_digest(sent, actor.csrf_token):
                raise PermissionDeniedException("Missing or wrong CSRF token (send the X-CSRF-Token header)")
        if actor.must_change_password and connection.scope.get("path", "") not in PASSWORD_CHANGE_PATHS:
            raise PermissionDeniedException("Choose your own password first (POST /api/auth/password)")
        return AuthenticationResult(user=actor, auth=actor.session_id)


def origin_allowed(origin: str | None, host: str, settings: Settings, *, missing_ok: bool) -> bool:
    """The one Origin rule: the request's own host (http or https) or a configured origin. A missing Origin is
    a non-browser client for HTTP sign-in (`missing_ok`), but never acceptable on the websocket."""
    if not origin:
        return missing_ok
    return origin.rstrip("/") in {f"http://{host}", f"https://{host}", *settings.allowed_origins}


def same_origin(request: Request[Any, Any, Any]) -> bool:
    return origin_allowed(request.headers.get("origin"), request.headers.get("host", ""), settings_of(request),
                          missing_ok=True)


async def authorize_path_record(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The record a route's path names (`opt["authorize"] = (resource, parameter)`) must be visible to the caller:
    a 404 before the body is decoded or validated, so an invisible record answers the same whatever is sent."""
    target = handler.opt.get("authorize")
    if not isinstance(target, tuple):
        return
    resource, parameter = target
    record_id = connection.path_params.get(parameter)
    if record_id is not None:
        await access.authorize(connection.user, "read", resource, record_id)


def session_cookies(settings: Settings, token: str | None) -> list[Cookie]:
    """The session cookie (HttpOnly, SameSite=Lax, Secure outside development); `None` clears it."""
    return [
        Cookie(
            key=SESSION_COOKIE, value=token or "", httponly=True, samesite="lax", secure=not settings.is_development,
            path="/", max_age=settings.session_absolute_days * 86400 if token else 0,
        )
    ]


def device_cookie(settings: Settings, value: str) -> Cookie:
    """`ipms_device`: signed proof that this browser signed in as its user before (skips the per-username delay).
    HttpOnly and SameSite=Strict: only the app's own sign-in form and API ever need it."""
    return Cookie(key=DEVICE_COOKIE, value=value, httponly=True, samesite="strict", secure=not settings.is_development,
                  path="/", max_age=DEVICE_COOKIE_DAYS * 86400)


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, "field": field, **extra}


def service_error_handler(_: Request[Any, Any, Any], exc: ServiceError) -> Response[Any]:
    """A `retry_after` in the error's extra (rate limits) is also sent as the Retry-After header."""
    headers = {"Retry-After": str(exc.extra["retry_after"])} if "retry_after" in exc.extra else None
    return Response(error_body(exc.code, exc.message, exc.field, **exc.extra), status_code=exc.status_code,
                    headers=headers)


def validation_error_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    detail = exc.extra[0] if isinstance(exc.extra, list) and exc.extra else {}
    key = detail.get("key") if isinstance(detail, dict) else None
    message = detail.get("message") if isinstance(detail, dict) else None
    field = key.removeprefix("$.") if isinstance(key, str) else None
    named = re.search(r"field `([^`]+)`", message or "")
    if field in (None, "data") and named:  # missing or unknown field: msgspec names it in the message
        field = named.group(1)
    if message:
        message = message.replace(f"`str` matching regex {NO_NUL!r}", "text without NUL characters")
    text = f"{field}: {message}" if field and message else (message or exc.detail)
    return Response(error_body("invalid", text, field), status_code=422)


HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              409: "conflict", 413: "too_large", 415: "unsupported_media_type", 429: "too_many_requests"}


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code = HTTP_CODES.get(exc.status_code, "error")
    if exc.status_code == 403 and "CSRF" in str(exc.detail):
        code = "csrf"
    return Response(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(
        error_body("internal_error", "Something went wrong on the server; nothing was saved. Try again."),
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
    )


EXCEPTION_HANDLERS = {
    ServiceError: service_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
