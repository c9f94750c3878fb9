"""Lifecycle template editor (admin): stages in order, per stage its owner, SLA, reminder, roles told on entry,
guards, milestones and escalation ladder; business hours on or off; a timeline preview; saved as a new version.

The draft lives in the component until it is saved (a reconnect starts again from the stored version); every
change is checked by the service at once, so a refusal names its field (`definition.stages[2].sla_hours`)."""

from __future__ import annotations

import copy
from typing import Any

from reactpy import html, use_state

from backend.accounts.services import USERS
from backend.errors import Conflict, ServiceError
from backend.lifecycle import services as life
from backend.projects.services import BUSINESS_LINES
from pwa.routes import href
from pwa.screens import common
from pwa.ui import (
    App,
    action,
    button,
    card,
    chip,
    empty,
    form,
    form_value,
    guarded,
    link,
    list_link,
    query_state,
    use_live,
    use_query,
)

PARTIES = ("project_owner", "project_manager", "legal", "finance", "branch_manager")
MILESTONE_OWNERS = ("stage_owner", *PARTIES)
TARGETS = ("supervisor", "branch_manager", "role", "user")
LADDER_ROLES = ("legal", "finance", "branch_manager")


def party_name(app: App, party: str) -> str:
    return app.t(f"template.party_{party}")


async def load_lines(app: App) -> dict[str, Any]:
    actor = await app.ensure_actor()
    lines = await common.all_records(actor, BUSINESS_LINES)
    overview = {t["line_zh"]: t for t in await life.templates_overview(actor)}
    return {"lines": lines, "overview": overview}


async def load_editor(app: App, line_id: Any) -> dict[str, Any]:
    actor = await app.ensure_actor()
    line = await common.one(actor, BUSINESS_LINES, line_id)
    people = [u for u in await common.all_records(actor, USERS, filters={"is_active": True}, cap=5000)
              if u["role"] != "admin"]
    return {"line": line, "people": people, **await life.template_editor(actor, line_id)}


def timeline(app: App, definition: dict[str, Any]) -> Any:
    """The stages a new project would follow, each with its owner, deadline and milestone count."""
    return html.ol({"className": "template-timeline", "id": "template-preview"}, *[
        html.li({"key": f"{i}:{s['key']}", "data-key": s["key"]},
                html.strong(s.get(f"name_{app.lang}") or s["name_zh"]),
                html.div({"className": "small muted"},
                         app.t("template.preview_line", owner=party_name(app, s["owner"]), hours=s["sla_hours"],
                               milestones=len(s.get("milestones") or []),
                               steps=len(s.get("escalation") or []))))
        for i, s in enumerate(definition["stages"])])


def versions_list(app: App, versions: list[dict[str, Any]]) -> Any:
    return html.ul({"className": "list small", "id": "template-versions"}, *[
        html.li({"key": str(v["id"]), "data-number": str(v["number"]), "data-running": str(v["running"])},
                html.span(app.t("admin.version", number=v["number"])), " · ",
                html.span(app.t("template.running", count=v["running"])), " · ",
                html.span({"className": "muted"}, app.fmt.datetime(v["created_at"])))
        for v in versions])


def number_input(name: str, label: str, value: Any, **attributes: Any) -> Any:
    return html.label({"className": "field"}, label,
                      html.input({"className": "input", "name": name, "type": "number", "inputMode": "numeric",
                                  "defaultValue": "" if value is None else str(value), **attributes}))


def text_input(name: str, label: str, value: Any, **attributes: Any) -> Any:
    return html.label({"className": "field"}, label,
                      html.input({"className": "input", "name": name, "defaultValue": value or "", **attributes}))


def choice(name: str, label: str, options: list[tuple[str, str]], value: str, **attributes: Any) -> Any:
    return html.label({"className": "field"}, label,
                      html.select({"className": "input", "name": name, "defaultValue": value, **attributes},
                                  *[html.option({"value": v, "key": v or "none"}, t) for v, t in options]))


def tick(name: str, label: str, checked: bool) -> Any:
    return html.label({"className": "tick"}, html.input({"type": "checkbox", "name": name,
                                                          "defaultChecked": checked}), label)


def _int(text: str) -> int | str:
    try:
        return int(text.strip())
    except ValueError:
        return text.strip()  # the service names the field that is not a number


