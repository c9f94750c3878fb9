"""Each role signs in on a phone and sees exactly what ARCHITECTURE.md's access table allows: the full expected
sets are worked out from the served database, not only the absences."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.demo import Server

pytestmark = pytest.mark.browser
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NAV = {
    "agent": ["home", "clients", "pipeline", "inbox", "settings"],
    "project_manager": ["home", "clients", "inbox", "settings"],
    "legal": ["home", "inbox", "settings"],
    "finance": ["finance", "inbox", "settings"],
    "branch_manager": ["manager", "clients", "pipeline", "inbox", "settings"],
    "executive": ["manager", "clients", "pipeline", "inbox", "settings"],
    "admin": ["admin", "settings"],
}


def ids(page: Any, selector: str) -> set[str]:
    return set(page.eval_on_selector_all(selector, "els => els.map(e => e.dataset.id)"))


def rows(served: Server, sql: str, *args: Any) -> set[str]:
    with served.db() as db:
        return {row[0] for row in db.execute(sql, args)}


def all_client_ids_on_screen(page: Any) -> set[str]:
    """Every row of the client list, pressing "show more" until all of them are there."""
    listed = page.locator("#client-list")
    if not listed.count():
        return set()
    total = int(listed.get_attribute("data-total"))
    while (before := page.locator("#client-list li").count()) < total:
        page.click("#more-clients")
        expect(page.locator("#client-list li")).not_to_have_count(before)
    return ids(page, "#client-list li[data-id]")


def check_nav(page: Any, role: str) -> None:
    screens = page.eval_on_selector_all("nav.bottom-nav a", "els => els.map(e => e.dataset.screen)")
    assert screens == NAV[role]
    expect(page.locator("#user-role")).to_have_attribute("data-role", role)


def today_bounds() -> tuple[str, str]:
    start = dt.datetime.combine(dt.datetime.now(SHANGHAI).date(), dt.time(0), tzinfo=SHANGHAI)
    fmt = "%Y-%m-%d %H:%M:%S+00:00"
    return (start.astimezone(dt.UTC).strftime(fmt),
            (start + dt.timedelta(days=1)).astimezone(dt.UTC).strftime(fmt))


def test_agent_sees_all_and_only_their_own_clients_projects_and_visits(phones: Any, served: Server) -> None:
    lina, other = served.user_id("lina"), served.user_id("shpd_agent2")
    device = phones()
    page = device.sign_in("lina")
    check_nav(page, "agent")
    expect(page.locator("#user-name")).to_have_text("李娜")
    team = "SELECT project FROM project_members WHERE user = ? AND kind = 'team'"
    start, end = today_bounds()
    expected_visits = rows(served, f"SELECT id FROM visits WHERE (owner = ? OR project IN ({team})) "
                                   "AND scheduled_at >= ? AND scheduled_at < ?", lina, lina, start, end)
    assert expected_visits and ids(page, "#today-visits li[data-id]") == expected_visits
    expected_projects = rows(served, f"SELECT id FROM projects WHERE status = 'open' AND (owner = ? OR id IN ({team}))",
                             lina, lina)
    assert ids(page, "#my-projects li[data-id]") == expected_projects
    page = device.open("/clients")
    shown = all_client_ids_on_screen(page)
    assert shown == rows(served, "SELECT id FROM clients WHERE owner = ?", lina)
    assert shown.isdisjoint(rows(served, "SELECT id FROM clients WHERE owner = ?", other))
    page = device.open("/pipeline?state=following")
    assert ids(page, "#opportunities [data-id]") == rows(
        served, "SELECT id FROM opportunities WHERE owner = ? AND state = 'following'", lina)
    someone_elses = min(rows(served, "SELECT id FROM clients WHERE owner = ?", other))
    page = device.open(f"/clients/{someone_elses}")
    expect(page.locator("[data-state=not-found]")).to_be_visible()
    device.screenshot("role-agent-clients-denied")


def test_branch_manager_sees_the_whole_branch(phones: Any, served: Server) -> None:
    device = phones()
    page = device.sign_in("wangqiang")
    check_nav(page, "branch_manager")
    branch = "SELECT branch FROM users WHERE username = 'wangqiang'"
    open_projects = rows(served, f"SELECT id FROM projects WHERE status = 'open' AND branch = ({branch})")
    expect(page.locator("#stat-open .n")).to_have_text(str(len(open_projects)))
    signing = rows(served, f"SELECT id FROM projects WHERE status = 'open' AND stage_key = 'signing' "
                           f"AND branch = ({branch})")
    page.click("#by-stage [data-stage=signing]")
    page.wait_for_url("**/manager?stage=signing")
    expect(page.locator("#stage-projects li")).to_have_count(len(signing))
    shown = ids(page, "#stage-projects li[data-id]")
    assert shown == signing, (len(shown), len(signing), page.url)
    page = device.open("/clients")
    assert all_client_ids_on_screen(page) == rows(served, f"SELECT id FROM clients WHERE branch = ({branch})")


def test_finance_sees_amounts_of_every_project_of_the_branch_but_no_private_notes(phones: Any,
                                                                                 served: Server) -> None:
    device = phones()
    page = device.sign_in("chenjing")
    check_nav(page, "finance")
    me = served.user_id("chenjing")
    expected = rows(served, "SELECT p.id FROM projects p WHERE p.contract_value > 0 AND p.branch = "
                            "(SELECT branch FROM users WHERE id = ?)", me)
    assert expected - rows(served, "SELECT project FROM project_members WHERE user = ?", me), "none but its own?"
    assert expected and ids(page, "#to-record li[data-id], #finance-projects li[data-id]") == expected
    expect(page.locator("#to-record li [data-field=contract]").first).to_contain_text("¥")
    project = min(expected)
    page = device.open(f"/projects/{project}")
    expect(page.locator("#project-title")).to_be_visible()
    expect(page.locator("#project-photos")).to_have_count(0)
    with served.db() as db:
        client = db.execute("SELECT c.id, c.private_notes, c.phone FROM clients c JOIN projects p ON p.client = c.id "
                            "WHERE p.id = ?", (project,)).fetchone()
    text = page.inner_text("body")
    if client["private_notes"]:
        assert client["private_notes"] not in text
    assert client["phone"] not in text
    page = device.open(f"/clients/{client['id']}")
    expect(page.locator("[data-state=not-found]")).to_be_visible()
    page = device.open("/clients")
    expect(page.locator("#client-list li")).to_have_count(0)


def test_legal_sees_the_projects_they_take_part_in(phones: Any, served: Server) -> None:
    device = phones()
    page = device.sign_in("zhangwei")
    check_nav(page, "legal")
    me = served.user_id("zhangwei")
    expected = rows(served, "SELECT id FROM projects WHERE status = 'open' AND branch = "
                            "(SELECT branch FROM users WHERE id = ?) AND id IN "
                            "(SELECT project FROM project_members WHERE user = ?)", me, me)
    assert expected and ids(page, "#my-projects li[data-id]") == expected
    expect(page.locator("#today-visits li")).to_have_count(0)


def test_project_manager_sees_the_clients_of_projects_they_run(phones: Any, served: Server) -> None:
    device = phones()
    device.sign_in("shpd_project_manager1")
    me = served.user_id("shpd_project_manager1")
    page = device.open("/clients")
    assert all_client_ids_on_screen(page) == rows(
        served, "SELECT client FROM projects WHERE manager = ? OR owner = ?", me, me)


def test_executive_sees_every_branch_read_only(phones: Any, served: Server) -> None:
    device = phones()
    page = device.sign_in("liumin")
    check_nav(page, "executive")
    expect(page.locator("#stat-open .n")).to_have_text(
        str(len(rows(served, "SELECT id FROM projects WHERE status = 'open'"))))
    page = device.open("/clients")
    shown = all_client_ids_on_screen(page)
    expected = rows(served, "SELECT id FROM clients")
    assert shown == expected, (len(shown), len(expected), page.url, page.locator("#client-list li").count())
    page = device.open("/pipeline?state=potential")
    expect(page.locator("#opportunities [data-id]").first).to_be_visible()
    expect(page.locator("[data-move]")).to_have_count(0)  # read-only: no moves offered
    page = device.open(f"/clients/{min(rows(served, 'SELECT id FROM clients'))}")
    expect(page.locator("#client-name")).to_be_visible()
    expect(page.locator("#new-opportunity")).to_have_count(0)


def test_admin_sees_organisation_but_no_business_data(phones: Any, served: Server) -> None:
    device = phones()
    page = device.sign_in("admin")
    check_nav(page, "admin")
    assert ids(page, "#admin-users li[data-id]") == rows(served, "SELECT id FROM users")
    page.click("#admin-tabs [data-tab=branches]")
    expect(page.locator("#admin-branches li")).to_have_count(len(rows(served, "SELECT id FROM branches")))
    for path, selector in (("/clients", "#client-list li"), ("/pipeline?state=following", "#opportunities [data-id]")):
        page = device.open(path)
        expect(page.locator(selector)).to_have_count(0)
    some_project = min(rows(served, "SELECT id FROM projects"))
    page = device.open(f"/projects/{some_project}")
    expect(page.locator("[data-state=not-found]")).to_be_visible()
