"""Regions and branches (admin): create, rename, time zone, and the branch's business-hours calendar (working days,
hours, holidays, make-up days) with a month view. The branch and month being shown live in the URL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from reactpy import html, use_state

from backend.accounts.services import BRANCHES, REGIONS
from backend.errors import ServiceError
from backend.lifecycle import services as life
from pwa.routes import href
from pwa.screens import common
from pwa.ui import (
    App,
    action,
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

TIME_ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "Asia/Dubai",
              "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "UTC")
WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)


def branches_href(app: App, **changes: str | None) -> str:
    return href("/admin", tab="branches", **({k: app.route.param(k) for k in ("branch", "month")} | changes))


async def load(app: App) -> dict[str, Any]:
    actor = await app.ensure_actor()
    branches = await common.all_records(actor, BRANCHES)
    regions = await common.all_records(actor, REGIONS)
    chosen = common.parse_uuid(app.route.param("branch"))
    calendar = await life.branch_calendar(actor, chosen) if chosen else None
    return {"branches": branches, "regions": {r["id"]: r for r in regions}, "calendar": calendar}


def refusal_text(app: App, exc: ServiceError) -> dict[str, str]:
    text = error_text(app, exc)
    return {"field": exc.field or "", "text": exc.message if text == app.t("error.unexpected") else text}


def problem_line(problem: dict[str, str] | None) -> Any:
    if not problem:
        return ""
    return html.p({"className": "message error", "role": "alert", "id": "branch-error",
                   "data-field": problem["field"]},
                  html.code({"translate": "no"}, problem["field"]) if problem["field"] else "", " ", problem["text"])


def field(name: str, label: str, value: Any = "", **attributes: Any) -> Any:
    return html.label({"className": "field"}, label,
                      html.input({"className": "input", "name": name, "defaultValue": value or "", **attributes}))


def options(name: str, label: str, choices: list[tuple[str, str]], value: str, **attributes: Any) -> Any:
    return html.label({"className": "field"}, label,
                      html.select({"className": "input", "name": name, "defaultValue": value, **attributes},
                                  *[html.option({"value": v, "key": v or "none"}, t) for v, t in choices]))


@guarded
def branch_form(app: App, branch: dict[str, Any] | None, data: dict[str, Any], on_saved: Any) -> Any:
    problem, set_problem = use_state(None)
    live = use_live()
    regions = [(str(r["id"]), r["name"]) for r in data["regions"].values()]

    async def save(actor: Any, values: Any) -> None:
        chosen = {k: form_value(values, k).strip() for k in ("code", "name", "region_id", "timezone")}
        try:
            if branch is None:
                made = await BRANCHES.create(actor, {"code": chosen["code"], "name": chosen["name"],
                                                     "region_id": common.parse_uuid(chosen["region_id"]),
                                                     "timezone": chosen["timezone"]})
                app.navigate(branches_href(app, branch=str(made.id)), True)
            else:
                await BRANCHES.update(actor, branch["id"], branch["version"], {
                    "name": chosen["name"], "timezone": chosen["timezone"],
                    "region_id": common.parse_uuid(chosen["region_id"]) or branch["region_id"]})
        except ServiceError as exc:
            live(set_problem)(refusal_text(app, exc))
            return
        app.notify(app.t("admin.saved"), "ok")
        on_saved()

    zones = [("", app.t("branch.no_timezone")), *[(z, z) for z in TIME_ZONES]]
    current = branch or {}
    return form(action(app, save), problem_line(problem),
                "" if branch else field("code", app.t("branch.code"), required=True, maxLength=32, translate="no",
                                        id="branch-code"),
                field("name", app.t("branch.name"), current.get("name"), required=True, maxLength=100,
                      id="branch-name"),
                options("region_id", app.t("branch.region"), regions, str(current.get("region_id") or
                                                                          (regions[0][0] if regions else ""))),
                options("timezone", app.t("branch.timezone"), zones, current.get("timezone", "Asia/Shanghai"),
                        id="branch-timezone"),
                html.button({"className": "button", "type": "submit", "id": "save-branch"}, app.t("common.save")),
                className="stack", id="branch-form", key=f"branch-{current.get('id')}-{current.get('version')}")


def month_view(app: App, calendar: dict[str, Any] | None, year: int, month: int) -> Any:
    days = life.month_days(calendar, year, month)
    pad = [html.li({"key": f"pad{i}", "className": "day pad", "aria-hidden": "true"}) for i in
           range(days[0]["weekday"] - 1)]
    first = dt.date(year, month, 1)
    previous = (first - dt.timedelta(days=1)).strftime("%Y-%m")
    following = (first + dt.timedelta(days=32)).strftime("%Y-%m")
    return html.div(
        {"className": "month-view", "id": "month-view", "data-month": first.strftime("%Y-%m")},
        html.div({"className": "spread"},
                 link(branches_href(app, month=previous), "‹", class_name="button secondary", id="month-previous",
                      **{"aria-label": app.t("branch.previous_month")}),
                 html.strong({"id": "month-title"}, first.strftime("%Y-%m")),
                 link(branches_href(app, month=following), "›", class_name="button secondary", id="month-next",
                      **{"aria-label": app.t("branch.next_month")})),
        html.ol({"className": "month-grid"},
                *[html.li({"key": f"h{d}", "className": "day head"}, app.t(f"branch.weekday_{d}")) for d in WEEKDAYS],
                *pad,
                *[html.li({"key": str(d["date"]), "className": f"day {d['kind']}", "data-date": str(d["date"]),
                           "data-kind": d["kind"], "title": app.t(f"branch.kind_{d['kind']}")},
                          str(d["date"].day)) for d in days]),
        html.div({"className": "chips"}, *[chip(app.t(f"branch.kind_{k}"), "plain", key=k, className=f"chip {k}")
                                           for k in ("work", "off", "holiday", "makeup")]),
    )


def _dates(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").replace("，", "\n").splitlines() if part.strip()]


@guarded
def calendar_form(app: App, branch: dict[str, Any], calendar: dict[str, Any] | None, on_saved: Any) -> Any:
    problem, set_problem = use_state(None)
    live = use_live()
    current = calendar or {"working_days": [1, 2, 3, 4, 5], "hours": [["09:00", "18:00"]], "holidays": [],
                           "workdays": []}

    async def save(actor: Any, values: Any) -> None:
        hours = []
        for i in range(2):
            start, end = form_value(values, f"start{i}").strip(), form_value(values, f"end{i}").strip()
            if start or end:
                hours.append([start, end])
        body = {"working_days": [d for d in WEEKDAYS if form_value(values, f"day{d}")], "hours": hours,
                "holidays": _dates(form_value(values, "holidays")), "workdays": _dates(form_value(values, "workdays"))}
        try:
            await life.save_branch_calendar(actor, branch["id"], body, calendar["version"] if calendar else None)
        except ServiceError as exc:
            live(set_problem)(refusal_text(app, exc))
            return
        app.notify(app.t("admin.saved"), "ok")
        on_saved()

    hours = [*current["hours"], ["", ""]][:2]
    return form(action(app, save), problem_line(problem),
                html.fieldset({"className": "template-row"}, html.legend(app.t("branch.working_days")),
                              *[html.label({"className": "tick", "key": d},
                                           html.input({"type": "checkbox", "name": f"day{d}",
                                                       "defaultChecked": d in current["working_days"]}),
                                           app.t(f"branch.weekday_{d}")) for d in WEEKDAYS]),
                *[html.div({"className": "admin-filter-row", "key": f"h{i}"},
                           field(f"start{i}", app.t("branch.start"), start, type="time", id=f"hours-start{i}"),
                           field(f"end{i}", app.t("branch.end"), end, type="time", id=f"hours-end{i}"))
                  for i, (start, end) in enumerate(hours)],
                html.label({"className": "field"}, app.t("branch.holidays"),
                           html.textarea({"className": "input", "name": "holidays", "rows": 3, "id": "holidays",
                                          "defaultValue": "\n".join(str(d) for d in current["holidays"]),
                                          "placeholder": "2027-01-01"})),
                html.label({"className": "field"}, app.t("branch.workdays"),
                           html.textarea({"className": "input", "name": "workdays", "rows": 2, "id": "workdays",
                                          "defaultValue": "\n".join(str(d) for d in current["workdays"]),
                                          "placeholder": "2027-02-07"})),
                html.button({"className": "button", "type": "submit", "id": "save-calendar"},
                            app.t("branch.save_calendar")),
                className="stack", id="calendar-form", key=f"calendar-{(calendar or {}).get('version')}")


@guarded
def regions_card(app: App, regions: list[dict[str, Any]], on_saved: Any) -> Any:
    """Create a region, or rename one (one form per region; the code stays)."""
    problem, set_problem = use_state(None)
    live = use_live()

    def rename(region: dict[str, Any]) -> Any:
        async def run(actor: Any, values: Any) -> None:
            try:
                await REGIONS.update(actor, region["id"], region["version"], {"name": form_value(values, "name")})
            except ServiceError as exc:
                live(set_problem)(refusal_text(app, exc))
                return
            app.notify(app.t("admin.saved"), "ok")
            on_saved()
        return action(app, run)

    async def create(actor: Any, values: Any) -> None:
        try:
            await REGIONS.create(actor, {"code": form_value(values, "code").strip(),
                                         "name": form_value(values, "name").strip()})
        except ServiceError as exc:
            live(set_problem)(refusal_text(app, exc))
            return
        app.notify(app.t("admin.saved"), "ok")
        on_saved()

    return card(
        problem_line(problem),
        html.ul({"className": "list", "id": "admin-regions"}, *[
            html.li({"key": f"{r['id']}:{r['version']}", "data-id": str(r["id"])},
                    form(rename(r), html.div({"className": "admin-filter-row"},
                                             field("name", html.span({"translate": "no"}, r["code"]), r["name"],
                                                   required=True, maxLength=100),
                                             html.button({"className": "button secondary", "type": "submit"},
                                                         app.t("branch.rename"))),
                         className="stack region-form"))
            for r in regions]),
        form(action(app, create),
             html.div({"className": "admin-filter-row"},
                      field("code", app.t("branch.region_code"), required=True, maxLength=32, translate="no",
                            id="region-code"),
                      field("name", app.t("branch.region_name"), required=True, maxLength=100, id="region-name")),
             html.button({"className": "button secondary", "type": "submit", "id": "create-region"},
                         app.t("branch.new_region")),
             className="stack", id="region-form"),
        title=app.t("branch.regions"), count=len(regions), id="regions-card")


@guarded
def panel(app: App) -> Any:
    query = use_query(lambda: load(app), app.route.param("branch"))
    state = query_state(app, query)
    if state is not None:
        return state
    data = query.data
    chosen = app.route.param("branch")
    listing = card(
        html.div({"className": "actions"},
                 link(branches_href(app, branch="new", month=None), app.t("branch.new"), class_name="button",
                      id="new-branch")),
        html.ul({"className": "list", "id": "admin-branches"}, *[
            html.li({"key": str(b["id"]), "data-id": str(b["id"]), "className": "branch-row"},
                    list_link(branches_href(app, branch=str(b["id"])), b["name"],
                              html.span({"translate": "no"}, b["code"], " · ", b["timezone"]),
                              below=[chip(data["regions"].get(b["region_id"], {}).get("name", ""), "plain")]))
            for b in data["branches"]]) if data["branches"] else empty(app.t("admin.none")),
        title=app.t("admin.branches"), count=len(data["branches"]), className="card admin-list")
    branch = next((b for b in data["branches"] if str(b["id"]) == chosen), None)
    if chosen != "new" and branch is None:
        return html.div({"className": "admin-columns"}, listing,
                        regions_card(app, list(data["regions"].values()), query.reload))
    back = link(branches_href(app, branch=None, month=None), "‹ ", app.t("admin.back_to_list"),
                class_name="admin-back", id="back-to-branches")
    if branch is None:
        detail = card(branch_form(app, None, data, query.reload, key="new"), title=app.t("branch.new"),
                      id="branch-detail")
    else:
        try:
            year, month = (int(x) for x in app.route.param("month").split("-"))
            dt.date(year, month, 1)
        except ValueError:
            today = dt.datetime.now(app.fmt.tz).date()
            year, month = today.year, today.month
        detail = html.div(
            card(branch_form(app, branch, data, query.reload, key=f"{branch['id']}:{branch['version']}"),
                 title=branch["name"], id="branch-detail", **{"data-id": str(branch["id"])}),
            card(html.p({"className": "small muted"}, app.t("branch.calendar_on") if data["calendar"]
                        else app.t("branch.calendar_off")),
                 month_view(app, data["calendar"], year, month),
                 calendar_form(app, branch, data["calendar"], query.reload,
                               key=f"cal:{branch['id']}:{(data['calendar'] or {}).get('version')}"),
                 title=app.t("branch.calendar"), id="branch-calendar"))
    return html.div({"className": "admin-columns has-detail"}, listing, html.div({"className": "admin-detail"},
                                                                                  back, detail))
