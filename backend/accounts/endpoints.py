import uuid
from typing import Any

import msgspec
from litestar import Request, Response, Router, delete, get, post, put
from litestar.params import JSONBody

from backend.access import Actor
from backend.accounts import org, services
from backend.accounts.schemas import (
    ApiTokenCreated,
    ApiTokenOut,
    BranchCreate,
    BranchUpdate,
    DeviceOut,
    DeviceTouch,
    Login,
    MeOut,
    OneTimePassword,
    PasswordChange,
    PasswordChanged,
    PasswordReset,
    RegionCreate,
    RegionUpdate,
    SessionOut,
    SignedOut,
    TokenCreate,
    UserCreate,
    UserInvite,
    UserUpdate,
)
from backend.accounts.signin import DEVICE_COOKIE
from backend.crud import Routes, resource_router
from backend.errors import Forbidden
from backend.web import SESSION_COOKIE, device_cookie, peer_ip, same_origin, session_cookies, settings_of


def me(actor: Actor) -> MeOut:
    return MeOut(id=actor.id, username=actor.username, display_name=actor.display_name, role=actor.role,
                 branch_id=actor.branch_id, language=actor.language,
                 must_change_password=actor.must_change_password)


@post("/login", exclude_from_auth=True, operation_id="sign_in", summary="Sign in with username and password")
async def sign_in(request: Request[Any, Any, Any], data: JSONBody[Login]) -> Response[SessionOut]:
    if not same_origin(request):
        raise Forbidden("Sign-in from another site is not allowed")
    settings = settings_of(request)
    result = await services.sign_in(data.username, data.password, ip=peer_ip(request),
                                    user_agent=request.headers.get("user-agent", ""), settings=settings,
                                    replaces=request.cookies.get(SESSION_COOKIE),
                                    device=request.cookies.get(DEVICE_COOKIE))
    return Response(SessionOut(user=me(result.actor), csrf_token=result.csrf_token),
                    cookies=[*session_cookies(settings, result.token), device_cookie(settings, result.device_token)])


def device_header(request: Request[Any, Any, Any]) -> uuid.UUID | None:
    """`X-Device-Id`: the browser's device record, sent with sign-out so its push subscription goes too."""
    try:
        return uuid.UUID(request.headers.get("x-device-id", ""))
    except ValueError:
        return None


@post("/logout", operation_id="sign_out", status_code=200,
      summary="Sign out (ends the session on the server; with X-Device-Id, that device's push subscription too)")
async def sign_out(request: Request[Any, Any, Any]) -> Response[SignedOut]:
    if request.user.session_id is not None:
        await services.sign_out(request.user, device_header(request))
    return Response(SignedOut(signed_out=True), cookies=session_cookies(settings_of(request), None))


@get("/me", operation_id="who_am_i", summary="The signed-in user and the CSRF token for writes")
async def who_am_i(request: Request[Any, Any, Any]) -> SessionOut:
    return SessionOut(user=me(request.user), csrf_token=request.user.csrf_token)


@get("/tokens", operation_id="list_api_tokens", summary="Your API tokens, with their expiry")
async def list_tokens(request: Request[Any, Any, Any]) -> list[ApiTokenOut]:
    return await services.list_api_tokens(request.user)


@post("/tokens", operation_id="create_api_token",
      summary="Create an API token (shown once); it expires after expires_in_days (default IPMS_API_TOKEN_DAYS)")
async def create_token(request: Request[Any, Any, Any], data: JSONBody[TokenCreate]) -> ApiTokenCreated:
    days = data.expires_in_days or settings_of(request).api_token_days
    return await services.create_api_token(request.user, data.name, days)


@delete("/tokens/{token_id:uuid}", operation_id="revoke_api_token", summary="Revoke an API token",
        opt={"authorize": "only the caller's own tokens are found"})
async def revoke_token(request: Request[Any, Any, Any], token_id: uuid.UUID) -> None:
    await services.revoke_api_token(request.user, token_id)


@put("/devices/{device_id:uuid}", operation_id="register_device", summary="Register or refresh this browser install",
     opt={"authorize": "a new id the device made: the service answers a taken id"})
async def register_device(
    request: Request[Any, Any, Any], device_id: uuid.UUID, data: JSONBody[DeviceTouch]
) -> DeviceOut:
    return await services.touch_device(request.user, device_id, data.label)


@post("/password", operation_id="change_own_password", status_code=200,
      summary="Replace your password (required after signing in with a one-time password)")
async def change_password(request: Request[Any, Any, Any], data: JSONBody[PasswordChange]) -> PasswordChanged:
    return await services.change_own_password(request.user, data.current_password, data.new_password)


auth_router = Router(path="/api/auth", route_handlers=[sign_in, sign_out, who_am_i, list_tokens, create_token,
                                                       revoke_token, register_device, change_password], tags=["auth"])


@post("/invite", operation_id="invite_user",
      summary="Create a user with a one-time password (shown once; they choose their own at first sign-in)")
async def invite_user(request: Request[Any, Any, Any], data: JSONBody[UserInvite]) -> OneTimePassword:
    values = msgspec.structs.asdict(data)
    return await services.create_user_with_one_time_password(request.user, values)


@post("/{user_id:uuid}/password-reset", operation_id="reset_user_password", status_code=200,
      opt={"authorize": ("user", "user_id")},
      summary="Give a user a new one-time password (their sessions and API tokens end)")
async def reset_password(request: Request[Any, Any, Any], user_id: uuid.UUID,
                         data: JSONBody[PasswordReset]) -> OneTimePassword:
    return await services.reset_password(request.user, user_id, data.version)


users_router = resource_router(Routes("/api/users", services.USERS, UserCreate, UserUpdate,
                                      extra=(invite_user, reset_password)))
regions_router = resource_router(Routes("/api/regions", org.REGIONS, RegionCreate, RegionUpdate))
branches_router = resource_router(Routes("/api/branches", org.BRANCHES, BranchCreate, BranchUpdate))