def stage_from_form(values: Any, stage: dict[str, Any]) -> dict[str, Any]:
    """The stage as the form describes it; blank new rows are left out, ticked "remove" rows dropped."""
    get = lambda name: form_value(values, name).strip()  # noqa: E731
    out: dict[str, Any] = {"key": get("key"), "name_zh": get("name_zh"), "name_en": get("name_en"),
                           "owner": get("owner"), "sla_hours": _int(get("sla_hours"))}
    if get("remind_before_hours"):
        out["remind_before_hours"] = _int(get("remind_before_hours"))
    out["notify_on_entry"] = [p for p in PARTIES if get(f"notify__{p}")]
    milestones = []
    for j in range(len(stage.get("milestones") or []) + 1):
        row = {k: get(f"m{j}_{k}") for k in ("key", "title_zh", "title_en", "owner", "sla_hours")}
        if get(f"m{j}_remove") or not (row["key"] or row["title_zh"] or row["title_en"]):
            continue
        milestone: dict[str, Any] = {"key": row["key"], "title_zh": row["title_zh"], "title_en": row["title_en"],
                                     "owner": row["owner"] or "stage_owner"}
        if row["sla_hours"]:
            milestone["sla_hours"] = _int(row["sla_hours"])
        old = (stage.get("milestones") or [])[j] if j < len(stage.get("milestones") or []) else {}
        if old.get("auto"):
            milestone["auto"] = old["auto"]
        milestones.append(milestone)
    out["milestones"] = milestones
    out["requires"] = [name.split("__", 1)[1] for name in (values.get("values") or {}) if name.startswith("requires__")]
    ladder = []
    for j in range(len(stage.get("escalation") or []) + 1):
        after, to = get(f"e{j}_after_hours"), get(f"e{j}_to")
        if get(f"e{j}_remove") or not after or not to:
            continue
        step: dict[str, Any] = {"after_hours": _int(after), "to": to}
        if to == "role":
            step["role"] = get(f"e{j}_role")
        if to == "user":
            step["user_id"] = get(f"e{j}_user_id")
        ladder.append(step)
    out["escalation"] = ladder
    return out


def milestone_rows(app: App, stage: dict[str, Any]) -> list[Any]:
    rows = []
    owners = [(o, party_name(app, o)) for o in MILESTONE_OWNERS]
    for j, m in enumerate([*(stage.get("milestones") or []), {}]):
        new = not m
        rows.append(html.fieldset(
            {"className": "template-row", "key": f"m{j}", "data-row": "new" if new else m["key"],
             "id": "new-milestone" if new else f"milestone-{m['key']}"},
            html.legend(app.t("template.new_milestone") if new else m["key"]),
            text_input(f"m{j}_key", app.t("template.key"), m.get("key"), maxLength=32, translate="no",
                       autoCapitalize="none"),
            text_input(f"m{j}_title_zh", app.t("template.title_zh"), m.get("title_zh"), maxLength=100),
            text_input(f"m{j}_title_en", app.t("template.title_en"), m.get("title_en"), maxLength=100),
            html.div({"className": "admin-filter-row"},
                     choice(f"m{j}_owner", app.t("template.owner"), owners, m.get("owner") or "stage_owner"),
                     number_input(f"m{j}_sla_hours", app.t("template.sla_hours"), m.get("sla_hours"))),
            "" if new else tick(f"m{j}_remove", app.t("template.remove"), False)))
    return rows


def ladder_rows(app: App, stage: dict[str, Any], people: list[dict[str, Any]]) -> list[Any]:
    rows = []
    targets = [(t, app.t(f"template.to_{t}")) for t in TARGETS]
    roles = [("", "—")] + [(r, app.t(f"role.{r}")) for r in LADDER_ROLES]
    users = [("", "—")] + [(str(u["id"]), f"{u['display_name']} · {app.t('role.' + u['role'])}") for u in people]
    for j, step in enumerate([*(stage.get("escalation") or []), {}]):
        new = not step
        rows.append(html.fieldset(
            {"className": "template-row", "key": f"e{j}", "id": "new-step" if new else f"step-{j}"},
            html.legend(app.t("template.new_step") if new else app.t("template.step", level=j + 1)),
            html.div({"className": "admin-filter-row"},
                     number_input(f"e{j}_after_hours", app.t("template.after_hours"), step.get("after_hours")),
                     choice(f"e{j}_to", app.t("template.to"), [("", "—"), *targets] if new else targets,
                            step.get("to") or "")),
            html.div({"className": "admin-filter-row"},
                     choice(f"e{j}_role", app.t("template.role"), roles, step.get("role") or ""),
                     choice(f"e{j}_user_id", app.t("template.user"), users, str(step.get("user_id") or ""))),
            "" if new else tick(f"e{j}_remove", app.t("template.remove"), False)))
    return rows


