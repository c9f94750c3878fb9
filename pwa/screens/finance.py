"""Finance: collections to record and contract value against collected amount, per project and in total."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from reactpy import html, use_state

from backend.lifecycle import services as life
from backend.projects.services import PROJECTS
from pwa.screens import common, forms, payments
from pwa.screens.payments import METHODS, outstanding
from pwa.ui import App, button, card, empty, form, guarded, link, query_state, use_query


async def load(app: App) -> dict[str, Any]:
    actor = await app.ensure_actor()
    projects = await common.all_records(actor, PROJECTS, cap=2000)
    projects = [p for p in projects if Decimal(p.get("contract_value") or 0) > 0]
    projects.sort(key=lambda p: (p["status"] != "open",
                                 -(Decimal(p["contract_value"]) - Decimal(p["collected_amount"]))))
    return {"projects": projects, "can_record": life.can_record_collections(actor),
            "stage_names": await life.stage_names_for(actor, projects)}


@guarded
def collection_item(app: App, project: dict[str, Any], can_record: bool, on_recorded: Any) -> Any:
    mode, set_mode = use_state("")  # "" | "record" | "payments"
    errors, set_errors = forms.use_form_errors()
    names = payments.labels(app)
    form_id = f"record-{project['id']}"
    contract, collected = Decimal(project["contract_value"]), Decimal(project["collected_amount"])
    share = float(collected / contract) if contract else 0.0
    due = outstanding(project)

    async def record(actor: Any, data: Any) -> None:
        amount = forms.amount(data, "amount")
        assert amount is not None
        if amount <= 0:
            raise forms.FieldProblem("amount", "negative")
        note = forms.text(data, "note")
        if len(note) > 500:
            raise forms.FieldProblem("note", "too_long", max=500)
        await life.record_collection(actor, project, amount, payments.received_date(app, data),
                                     forms.text(data, "method") or "bank_transfer", note)
        set_mode("")
        app.notify(app.t("finance.recorded", amount=app.fmt.money(amount)), "ok")
        on_recorded()

    today = dt.datetime.now(app.fmt.tz).date().isoformat()
    if mode == "record":
        body = form(
            forms.submit(app, names, set_errors, record), forms.top_error(errors, form_id),
            forms.field("amount", names["amount"], html.div(
                {"className": "row", "style": {"gap": "8px", "alignItems": "center"}},
                forms.input_("amount", errors, inputMode="decimal", defaultValue="", placeholder="0.00"),
                html.span({"className": "small muted", "data-field": "outstanding", "style": {"whiteSpace": "nowrap"}},
                          app.t("finance.outstanding_now", amount=app.fmt.money(due)))), errors, form_id),
            forms.field("received_on", names["received_on"], forms.input_(
                "received_on", errors, type="date", defaultValue=today, max=today), errors, form_id),
            forms.field("method", names["method"], forms.select(
                "method", [(m, app.t(f"payment.{m}")) for m in METHODS], "bank_transfer"), errors, form_id),
            forms.field("note", names["note"], forms.input_("note", errors), errors, form_id),
            html.div({"className": "actions"},
                     html.button({"className": "button", "type": "submit"}, app.t("finance.save")),
                     button(app.t("common.cancel"), lambda *_: set_mode(""), "secondary")),
            className="stack record-form", id=form_id, style={"marginTop": "8px"})
    elif mode == "payments":
        body = html.div(payments.payments(app, project, on_recorded),
                        button(app.t("common.cancel"), lambda *_: set_mode(""), "secondary block"))
    else:
        body = html.div({"className": "actions", "style": {"marginTop": "8px"}},
                        button(app.t("finance.record"), lambda *_: set_mode("record"), "secondary",
                               **{"data-action": "record"}) if can_record and due > 0 else "",
                        button(app.t("finance.payments"), lambda *_: set_mode("payments"), "secondary",
                               **{"data-action": "payments"}) if collected > 0 or can_record else "")
    return html.li(
        {"className": "collection-item", "data-id": str(project["id"]), "style": {"padding": "10px 0"}},
        html.div({"className": "spread"},
                 link(f"/projects/{project['id']}", html.strong(project["title"]), class_name="row-link grow"),
                 html.span({"className": "small muted"}, common.stage_name(app, project["stage_key"]))),
        html.div({"className": "progress", "style": {"margin": "6px 0"}},
                 html.span({"style": {"width": f"{min(100, share * 100):.0f}%"}})),
        html.div({"className": "spread small"},
                 html.span({"data-field": "collected"}, app.t("finance.collected", amount=app.fmt.money(collected))),
                 html.span({"data-field": "contract"}, app.t("finance.contract", amount=app.fmt.money(contract)))),
        body,
    )


@guarded
def screen(app: App) -> Any:
    query = use_query(lambda: load(app), app.route.path)
    state = query_state(app, query)
    if state is not None:
        return html.main({"className": "screen"}, state)
    projects = query.data["projects"]
    to_record = [p for p in projects if p["status"] == "open" and outstanding(p) > 0
                 and p["stage_key"] in ("collection", "execution", "review")]
    others = [p for p in projects if p not in to_record]
    contract = sum((Decimal(p["contract_value"]) for p in projects), Decimal(0))
    collected = sum((Decimal(p["collected_amount"]) for p in projects), Decimal(0))
    return html.main(
        {"className": "screen", "id": "finance"},
        html.div({"className": "stat-grid"},
                 html.div({"className": "stat", "id": "total-contract"},
                          html.div({"className": "n"}, app.fmt.money_short(contract)),
                          html.div({"className": "small muted"}, app.t("finance.total_contract"))),
                 html.div({"className": "stat", "id": "total-collected"},
                          html.div({"className": "n"}, app.fmt.money_short(collected)),
                          html.div({"className": "small muted"}, app.t("finance.total_collected"))),
                 html.div({"className": "stat", "id": "total-outstanding"},
                          html.div({"className": "n"}, app.fmt.money_short(contract - collected)),
                          html.div({"className": "small muted"}, app.t("finance.outstanding"))),
                 html.div({"className": "stat"}, html.div({"className": "n"},
                          app.fmt.percent(float(collected / contract)) if contract else "—"),
                          html.div({"className": "small muted"}, app.t("finance.rate")))),
        card(html.ul({"className": "list", "id": "to-record"}, *[
            collection_item(app, p, query.data["can_record"], query.reload, key=f"{p['id']}:{p['version']}")
            for p in to_record]) if to_record else empty(app.t("finance.nothing_to_record")),
            title=app.t("finance.to_record"), count=len(to_record)),
        card(html.ul({"className": "list", "id": "finance-projects"}, *[
            collection_item(app, p, query.data["can_record"], query.reload, key=f"{p['id']}:{p['version']}")
            for p in others]) if others else empty(app.t("home.no_projects")),
            title=app.t("finance.all_projects"), count=len(others)),
    )
