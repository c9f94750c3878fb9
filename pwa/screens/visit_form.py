"""Schedule a visit for a client, or move one: the time is read in the branch's time zone, and a clash with another
of the agent's planned visits is flagged under the time before anything is saved (saving again keeps it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from reactpy import html, use_state

from backend.visits.schemas import VisitCreate, VisitUpdate
from backend.visits.services import VISITS, clashes
from pwa.screens import forms
from pwa.ui import App, button, form, guarded

FIELDS = ("scheduled_at", "duration_minutes", "address", "summary")


def labels(app: App) -> dict[str, str]:
    return {name: app.t(f"visit.field.{name}") for name in FIELDS}


@guarded
def visit_form(app: App, client: dict[str, Any], visit: dict[str, Any] | None, on_saved: Any, on_cancel: Any) -> Any:
    errors, set_errors = forms.use_form_errors()
    warned, set_warned = use_state("")
    names = labels(app)
    form_id = "visit-form"
    current = visit or {}

    async def save(actor: Any, data: Any) -> None:
        start = forms.local_time(app, data, "scheduled_at")
        minutes = forms.whole_number(data, "duration_minutes")
        values: dict[str, Any] = {"scheduled_at": start, "duration_minutes": 60 if minutes is None else minutes,
                                  "address": forms.text(data, "address")}
        if visit is None:
            values["summary"] = forms.text(data, "summary")
            checked = forms.checked(VisitCreate, {**values, "client_id": client["id"]})
        else:
            checked = forms.checked(VisitUpdate, {**values, "version": visit["version"]})
            checked.pop("version", None)
        owner = visit["owner_id"] if visit else actor.id
        fingerprint = f"{start.isoformat()}/{checked['duration_minutes']}"
        found = await clashes(actor, owner, start, checked["duration_minutes"], visit["id"] if visit else None)
        if found and warned != fingerprint:
            set_warned(fingerprint)
            other = found[0]
            raise forms.FieldProblem("scheduled_at", "clash", time=app.fmt.datetime(other.scheduled_at),
                                     address=other.address)
        if visit is None:
            saved = await VISITS.create(actor, {**checked, "client_id": client["id"]})
        else:
            saved = await VISITS.update(actor, visit["id"], visit["version"], checked)
        app.notify(app.t("visit.saved"), "ok")
        on_saved(saved)

    start_value = forms.local_input(app, current.get("scheduled_at")) or forms.local_input(
        app, (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(minute=0, second=0, microsecond=0))
    return form(
        forms.submit(app, names, set_errors, save),
        forms.top_error(errors, form_id),
        forms.field("scheduled_at", names["scheduled_at"],
                    forms.input_("scheduled_at", errors, type="datetime-local", defaultValue=start_value),
                    errors, form_id, hint=app.t("visit.timezone", zone=str(app.fmt.tz))),
        forms.field("duration_minutes", names["duration_minutes"],
                    forms.input_("duration_minutes", errors, inputMode="numeric",
                                 defaultValue=str(current.get("duration_minutes") or 60)), errors, form_id),
        forms.field("address", names["address"],
                    forms.input_("address", errors,
                                 defaultValue=current.get("address") or client.get("area_preference") or ""),
                    errors, form_id),
        forms.field("summary", names["summary"], html.textarea({"className": "input", "name": "summary", "rows": 2}),
                    errors, form_id) if visit is None else "",
        html.div({"className": "actions"},
                 html.button({"className": "button", "type": "submit", "id": "save-visit"}, app.t("common.save")),
                 button(app.t("common.cancel"), lambda *_: on_cancel(), "secondary")),
        className="stack", id=form_id, noValidate=True,
    )
