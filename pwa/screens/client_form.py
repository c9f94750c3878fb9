"""New client and edit client (budget, preferences, tags, private notes), each refusal under its field."""

from __future__ import annotations

import re
from typing import Any, get_args

from reactpy import html, use_state

from backend.clients.schemas import ClientCreate, ClientUpdate, Intent, Source
from backend.clients.services import CLIENTS
from pwa.screens import forms
from pwa.screens.common import label
from pwa.ui import App, button, form, guarded

FIELDS = ("name", "phone", "intent", "budget_min", "budget_max", "area_preference", "source", "tags",
          "private_notes")
_TAG_SPLIT = re.compile(r"[,，、;；\s]+")
INTENTS, SOURCES = get_args(Intent), get_args(Source)


def labels(app: App) -> dict[str, str]:
    return {name: app.t(f"client.field.{name}") for name in FIELDS}


def parsed(data: Any) -> dict[str, Any]:
    return {
        "name": forms.text(data, "name"), "phone": forms.text(data, "phone"), "intent": forms.text(data, "intent"),
        "budget_min": forms.whole_number(data, "budget_min"), "budget_max": forms.whole_number(data, "budget_max"),
        "area_preference": forms.text(data, "area_preference"), "source": forms.text(data, "source"),
        "tags": [tag for tag in _TAG_SPLIT.split(forms.text(data, "tags")) if tag],
        "private_notes": forms.text(data, "private_notes"),
    }


@guarded
def client_form(app: App, client: dict[str, Any] | None, on_saved: Any, on_cancel: Any) -> Any:
    """`client` None: a new client (on_saved gets the new record); else an edit sending only what changed."""
    errors, set_errors = forms.use_form_errors()
    names = labels(app)
    form_id = "client-form"
    current = client or {}

    async def save(actor: Any, data: Any) -> None:
        values = parsed(data)
        if client is None:
            checked = forms.checked(ClientCreate, values)
            saved = await CLIENTS.create(actor, checked)
        else:
            changes = {k: v for k, v in values.items() if v != current.get(k) and not (v == "" and not current.get(k))}
            checked = forms.checked(ClientUpdate, {**changes, "version": client["version"]})
            checked.pop("version", None)
            saved = await CLIENTS.update(actor, client["id"], client["version"], checked) if checked else None
        app.notify(app.t("client.saved"), "ok")
        on_saved(saved)

    def control(name: str, **attributes: Any) -> Any:
        value = current.get(name)
        return forms.input_(name, errors, defaultValue="" if value is None else str(value), **attributes)

    return form(
        forms.submit(app, names, set_errors, save),
        forms.top_error(errors, form_id),
        forms.field("name", names["name"], control("name", autoComplete="off"), errors, form_id),
        forms.field("phone", names["phone"], control("phone", type="tel", inputMode="tel"), errors,
                    form_id),
        forms.field("intent", names["intent"], forms.select(
            "intent", [(i, label(app.lang, "intent", i)) for i in INTENTS], current.get("intent") or "buy"),
            errors, form_id),
        html.div({"className": "row", "style": {"gap": "8px", "alignItems": "flex-start"}},
                 forms.field("budget_min", names["budget_min"], control("budget_min", inputMode="numeric"), errors,
                             form_id),
                 forms.field("budget_max", names["budget_max"], control("budget_max", inputMode="numeric"), errors,
                             form_id)),
        forms.field("area_preference", names["area_preference"], control("area_preference"), errors,
                    form_id),
        forms.field("source", names["source"], forms.select(
            "source", [(s, label(app.lang, "source", s)) for s in SOURCES], current.get("source") or "other"),
            errors, form_id),
        forms.field("tags", names["tags"], forms.input_("tags", errors,
                                                        defaultValue="、".join(current.get("tags") or [])),
                    errors, form_id, hint=app.t("client.tags_hint")),
        forms.field("private_notes", names["private_notes"], html.textarea(
            {"className": "input", "name": "private_notes", "rows": 3,
             "defaultValue": current.get("private_notes") or ""}), errors, form_id),
        html.div({"className": "actions"},
                 html.button({"className": "button", "type": "submit", "id": "save-client"}, app.t("common.save")),
                 button(app.t("common.cancel"), lambda *_: on_cancel(), "secondary")),
        className="stack", id=form_id, noValidate=True,
    )


@guarded
def new_client_button(app: App) -> Any:
    """The clients screen's 新建客户 / New client: the form opens in place; saving opens the new client."""
    open_, set_open = use_state(False)
    if not open_:
        return button(app.t("clients.new"), lambda *_: set_open(True), "block", id="new-client")
    return html.section({"className": "card"}, html.h2({"className": "section-title"}, app.t("clients.new")),
                        client_form(app, None, lambda saved: app.navigate(f"/clients/{saved.id}"),
                                    lambda: set_open(False)))
