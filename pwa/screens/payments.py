"""A project's payments (回款) with their undo: correct the amount, date or method, or void one recorded by
mistake — each with the reason; the refusal says what is wrong beside the field ("above the outstanding ¥12,000")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from reactpy import html, use_state

from backend.lifecycle import services as life
from pwa.screens import forms
from pwa.ui import App, button, chip, empty, form, guarded, query_state, use_query

METHODS = ("bank_transfer", "alipay", "wechat_pay", "cash", "cheque", "card", "other")


def labels(app: App) -> dict[str, str]:
    return {"amount": app.t("finance.amount"), "received_on": app.t("finance.received_on"),
            "method": app.t("finance.method"), "note": app.t("finance.note"), "reason": app.t("finance.reason")}


def received_date(app: App, data: Any) -> dt.date:
    raw = forms.text(data, "received_on")
    if not raw:
        return dt.datetime.now(app.fmt.tz).date()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise forms.FieldProblem("received_on", "time") from None


def reason_of(data: Any) -> str:
    reason = forms.text(data, "reason")
    if not reason:
        raise forms.FieldProblem("reason", "reason_needed")
    if len(reason) > 500:
        raise forms.FieldProblem("reason", "too_long", max=500)
    return reason


@guarded
def payment_row(app: App, payment: dict[str, Any], can_correct: bool, on_changed: Any) -> Any:
    mode, set_mode = use_state("")  # "" | "correct" | "void"
    errors, set_errors = forms.use_form_errors()
    names = labels(app)
    form_id = f"payment-{payment['id']}"
    voided = payment.get("voided_at") is not None

    async def correct(actor: Any, data: Any) -> None:
        reason = reason_of(data)
        amount = forms.amount(data, "amount")
        if amount is not None and amount <= 0:
            raise forms.FieldProblem("amount", "negative")
        await life.correct_collection(actor, payment, reason, amount=amount, received_on=received_date(app, data),
                                      method=forms.text(data, "method") or None)
        app.notify(app.t("finance.corrected"), "ok")
        set_mode("")
        on_changed()

    async def void(actor: Any, data: Any) -> None:
        await life.void_collection(actor, payment, reason_of(data))
        app.notify(app.t("finance.voided"), "ok")
        set_mode("")
        on_changed()

    head = html.div(
        {"className": "spread", "style": {"padding": "8px 0"}},
        html.span(app.fmt.date(payment["received_on"]), " · ", app.t(f"payment.{payment['method']}"),
                  " ", chip(app.t("finance.voided_chip"), "danger") if voided else ""),
        html.strong({"style": {"textDecoration": "line-through" if voided else "none"}},
                    app.fmt.money(payment["amount"])))
    reason_field = forms.field("reason", names["reason"], forms.input_("reason", errors), errors, form_id)
    if mode == "correct":
        body = form(
            forms.submit(app, names, set_errors, correct), forms.top_error(errors, form_id),
            forms.field("amount", names["amount"], forms.input_("amount", errors, inputMode="decimal",
                                                                 defaultValue=str(payment["amount"])), errors, form_id),
            forms.field("received_on", names["received_on"], forms.input_(
                "received_on", errors, type="date", defaultValue=str(payment["received_on"])), errors, form_id),
            forms.field("method", names["method"], forms.select(
                "method", [(m, app.t(f"payment.{m}")) for m in METHODS], payment["method"]), errors, form_id),
            reason_field,
            html.div({"className": "actions"},
                     html.button({"className": "button", "type": "submit", "data-action": "save-correction"},
                                 app.t("common.save")),
                     button(app.t("common.cancel"), lambda *_: set_mode(""), "secondary")),
            className="stack correct-form", id=form_id)
    elif mode == "void":
        body = form(
            forms.submit(app, names, set_errors, void), forms.top_error(errors, form_id), reason_field,
            html.div({"className": "actions"},
                     html.button({"className": "button danger", "type": "submit", "data-action": "confirm-void"},
                                 app.t("finance.confirm_void")),
                     button(app.t("common.cancel"), lambda *_: set_mode(""), "secondary")),
            className="stack void-form", id=form_id)
    elif can_correct and not voided:
        body = html.div({"className": "actions"},
                        button(app.t("finance.correct"), lambda *_: set_mode("correct"), "secondary",
                               **{"data-action": "correct"}),
                        button(app.t("finance.void"), lambda *_: set_mode("void"), "secondary",
                               **{"data-action": "void"}))
    else:
        body = ""
    return html.li({"className": "payment", "data-id": str(payment["id"]),
                    "data-voided": str(voided).lower()}, head,
                   html.p({"className": "small muted"}, payment.get("reason")) if payment.get("reason") else "", body)


@guarded
def payments(app: App, project: dict[str, Any], on_changed: Any) -> Any:
    """The project's payments, read when shown."""

    async def load() -> dict[str, Any]:
        actor = await app.ensure_actor()
        return {"rows": await life.project_collections(actor, project["id"]),
                "can_correct": life.can_correct_collections(actor)}

    query = use_query(load, str(project["id"]), project["version"])
    state = query_state(app, query)
    if state is not None:
        return state
    rows = query.data["rows"]
    if not rows:
        return empty(app.t("finance.nothing_to_record"))
    return html.ul({"className": "list payments", "id": f"payments-{project['id']}"}, *[
        payment_row(app, row, query.data["can_correct"], on_changed, key=f"{row['id']}:{row['version']}")
        for row in reversed(rows)])


def outstanding(project: dict[str, Any]) -> Decimal:
    return Decimal(project.get("contract_value") or 0) - Decimal(project.get("collected_amount") or 0)
