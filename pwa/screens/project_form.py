"""Start a project from a client or a won opportunity: business line, title, contract value and the team."""

from __future__ import annotations

import uuid
from typing import Any

from reactpy import html, use_state

from backend.projects.schemas import ProjectCreate
from backend.projects.services import BUSINESS_LINES, PROJECTS, team_candidates
from pwa.screens import forms
from pwa.ui import App, button, form, guarded, query_state, use_query

FIELDS = ("title", "business_line_id", "contract_value", "team_ids", "opportunity_id")


def labels(app: App) -> dict[str, str]:
    return {name: app.t(f"project.field.{name}") for name in FIELDS}


async def load(app: App) -> dict[str, Any]:
    actor = await app.ensure_actor()
    lines = [line for line in (await BUSINESS_LINES.list(actor, limit=100)).items if line.active]
    return {"lines": lines, "people": await team_candidates(actor)}


@guarded
def project_form(app: App, client: dict[str, Any] | None, opportunity: dict[str, Any] | None, on_cancel: Any
                 ) -> Any:
    errors, set_errors = forms.use_form_errors()
    query = use_query(lambda: load(app), "project-form")
    names = labels(app)
    form_id = "project-form"
    state = query_state(app, query)
    if state is not None:
        return state

    async def save(actor: Any, data: Any) -> None:
        line = forms.text(data, "business_line_id")
        values: dict[str, Any] = {
            "title": forms.text(data, "title"), "business_line_id": line or None,
            "contract_value": forms.amount(data, "contract_value", required=False) or 0,
            "team_ids": [key[5:] for key in (data.get("values") or {}) if key.startswith("team_")],
        }
        if not line:
            raise forms.FieldProblem("business_line_id", "required")
        if opportunity is not None:
            values["opportunity_id"] = str(opportunity["id"])
        elif client is not None:
            values["client_id"] = str(client["id"])
        checked = forms.checked(ProjectCreate, values)
        checked["team_ids"] = [uuid.UUID(str(u)) for u in checked.get("team_ids", [])]
        created = await PROJECTS.create(actor, checked)
        app.notify(app.t("project.created"), "ok")
        app.navigate(f"/projects/{created.id}")

    title = (opportunity or {}).get("title") or (client or {}).get("name") or ""
    value = (opportunity or {}).get("value")
    return form(
        forms.submit(app, names, set_errors, save),
        forms.top_error(errors, form_id),
        forms.field("title", names["title"], forms.input_("title", errors, defaultValue=title),
                    errors, form_id),
        forms.field("business_line_id", names["business_line_id"], forms.select(
            "business_line_id", [(str(line.id), line.name_zh if app.lang == "zh" else line.name_en)
                                 for line in query.data["lines"]],
            str(query.data["lines"][0].id) if query.data["lines"] else ""), errors, form_id),
        forms.field("contract_value", names["contract_value"],
                    forms.input_("contract_value", errors, inputMode="decimal",
                                 defaultValue=str(value) if value else ""), errors, form_id),
        html.fieldset({"className": "stack", "data-field": "team_ids", "style": {"border": "0", "padding": 0}},
                      html.legend({"className": "small muted"}, names["team_ids"]),
                      *[html.label({"key": str(p.id), "className": "check",
                                    "style": {"display": "flex", "alignItems": "center", "gap": "10px",
                                              "minHeight": "44px"}},
                                   html.input({"type": "checkbox", "name": f"team_{p.id}",
                                               "style": {"width": "22px", "height": "22px"}}),
                                   html.span(p.display_name, " · ", app.t(f"role.{p.role}")))
                        for p in query.data["people"]],
                      html.span({"className": "message error small", "role": "alert", "data-error": "team_ids"},
                                errors["team_ids"]) if errors.get("team_ids") else ""),
        html.div({"className": "actions"},
                 html.button({"className": "button", "type": "submit", "id": "save-project"}, app.t("common.save")),
                 button(app.t("common.cancel"), lambda *_: on_cancel(), "secondary")),
        className="stack", id=form_id, noValidate=True,
    )


@guarded
def new_project_button(app: App, client: dict[str, Any] | None, opportunity: dict[str, Any] | None = None,
                       key_suffix: str = "") -> Any:
    open_, set_open = use_state(False)
    if not open_:
        return button(app.t("project.new"), lambda *_: set_open(True), "secondary block",
                      id=f"new-project{key_suffix}", **{"data-action": "new-project"})
    return project_form(app, client, opportunity, lambda: set_open(False))
