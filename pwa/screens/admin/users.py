"""Users (admin): search and filter by branch and role; create with a one-time password shown once; change role,
branch and supervisor; reset a password; deactivate after saying who takes over the open work."""

from __future__ import annotations

from typing import Any

from reactpy import html, use_state

from backend.accounts import services as accounts
from backend.accounts.services import BRANCHES, USERS
from backend.errors import ServiceError
from backend.handover import services as handover
from backend.specs import ROLES
from pwa.routes import href
from pwa.screens import common
from pwa.ui import (
    App,
    action,
    button,
    card,
    chip,
    empty,
    error_text,
    form,
    form_value,
    guarded,
    link,
    list_link,
    query_state,
    use_live,
    use_query,
)

WORK_KINDS = ("client", "opportunity", "project", "visit", "milestone")


def users_href(app: App, **changes: str | None) -> str:
    params = {k: app.route.param(k) for k in ("q", "branch", "role", "user")} | changes
    return href("/admin", tab="users", **params)


async def load(app: App) -> dict[str, Any]:
    actor = await app.ensure_actor()
    branches = await common.all_records(actor, BRANCHES)
    everyone = await common.all_records(actor, USERS, cap=5000)
    q, branch, role = (app.route.param(k).strip().lower() for k in ("q", "branch", "role"))
    shown = [u for u in everyone
             if (not q or q in u["username"].lower() or q in u["display_name"].lower())
             and (not branch or str(u["branch_id"]) == branch) and (not role or u["role"] == role)]
    shown.sort(key=lambda u: (not u["is_active"], u["display_name"], u["username"]))
    return {"users": shown, "everyone": {u["id"]: u for u in everyone}, "total": len(everyone),
            "branches": {b["id"]: b["name"] for b in branches}}


def field_error(app: App, error: dict[str, str] | None) -> Any:
    """A refusal under the form, naming the field it is about (data-field lets tests and screen readers find it)."""
    if not error:
        return ""
    label = app.t(f"admin.field_{error['field']}") if error.get("field") else ""
    return html.p({"className": "message error", "role": "alert", "id": "user-form-error",
                   "data-field": error.get("field") or ""}, f"{label}: {error['text']}" if label else error["text"])


def refusal(app: App, exc: ServiceError) -> dict[str, str]:
    field = (exc.field or "").split(".")[0]
    return {"field": field if app.t(f"admin.field_{field}") != f"admin.field_{field}" else "",
            "text": error_text(app, exc) if error_text(app, exc) != app.t("error.unexpected") else exc.message}


def select(name: str, label: str, options: list[tuple[str, str]], current: str = "", **attributes: Any) -> Any:
    return html.label({"className": "field"}, label,
                      html.select({"className": "input", "name": name, "defaultValue": current, **attributes},
                                  *[html.option({"value": value, "key": value or "none"}, text)
                                    for value, text in options]))


def text_input(name: str, label: str, current: str = "", **attributes: Any) -> Any:
    return html.label({"className": "field"}, label,
                      html.input({"className": "input", "name": name, "defaultValue": current, **attributes}))


def role_options(app: App) -> list[tuple[str, str]]:
    return [(role, app.t(f"role.{role}")) for role in ROLES]


def supervisor_options(app: App, data: dict[str, Any], user_id: Any = None) -> list[tuple[str, str]]:
    people = sorted((u for u in data["everyone"].values() if u["is_active"] and u["id"] != user_id),
                    key=lambda u: u["display_name"])
    return [("", app.t("admin.no_supervisor"))] + [
        (str(u["id"]), f"{u['display_name']} · {app.t('role.' + u['role'])}") for u in people]


