"""Issue 14, regions and branches: rename a branch and set its time zone (a branch without one is refused naming
the field); its business-hours calendar (end before start refused naming the interval) with a month view that
shows a holiday and a make-up day. Both languages at 390 px without sideways scrolling."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.demo import Server

pytestmark = pytest.mark.browser


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide"


def test_admin_renames_a_branch_and_sets_its_calendar(phones: Any, served: Server) -> None:
    with served.db() as db:
        branch = db.execute("SELECT id FROM branches WHERE code = 'GZ-TH'").fetchone()[0]
    admin = phones()
    page = admin.sign_in("admin")
    page.locator("#admin-tabs [data-tab=branches]").click()
    regions = page.locator("#regions-card")
    regions.locator("#region-code").fill("west")
    regions.locator("#region-name").fill("西南区")
    regions.locator("#create-region").click()
    expect(page.locator("#admin-regions li")).to_have_count(3)
    expect(page.locator("#toast")).to_have_count(0)  # the next step's toast is its own
    with served.db() as db:
        assert db.execute("SELECT name FROM regions WHERE code = 'west'").fetchone()[0] == "西南区"
    no_sideways_scroll(page)
    admin.screenshot("admin-branches-zh")
    page.locator(f"#admin-branches li[data-id='{branch}'] a").click()
    form = page.locator("#branch-form")
    expect(form).to_be_visible()
    form.locator("#branch-timezone").select_option("")
    form.locator("#save-branch").click()
    expect(page.locator("#branch-error")).to_have_attribute("data-field", "timezone")
    form.locator("#branch-timezone").select_option("Asia/Hong_Kong")
    form.locator("#branch-name").fill("广州天河旗舰店")
    form.locator("#save-branch").click()
    expect(page.locator("#branch-detail .section-title")).to_contain_text("广州天河旗舰店")
    with served.db() as db:
        row = db.execute("SELECT name, timezone FROM branches WHERE id = ?", (branch,)).fetchone()
    assert tuple(row) == ("广州天河旗舰店", "Asia/Hong_Kong")

    page = admin.open(f"/admin?tab=branches&branch={branch}&month=2027-02")
    calendar = page.locator("#calendar-form")
    expect(calendar).to_be_visible()
    calendar.locator("#hours-start0").fill("18:00")
    calendar.locator("#hours-end0").fill("09:00")
    calendar.locator("#save-calendar").click()
    expect(page.locator("#branch-error")).to_have_attribute("data-field", "hours[0]")
    calendar.locator("#hours-start0").fill("09:00")
    calendar.locator("#hours-end0").fill("18:00")
    calendar.locator("#holidays").fill("2027-02-10\n2027-02-11")
    calendar.locator("#workdays").fill("2027-02-07")
    calendar.locator("#save-calendar").click()
    expect(page.locator("#toast")).to_have_attribute("data-kind", "ok")
    expect(page.locator("#month-view [data-date='2027-02-10']")).to_have_attribute("data-kind", "holiday")
    expect(page.locator("#month-view [data-date='2027-02-07']")).to_have_attribute("data-kind", "makeup")
    expect(page.locator("#month-view [data-date='2027-02-06']")).to_have_attribute("data-kind", "off")
    no_sideways_scroll(page)
    admin.screenshot("admin-branch-calendar-zh")

    english = phones("en")
    page = english.sign_in("admin")
    page = english.open(f"/admin?tab=branches&branch={branch}&month=2027-02")
    expect(page.locator("#branch-calendar")).to_contain_text("Business-hours calendar")
    expect(page.locator("#month-view [data-date='2027-02-11']")).to_have_attribute("data-kind", "holiday")
    no_sideways_scroll(page)
    english.screenshot("admin-branch-calendar-en")
