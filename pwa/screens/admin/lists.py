"""Admin lists without an editor yet: branches, business lines and lifecycle templates."""

from __future__ import annotations

from typing import Any

from reactpy import html

from backend.accounts.services import BRANCHES, USERS
from backend.lifecycle import services as life
from backend.projects.services import BUSINESS_LINES
from pwa.screens import common
from pwa.ui import App, card, chip, empty, guarded, query_state, use_query


async def load(app: App, tab: str) -> dict[str, Any]:
    actor = await app.ensure_actor()
    branches = await common.all_records(actor, BRANCHES)
    if tab == "users":
        items = await common.all_records(actor, USERS, cap=5000)
        items.sort(key=lambda u: (str(u["branch_id"]), u["role"], u["username"]))
    elif tab == "branches":
        items = branches
    elif tab == "lines":
        items = await common.all_records(actor, BUSINESS_LINES)
    else:
        items = await life.templates_overview(actor)
    return {"items": items, "branches": {b["id"]: b["name"] for b in branches}}


def user_row(app: App, user: dict[str, Any], branches: dict[Any, str]) -> Any:
    return html.li({"key": str(user["id"]), "data-id": str(user["id"]), "className": "user-row",
                    "style": {"padding": "8px 0"}},
                   html.div({"className": "spread"}, html.strong(user["display_name"]),
                            chip(app.t(f"role.{user['role']}"), "" if user["is_active"] else "danger")),
                   html.div({"className": "small muted"}, html.span({"translate": "no"}, user["username"]), " · ",
                            branches.get(user["branch_id"], ""),
                            "" if user["is_active"] else f" · {app.t('admin.disabled')}"))


def branch_row(app: App, branch: dict[str, Any]) -> Any:
    return html.li({"key": str(branch["id"]), "data-id": str(branch["id"]), "style": {"padding": "8px 0"}},
                   html.strong(branch["name"]),
                   html.div({"className": "small muted", "translate": "no"}, branch["code"], " · ", branch["timezone"]))


def line_row(app: App, line: dict[str, Any]) -> Any:
    return html.li({"key": str(line["id"]), "data-id": str(line["id"]), "style": {"padding": "8px 0"}},
                   html.div({"className": "spread"}, html.strong(line.get(f"name_{app.lang}") or line["name_zh"]),
                            chip(app.t("admin.active") if line.get("active") else app.t("admin.inactive"),
                                 "ok" if line.get("active") else "plain")))


def template_row(app: App, template: dict[str, Any]) -> Any:
    stages = template.get("stages", [])
    return html.li({"key": str(template["id"]), "data-id": str(template["id"]), "style": {"padding": "8px 0"}},
                   html.div({"className": "spread"}, html.strong(template.get(f"line_{app.lang}") or ""),
                            chip(app.t("admin.version", number=template.get("number", 1)), "plain")),
                   html.ol({"className": "timeline"}, *[
                       html.li({"key": s["key"]}, s.get(app.lang) or s.get("zh") or "") for s in stages]))


@guarded
def panel(app: App, tab: str) -> Any:
    query = use_query(lambda: load(app, tab), tab)
    state = query_state(app, query)
    if state is not None:
        return state
    items, branches = query.data["items"], query.data["branches"]
    render = {"users": lambda i: user_row(app, i, branches), "branches": lambda i: branch_row(app, i),
              "lines": lambda i: line_row(app, i), "templates": lambda i: template_row(app, i)}[tab]
    return card(html.ul({"className": "list", "id": f"admin-{tab}"}, *[render(i) for i in items]) if items
                else empty(app.t("admin.none")), title=app.t(f"admin.{tab}"), count=len(items))