def filters(app: App, data: dict[str, Any]) -> Any:
    def apply(data_: Any) -> None:
        app.navigate(users_href(app, q=form_value(data_, "q").strip() or None, branch=form_value(data_, "branch"),
                                role=form_value(data_, "role"), user=None), True)

    branches = [("", app.t("admin.all_branches"))] + [(str(k), v) for k, v in data["branches"].items()]
    return form(apply,
                html.input({"className": "input", "type": "search", "name": "q", "id": "user-search",
                            "defaultValue": app.route.param("q"), "placeholder": app.t("admin.search_users"),
                            "aria-label": app.t("admin.search_users")}),
                html.div({"className": "admin-filter-row"},
                         html.select({"className": "input", "name": "branch", "id": "user-branch-filter",
                                      "aria-label": app.t("admin.field_branch_id"),
                                      "defaultValue": app.route.param("branch")},
                                     *[html.option({"value": v, "key": v or "all"}, t) for v, t in branches]),
                         html.select({"className": "input", "name": "role", "id": "user-role-filter",
                                      "aria-label": app.t("admin.field_role"), "defaultValue": app.route.param("role")},
                                     *[html.option({"value": v, "key": v or "all"}, t)
                                       for v, t in [("", app.t("admin.all_roles")), *role_options(app)]])),
                html.button({"className": "button secondary", "type": "submit", "id": "user-filter-apply"},
                            app.t("admin.apply_filter")),
                className="stack", id="user-filters")


def user_row(app: App, user: dict[str, Any], branches: dict[Any, str], selected: str) -> Any:
    flags = [chip(app.t(f"role.{user['role']}"), "plain")]
    if not user["is_active"]:
        flags.append(chip(app.t("admin.disabled"), "danger"))
    if user.get("must_change_password"):
        flags.append(chip(app.t("admin.password_pending"), ""))
    return html.li({"key": str(user["id"]), "className": "user-row", "data-id": str(user["id"]),
                    "data-username": user["username"],
                    **({"aria-current": "true"} if selected == str(user["id"]) else {})},
                   list_link(users_href(app, user=str(user["id"])), user["display_name"],
                     html.span(html.span({"translate": "no"}, user["username"]), " · ",
                               branches.get(user["branch_id"], "")), below=flags))


@guarded
def one_time_notice(app: App, issued: dict[str, Any]) -> Any:
    return html.div({"className": "message ok one-time", "role": "status", "id": "one-time-password-box"},
                    html.p(app.t("admin.one_time_intro", name=issued["display_name"])),
                    html.p(html.code({"id": "one-time-password", "translate": "no"}, issued["password"])),
                    html.p({"className": "small muted"}, app.t("admin.one_time_once")))


@guarded
def create_form(app: App, data: dict[str, Any], on_saved: Any) -> Any:
    error, set_error = use_state(None)
    issued, set_issued = use_state(None)
    live = use_live()

    async def create(actor: Any, values: Any) -> None:
        chosen = {k: form_value(values, k).strip() for k in ("username", "display_name", "role", "branch_id",
                                                             "supervisor_id", "language")}
        try:
            made = await accounts.create_user_with_one_time_password(actor, {
                "username": chosen["username"], "display_name": chosen["display_name"], "role": chosen["role"],
                "branch_id": common.parse_uuid(chosen["branch_id"]),
                "supervisor_id": common.parse_uuid(chosen["supervisor_id"]), "language": chosen["language"]})
        except ServiceError as exc:
            live(set_error)(refusal(app, exc))
            return
        live(set_error)(None)
        live(set_issued)({"display_name": made.user.display_name, "password": made.one_time_password,
                          "id": str(made.user.id)})
        on_saved()

    if issued:
        return card(one_time_notice(app, issued),
                    html.div({"className": "actions"},
                             link(users_href(app, user=issued["id"]), app.t("admin.open_user"), class_name="button"),
                             button(app.t("admin.new_user"), lambda *_: set_issued(None), "secondary")),
                    title=app.t("admin.new_user"), id="user-form")
    branches = [(str(k), v) for k, v in data["branches"].items()]
    return card(form(action(app, create),
                     field_error(app, error),
                     text_input("username", app.t("admin.field_username"), required=True, maxLength=64,
                                autoComplete="off", autoCapitalize="none", translate="no", id="new-username"),
                     text_input("display_name", app.t("admin.field_display_name"), required=True, maxLength=100,
                                id="new-display-name"),
                     select("role", app.t("admin.field_role"), role_options(app), "agent", id="new-role"),
                     select("branch_id", app.t("admin.field_branch_id"), branches,
                            app.route.param("branch") or (branches[0][0] if branches else ""), id="new-branch"),
                     select("supervisor_id", app.t("admin.field_supervisor_id"), supervisor_options(app, data),
                            id="new-supervisor"),
                     select("language", app.t("settings.language"),
                            [("", app.t("settings.lang_auto")), ("zh", app.t("settings.lang_zh")),
                             ("en", app.t("settings.lang_en"))]),
                     html.button({"className": "button", "type": "submit", "id": "create-user"},
                                 app.t("admin.create_user")),
                     className="stack"),
                title=app.t("admin.new_user"), id="user-form")


