"""The ReactPy root component mounted by the page shell."""

from __future__ import annotations

from typing import Any

from reactpy import component, html, use_async_effect, use_scope, use_state

from backend import records
from backend.access import Actor
from backend.clients.services import CLIENT_SPEC
from pwa.session import current_actor

ROLE_NAMES = {
    "agent": "经纪人", "project_manager": "项目经理", "legal": "法务专员", "finance": "财务",
    "branch_manager": "门店经理", "executive": "高管", "admin": "管理员",
}


async def my_clients(actor: Actor) -> list[dict[str, Any]]:
    """Every client the actor may see, through the same access rules as the API."""
    items: list[dict[str, Any]] = []
    while True:
        page = await records.list_records(actor, CLIENT_SPEC, limit=records.MAX_PAGE, offset=len(items))
        items += page.items
        if len(items) >= page.total or not page.items:
            return items


def signed_out() -> Any:
    return html.main({"className": "signed-out"}, html.p("请重新登录 · Please sign in again"),
                     html.a({"href": "/login", "id": "sign-in-link"}, "登录 · Sign in"))


@component
def root() -> Any:
    scope = use_scope()
    state, set_state = use_state({"status": "loading", "actor": None, "clients": []})

    async def load() -> None:
        actor = await current_actor(scope)
        if actor is None:
            set_state({"status": "signed_out", "actor": None, "clients": []})
            return
        set_state({"status": "ready", "actor": actor, "clients": await my_clients(actor)})

    @use_async_effect(dependencies=[])
    async def on_mount() -> None:
        await load()

    async def on_refresh(_event: Any) -> None:
        await load()

    if state["status"] == "loading":
        return html.main({"className": "loading"}, html.p("加载中… · Loading…"))
    if state["status"] == "signed_out":
        return signed_out()
    actor: Actor = state["actor"]
    return html.main(
        {"className": "home"},
        html.header(
            html.h1({"id": "user-name"}, actor.display_name),
            html.p({"id": "user-role", "data-role": actor.role}, ROLE_NAMES.get(actor.role, actor.role)),
            html.button({"id": "refresh", "onClick": on_refresh, "type": "button"}, "刷新 · Refresh"),
        ),
        html.h2(f"我的客户 · My clients ({len(state['clients'])})"),
        html.ul(
            {"id": "client-list"},
            [html.li({"key": str(c["id"]), "data-id": str(c["id"])}, c["name"]) for c in state["clients"]],
        ),
    )