def stage_form(app: App, definition: dict[str, Any], index: int, people: list[dict[str, Any]],
               on_apply: Any, on_close: Any) -> Any:
    stage = definition["stages"][index]
    earlier = [m["key"] for s in definition["stages"][:index + 1] for m in (s.get("milestones") or [])]
    return form(
        on_apply,
        html.div({"className": "admin-filter-row"},
                 text_input("name_zh", app.t("template.name_zh"), stage["name_zh"], required=True, maxLength=100),
                 text_input("name_en", app.t("template.name_en"), stage["name_en"], required=True, maxLength=100)),
        html.div({"className": "admin-filter-row"},
                 text_input("key", app.t("template.key"), stage["key"], required=True, maxLength=32, translate="no",
                            autoCapitalize="none"),
                 choice("owner", app.t("template.owner"), [(p, party_name(app, p)) for p in PARTIES],
                        stage["owner"])),
        html.div({"className": "admin-filter-row"},
                 number_input("sla_hours", app.t("template.sla_hours"), stage["sla_hours"], id="stage-sla"),
                 number_input("remind_before_hours", app.t("template.remind_before_hours"),
                              stage.get("remind_before_hours") or "")),
        html.fieldset({"className": "template-row"}, html.legend(app.t("template.notify_on_entry")),
                      *[tick(f"notify__{p}", party_name(app, p), p in (stage.get("notify_on_entry") or []))
                        for p in PARTIES]),
        html.fieldset({"className": "template-row", "id": "stage-guards"}, html.legend(app.t("template.requires")),
                      *([tick(f"requires__{k}", k, k in (stage.get("requires") or [])) for k in earlier]
                        or [html.p({"className": "small muted"}, app.t("template.no_milestones_yet"))])),
        html.h3({"className": "section-title"}, app.t("template.milestones")),
        *milestone_rows(app, stage),
        html.h3({"className": "section-title"}, app.t("template.escalation")),
        *ladder_rows(app, stage, people),
        html.div({"className": "actions"},
                 html.button({"className": "button", "type": "submit", "id": "apply-stage"}, app.t("template.apply")),
                 button(app.t("common.cancel"), lambda *_: on_close(), "secondary")),
        className="stack stage-form", id="stage-form", key=f"stage-{index}-{stage['key']}",
    )