@guarded
def edit_form(app: App, user: dict[str, Any], data: dict[str, Any], on_saved: Any) -> Any:
    error, set_error = use_state(None)
    issued, set_issued = use_state(None)
    leaving, set_leaving = use_state(False)
    live = use_live()
    branches = [(str(k), v) for k, v in data["branches"].items()]

    async def save(actor: Any, values: Any) -> None:
        changes: dict[str, Any] = {}
        for name in ("display_name", "role"):
            value = form_value(values, name).strip()
            if value and value != user[name]:
                changes[name] = value
        branch = common.parse_uuid(form_value(values, "branch_id"))
        if branch and branch != user["branch_id"]:
            changes["branch_id"] = branch
        supervisor = common.parse_uuid(form_value(values, "supervisor_id"))
        if supervisor != user["supervisor_id"]:
            changes["supervisor_id"] = supervisor
        if not changes:
            return
        try:
            await USERS.update(actor, user["id"], user["version"], changes)
        except ServiceError as exc:
            live(set_error)(refusal(app, exc))
            return
        live(set_error)(None)
        app.notify(app.t("admin.saved"), "ok")
        on_saved()

    async def reset(actor: Any, _: Any) -> None:
        try:
            made = await accounts.reset_password(actor, user["id"], user["version"])
        except ServiceError as exc:
            live(set_error)(refusal(app, exc))
            return
        live(set_issued)({"display_name": user["display_name"], "password": made.one_time_password})
        on_saved()

    async def reactivate(actor: Any, _: Any) -> None:
        await USERS.update(actor, user["id"], user["version"], {"is_active": True})
        app.notify(app.t("admin.saved"), "ok")
        on_saved()

    status = [chip(app.t("admin.active") if user["is_active"] else app.t("admin.disabled"),
                   "ok" if user["is_active"] else "danger")]
    if user.get("must_change_password"):
        status.append(chip(app.t("admin.password_pending")))
    return card(
        html.div({"className": "row small muted"}, html.span({"translate": "no"}, user["username"]), *status),
        one_time_notice(app, issued) if issued else "",
        form(action(app, save),
             field_error(app, error),
             text_input("display_name", app.t("admin.field_display_name"), user["display_name"], required=True,
                        maxLength=100),
             select("role", app.t("admin.field_role"), role_options(app), user["role"], id="edit-role"),
             select("branch_id", app.t("admin.field_branch_id"), branches, str(user["branch_id"]), id="edit-branch"),
             select("supervisor_id", app.t("admin.field_supervisor_id"), supervisor_options(app, data, user["id"]),
                    str(user["supervisor_id"] or ""), id="edit-supervisor"),
             html.button({"className": "button", "type": "submit", "id": "save-user"}, app.t("common.save")),
             className="stack", key=f"edit-{user['version']}"),
        html.div({"className": "actions admin-user-actions"},
                 button(app.t("admin.reset_password"), action(app, reset), "secondary", id="reset-password"),
                 button(app.t("admin.deactivate"), lambda *_: set_leaving(True), "danger", id="deactivate",
                        disabled=not user["is_active"]) if user["is_active"]
                 else button(app.t("admin.reactivate"), action(app, reactivate), "secondary", id="reactivate")),
        departure_form(app, user, on_saved) if leaving and user["is_active"] else "",
        title=user["display_name"], id="user-form", **{"data-id": str(user["id"])},
    )


