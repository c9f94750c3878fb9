"""Finance: collections to record and contract value against collected amount, per project and in total."""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal
from typing import Any

from reactpy import html, use_state

from backend.lifecycle import services as life
from backend.projects.services import PROJECTS
from pwa.screens import common
from pwa.ui import App, action, button, card, empty, form, form_value, guarded, link, query_state, use_query

METHODS = ("bank_transfer", "alipay", "wechat_pay", "cash", "cheque", "card", "other")


async def load(app: App) -> dict[str, Any]:
    actor = await app.ensure_actor()
    projects = await common.all_records(actor, PROJECTS, cap=2000)
    projects = [p for p in projects if Decimal(p.get("contract_value") or 0) > 0]
    projects.sort(key=lambda p: (p["status"] != "open",
                                 -(Decimal(p["contract_value"]) - Decimal(p["collected_amount"]))))
    return {"projects": projects, "can_record": life.can_record_collections(actor),
            "stage_names": await life.stage_names_for(actor, projects)}


def outstanding(project: dict[str, Any]) -> Decimal:
    return Decimal(project.get("contract_value") or 0) - Decimal(project.get("collected_amount") or 0)


@guarded
def collection_item(app: App, project: dict[str, Any], can_record: bool, on_recorded: Any) -> Any:
    recording, set_recording = use_state(False)
    error, set_error = use_state("")
    contract, collected = Decimal(project["contract_value"]), Decimal(project["collected_amount"])
    share = float(collected / contract) if contract else 0.0

    async def record(actor: Any, data: Any) -> None:
        try:
            amount = Decimal(form_value(data, "amount").replace(",", "").strip())
        except decimal.InvalidOperation:
            set_error(app.t("finance.bad_amount"))
            return
        received = form_value(data, "received_on")
        try:
            received_on = dt.date.fromisoformat(received) if received else dt.datetime.now(app.fmt.tz).date()
        except ValueError:
            set_error(app.t("finance.bad_date"))
            return
        await life.record_collection(actor, project, amount, received_on, form_value(data, "method") or "bank_transfer",
                                     form_value(data, "note"))
        set_error("")
        set_recording(False)
        app.notify(app.t("finance.recorded", amount=app.fmt.money(amount)), "ok")
        on_recorded()

    today = dt.datetime.now(app.fmt.tz).date().isoformat()
    return html.li(
        {"className": "collection-item", "data-id": str(project["id"]), "style": {"padding": "10px 0"}},
        html.div({"className": "spread"},
                 link(f"/projects/{project['id']}", html.strong(project["title"]), style={"color": "inherit"}),
                 html.span({"className": "small muted"}, common.stage_name(app, project["stage_key"]))),
        html.div({"className": "progress", "style": {"margin": "6px 0"}},
                 html.span({"style": {"width": f"{min(100, share * 100):.0f}%"}})),
        html.div({"className": "spread small"},
                 html.span({"data-field": "collected"}, app.t("finance.collected", amount=app.fmt.money(collected))),
                 html.span({"data-field": "contract"}, app.t("finance.contract", amount=app.fmt.money(contract)))),
        html.p({"className": "message error", "role": "alert"}, error) if error else "",
        form(action(app, record),
             html.label({"className": "field"}, app.t("finance.amount"),
                        html.input({"className": "input", "name": "amount", "inputMode": "decimal", "required": True,
                                    "defaultValue": str(outstanding(project))})),
             html.label({"className": "field"}, app.t("finance.received_on"),
                        html.input({"className": "input", "name": "received_on", "type": "date",
                                    "defaultValue": today, "max": today})),
             html.label({"className": "field"}, app.t("finance.method"),
                        html.select({"className": "input", "name": "method"},
                                    *[html.option({"value": m, "key": m}, app.t(f"payment.{m}")) for m in METHODS])),
             html.label({"className": "field"}, app.t("finance.note"),
                        html.input({"className": "input", "name": "note", "maxLength": 500})),
             html.div({"className": "actions"},
                      html.button({"className": "button", "type": "submit"}, app.t("finance.save")),
                      button(app.t("common.cancel"), lambda *_: set_recording(False), "secondary")),
             className="stack record-form", style={"marginTop": "8px"})
        if recording else (button(app.t("finance.record"), lambda *_: set_recording(True), "secondary block",
                                  style={"marginTop": "8px"}, **{"data-action": "record"})
                           if can_record and outstanding(project) > 0 else ""),
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