@guarded
def editor(app: App, loaded: dict[str, Any], on_saved: Any) -> Any:
    draft, set_draft = use_state(lambda: copy.deepcopy(loaded["definition"]))
    opened, set_opened = use_state(None)
    problem, set_problem = use_state(None)
    warnings, set_warnings = use_state(lambda: [])
    live = use_live()
    stages = draft["stages"]

    async def checked(actor: Any, candidate: dict[str, Any]) -> bool:
        try:
            found = await life.check_template(candidate)
        except ServiceError as exc:
            live(set_problem)({"field": exc.field or "", "text": exc.message})
            return False
        live(set_problem)(None)
        live(set_warnings)(found["warnings"])
        return True

    async def apply(actor: Any, values: Any) -> None:
        candidate = copy.deepcopy(draft)
        candidate["stages"][opened] = stage_from_form(values, draft["stages"][opened])
        live(set_draft)(candidate)  # kept even when refused, so the admin corrects rather than retypes
        if await checked(actor, candidate):
            live(set_opened)(None)

    def change(mutate: Any) -> Any:
        async def run(actor: Any, _: Any) -> None:
            candidate = copy.deepcopy(draft)
            mutate(candidate)
            live(set_draft)(candidate)
            await checked(actor, candidate)
        return action(app, run)

    def add_stage(candidate: dict[str, Any]) -> None:
        n = len(candidate["stages"]) + 1
        candidate["stages"].append({"key": f"stage_{n}", "name_zh": f"新阶段 {n}", "name_en": f"New stage {n}",
                                    "owner": "project_owner", "sla_hours": 72})
        set_opened(len(candidate["stages"]) - 1)

    def move(i: int, by: int) -> Any:
        def mutate(candidate: dict[str, Any]) -> None:
            items = candidate["stages"]
            items[i], items[i + by] = items[i + by], items[i]
        return change(mutate)

    def remove(i: int) -> Any:
        return change(lambda candidate: candidate["stages"].pop(i))

    def toggle_hours(candidate: dict[str, Any]) -> None:
        candidate["business_hours"] = not candidate.get("business_hours", False)

    async def save(actor: Any, _: Any) -> None:
        if not await checked(actor, draft):
            return
        try:
            saved = await life.save_template(actor, loaded["line"]["id"], draft, loaded["number"])
        except Conflict as exc:
            changes = (exc.extra or {}).get("diff") or []
            live(set_problem)({"field": "based_on", "text": app.t("template.stale", number=loaded["number"]),
                               "diff": changes})
            return
        except ServiceError as exc:
            live(set_problem)({"field": exc.field or "", "text": exc.message})
            return
        app.notify(app.t("template.saved", number=saved["number"]), "ok")
        on_saved()

    stage_items = []
    for i, s in enumerate(stages):
        stage_items.append(html.li(
            {"key": f"{i}:{s['key']}", "className": "template-stage", "data-key": s["key"]},
            html.div({"className": "spread"}, html.strong(f"{i + 1}. ", s.get(f"name_{app.lang}") or s["name_zh"]),
                     chip(party_name(app, s["owner"]), "plain")),
            html.div({"className": "small muted"}, app.t("template.stage_meta", hours=s["sla_hours"],
                                                         milestones=len(s.get("milestones") or []),
                                                         steps=len(s.get("escalation") or []))),
            stage_form(app, draft, i, loaded["people"], action(app, apply), lambda: set_opened(None))
            if opened == i else
            html.div({"className": "actions template-stage-actions"},
                     button(app.t("template.edit_stage"), lambda *_, i=i: set_opened(i), "secondary",
                            **{"data-action": "edit"}),
                     button("↑", move(i, -1), "secondary", disabled=i == 0, **{"aria-label": app.t("template.up")}),
                     button("↓", move(i, 1), "secondary", disabled=i == len(stages) - 1,
                            **{"aria-label": app.t("template.down")}),
                     button(app.t("template.remove"), remove(i), "secondary", **{"data-action": "remove"}))))
    messages: list[Any] = []
    if problem:
        messages.append(html.div({"className": "message error", "role": "alert", "id": "template-error",
                                  "data-field": problem["field"]},
                                 html.p(html.code({"translate": "no"}, problem["field"]), " ", problem["text"])
                                 if problem["field"] else html.p(problem["text"]),
                                 html.ul({"id": "template-diff"}, *[html.li({"key": d}, d)
                                                                   for d in problem.get("diff") or []])))
    for w in warnings:
        messages.append(html.p({"className": "message warn", "key": w["field"], "data-field": w["field"],
                                "data-warning": "ladder-role"},
                               app.t("template.warn_role", role=app.t(f"role.{w['role']}"),
                                     branches="、".join(w["branches"]) if app.lang == "zh"
                                     else ", ".join(w["branches"]))))
    line = loaded["line"]
    back = link(href("/admin", tab="templates"), "‹ ", app.t("admin.back_to_list"), class_name="admin-back",
                id="back-to-templates")
    return html.div(
        {"className": "template-page"}, back, html.div(
        {"className": "admin-columns both template-editor", "id": "template-editor",
         "data-line": str(line["id"])},
        card(html.p({"className": "small muted"}, app.t("template.based_on", number=loaded["number"])),
             versions_list(app, loaded["versions"]),
             html.h3({"className": "section-title"}, app.t("template.preview")),
             timeline(app, draft),
             title=line.get(f"name_{app.lang}") or line["name_zh"], id="template-overview"),
        html.div({"className": "admin-detail"},
                 card(*messages,
                      html.div({"className": "actions"},
                               button(app.t("template.business_hours_on") if draft.get("business_hours")
                                      else app.t("template.business_hours_off"), change(toggle_hours), "secondary",
                                      id="business-hours", role="switch",
                                      **{"aria-checked": str(bool(draft.get("business_hours"))).lower()})),
                      html.ol({"className": "list", "id": "template-stages"}, *stage_items),
                      html.div({"className": "actions"},
                               button(app.t("template.add_stage"), change(add_stage), "secondary", id="add-stage"),
                               button(app.t("template.save"), action(app, save), id="save-template")),
                      title=app.t("template.stages"), count=len(stages))),
    ))


@guarded
def panel(app: App) -> Any:
    line_id = common.parse_uuid(app.route.param("line"))
    if line_id is not None:
        return editor_panel(app, line_id, key=str(line_id))
    query = use_query(lambda: load_lines(app), "lines")
    state = query_state(app, query)
    if state is not None:
        return state
    lines = query.data["lines"]
    overview = query.data["overview"]
    items = []
    for line in lines:
        current = overview.get(line["name_zh"], {})
        items.append(html.li({"key": str(line["id"]), "className": "template-line", "data-id": str(line["id"])},
                             list_link(href("/admin", tab="templates", line=str(line["id"])),
                                       line.get(f"name_{app.lang}") or line["name_zh"],
                                       " → ".join(s.get(app.lang) or s.get("zh") or "" for s in
                                                  current.get("stages", [])),
                                       below=[chip(app.t("admin.version", number=current.get("number", 1)),
                                                   "plain")])))
    return card(html.ul({"className": "list", "id": "admin-templates"}, *items) if items
                else empty(app.t("admin.none")), title=app.t("admin.templates"), count=len(items))


@guarded
def editor_panel(app: App, line_id: Any) -> Any:
    query = use_query(lambda: load_editor(app, line_id), str(line_id))
    state = query_state(app, query)
    if state is not None:
        return state
    return editor(app, query.data, query.reload, key=f"{line_id}:{query.data['number']}")