@guarded
def departure_form(app: App, user: dict[str, Any], on_saved: Any) -> Any:
    """Before deactivating: how much open work the user owns (counts only) and, per kind, who takes it."""
    query = use_query(lambda: departure(app, user["id"]), str(user["id"]), user["version"])
    error, set_error = use_state(None)
    live = use_live()
    state = query_state(app, query)
    if state is not None:
        return state
    counts, candidates = query.data["counts"], query.data["candidates"]

    async def deactivate(actor: Any, values: Any) -> None:
        targets = {kind: target for kind in counts if (target := common.parse_uuid(form_value(values, kind)))}
        try:
            await handover.deactivate_with_handover(actor, user["id"], user["version"], targets)
        except ServiceError as exc:
            live(set_error)(refusal(app, exc))
            return
        app.notify(app.t("admin.deactivated", name=user["display_name"]), "ok")
        on_saved()

    rows = []
    for kind in WORK_KINDS:
        if not counts.get(kind):
            continue
        options = [(str(u["id"]), f"{u['display_name']} · {app.t('role.' + u['role'])}") for u in candidates[kind]]
        rows.append(html.div({"className": "handover-kind", "key": kind, "data-kind": kind},
                             select(kind, app.t(f"admin.work_{kind}", count=counts[kind]),
                                    options or [("", app.t("admin.nobody_may_take"))], options[0][0] if options else "",
                                    **{"data-kind": kind})))
    intro = app.t("admin.open_work_intro", name=user["display_name"]) if rows else app.t("admin.no_open_work")
    return form(action(app, deactivate),
                html.p({"className": "small"}, intro),
                field_error(app, error),
                *rows,
                html.div({"className": "actions"},
                         html.button({"className": "button danger", "type": "submit", "id": "confirm-deactivate"},
                                     app.t("admin.reassign_and_deactivate") if rows else app.t("admin.deactivate"))),
                className="stack departure", id="departure-form")


async def departure(app: App, user_id: Any) -> dict[str, Any]:
    return await handover.departure(await app.ensure_actor(), user_id)


@guarded
def panel(app: App) -> Any:
    query = use_query(lambda: load(app), *(app.route.param(k) for k in ("q", "branch", "role")))
    state = query_state(app, query)
    if state is not None:
        return state
    data = query.data
    selected = app.route.param("user")
    editing = data["everyone"].get(common.parse_uuid(selected)) if selected and selected != "new" else None
    listing = card(
        filters(app, data),
        html.div({"className": "actions"},
                 link(users_href(app, user="new"), app.t("admin.new_user"), class_name="button", id="new-user")),
        html.ul({"className": "list", "id": "admin-users"},
                *[user_row(app, u, data["branches"], selected) for u in data["users"]])
        if data["users"] else empty(app.t("admin.none")),
        title=app.t("admin.users"), count=len(data["users"]), className="card admin-list",
    )
    if selected == "new":
        detail = create_form(app, data, query.reload, key="new")
    elif editing is not None:
        detail = edit_form(app, editing, data, query.reload, key=f"{editing['id']}:{editing['version']}")
    else:
        return html.div({"className": "admin-columns"}, listing)
    back = link(users_href(app, user=None), "‹ ", app.t("admin.back_to_list"), class_name="admin-back",
                id="back-to-users")
    return html.div({"className": "admin-columns has-detail"}, listing,
                    html.div({"className": "admin-detail"}, back, detail))
