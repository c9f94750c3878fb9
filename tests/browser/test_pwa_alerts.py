"""Alerts open their target, the inbox reads in the reader's language, and a manager's and a legal specialist's
daily jobs done through the UI (zh and en): reassign with a new deadline, nudge twice (one arrives), reject a
review with a comment (its previous owner is told)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.demo import Server

pytestmark = pytest.mark.browser
LANGS = ["zh", "en"]


def one(served: Server, sql: str, *args: Any) -> Any:
    with served.db() as db:
        return db.execute(sql, args).fetchone()


def openable_items(served: Server, username: str) -> dict[str, Any]:
    """Per kind, the newest item of the user whose milestone is still open in its project's current stage (so the
    project screen lists it)."""
    with served.db() as db:
        rows = db.execute(
            "SELECT i.kind, i.id, i.params FROM inbox_items i JOIN users u ON u.id = i.user "
            "JOIN project_milestones m ON m.id = i.subject_id JOIN projects p ON p.id = m.project "
            "WHERE u.username = ? AND m.state = 'open' AND m.stage_key = p.stage_key "
            "ORDER BY i.created_at DESC", (username,)).fetchall()
    out: dict[str, Any] = {}
    for row in rows:
        out.setdefault(row["kind"], row)
    return out


def targeted(page: Any, anchor: str) -> None:
    """The element the alert names is marked and on screen."""
    target = page.locator(f"#{anchor}")
    expect(target).to_have_attribute("data-targeted", "true")
    expect(target).to_be_in_viewport()


@pytest.mark.parametrize("lang", LANGS)
def test_every_inbox_item_kind_opens_its_target(phones: Any, served: Server, lang: str) -> None:
    for username in ("zhangwei", "wangqiang"):
        phone = phones(lang)
        phone.sign_in(username)
        items = openable_items(served, username)
        assert items, username
        for kind, item in items.items():
            milestone = json.loads(item["params"])["milestone_id"]
            page = phone.open(f"/inbox?kind={kind}")
            expect(page.locator(f"#inbox-kinds [data-kind={kind}]")).to_have_attribute("aria-pressed", "true")
            entry = page.locator(f"#alert-{item['id']} a")
            while not entry.count() and page.locator("#inbox-more").count():  # further down: the next page
                shown = page.locator("#inbox-items li").count()
                page.click("#inbox-more")
                expect(page.locator("#inbox-items li")).not_to_have_count(shown)
            entry.scroll_into_view_if_needed()
            entry.click()  # in-app navigation
            expect(page).to_have_url(f"{served.base}/projects/{json.loads(item['params'])['project_id']}"
                                     f"#milestone-{milestone}")
            targeted(page, f"milestone-{milestone}")
            phone.screenshot(f"alert-{username}-{kind}-{lang}")
            link = page.url
            page.goto(served.base + "/")  # the same alert from a push: a page load at its URL
            page.goto(link)
            phone.ready()
            targeted(page, f"milestone-{milestone}")
        phone.close()


@pytest.mark.parametrize("lang", LANGS)
def test_inbox_reads_in_the_readers_language_with_urgent_only_where_urgent(phones: Any, served: Server,
                                                                           lang: str) -> None:
    phone = phones(lang)
    page = phone.sign_in("liumin")  # the executive: escalations that climbed above the branch
    page = phone.open("/inbox")
    expect(page.locator("#inbox-items li[data-kind=escalation]").first).to_be_visible()
    first = page.locator("#inbox-items li .title").first.inner_text()
    assert ("超时未办" in first) if lang == "zh" else first.startswith("Overdue")
    urgent = page.locator("#inbox-items li[data-urgent=true]").count()
    calm = page.locator("#inbox-items li[data-urgent=false]").count()
    assert urgent and calm  # escalations whose milestone is done since are no longer urgent
    phone.screenshot(f"inbox-executive-{lang}")
    page.click("#inbox-show [data-show=urgent]")
    expect(page.locator("#inbox-show [data-show=urgent]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#inbox-items li[data-urgent=false]")).to_have_count(0)
    expect(page.locator("#inbox-items li[data-urgent=true]").first).to_be_visible()
    groups = page.locator("#inbox-items section.inbox-group")
    assert groups.count() >= 1 and groups.first.locator("h3").inner_text()


def late_milestone(served: Server, manager: str) -> Any:
    return one(served,
               "SELECT m.id, m.owner, m.owner_rule, m.due_at FROM project_milestones m JOIN users u ON u.branch = "
               "m.branch WHERE u.username = ? AND m.state = 'open' AND m.escalation_level > 0 "
               "AND m.owner_rule = 'legal' ORDER BY m.due_at LIMIT 1", manager)


@pytest.mark.parametrize("lang", LANGS)
def test_manager_reassigns_with_a_new_deadline_and_nudges_twice(phones: Any, served: Server, lang: str) -> None:
    phone = phones(lang)
    page = phone.sign_in("wangqiang")
    page.click("#stat-late")
    expect(page.locator("#late-milestones")).to_have_attribute("data-targeted", "true")
    late = page.locator("#late-milestones li.milestone-item")
    expect(late.first).to_be_visible()
    hours = [int(x) for x in late.evaluate_all("els => els.map(e => e.dataset.hoursLate)")]
    assert hours == sorted(hours, reverse=True) and hours[0] > 0
    expect(late.first.locator(".late-by")).to_be_visible()
    phone.screenshot(f"manager-late-{lang}")
    # Nudge twice: one nudge reaches the owner.
    target = late.first
    milestone_id = target.get_attribute("data-id")
    owner = one(served, "SELECT owner FROM project_milestones WHERE id = ?", milestone_id)["owner"]
    before = one(served, "SELECT count(*) AS n FROM inbox_items WHERE kind = 'nudge' AND subject_id = ?",
                 milestone_id)["n"]
    target.locator("[data-action=nudge]").click()
    expect(page.locator("#toast")).to_be_visible()
    page.locator(f"#late-milestones li[data-id='{milestone_id}'] [data-action=nudge]").click()
    expect(page.locator("#toast")).to_contain_text("10")
    after = one(served, "SELECT count(*) AS n, max(user) AS user, max(body) AS body FROM inbox_items "
                "WHERE kind = 'nudge' AND subject_id = ?", milestone_id)
    assert after["n"] - before <= 1 and after["user"] == owner
    # Reassign a legal review: only legal or the branch manager are offered, the least loaded chosen first.
    review = late_milestone(served, "wangqiang")
    row = page.locator(f"li.milestone-item[data-id='{review['id']}']")
    while not row.count() and page.locator("#more-late").count():
        page.click("#more-late")
    row.scroll_into_view_if_needed()
    row.locator("[data-action=reassign]").click()
    select = row.locator("select[name=owner_id]")
    expect(select).to_be_visible()
    offered = select.locator("option").evaluate_all("els => els.map(e => e.value)")
    with served.db() as db:
        roles = {r["id"]: r["role"] for r in db.execute("SELECT id, role FROM users")}
    assert offered and {roles[o] for o in offered} <= {"legal", "branch_manager"}
    assert select.input_value() == offered[0]
    new_due = (dt.datetime.now() + dt.timedelta(days=3)).replace(hour=17, minute=0)
    row.locator("input[name=due_at]").fill(new_due.strftime("%Y-%m-%dT%H:%M"))
    phone.screenshot(f"manager-reassign-{lang}")
    row.locator("button[type=submit]").click()
    expect(page.locator("#toast")).to_be_visible()
    expect(page.locator(f"#late-milestones li.milestone-item[data-id='{review['id']}']")).to_have_count(0)
    moved = one(served, "SELECT owner, due_at, escalation_level FROM project_milestones WHERE id = ?", review["id"])
    assert moved["owner"] == offered[0] and moved["escalation_level"] == 0
    pending = one(served, "SELECT count(*) AS n FROM lifecycle_timers WHERE milestone = ? AND state = 'pending' "
                  "AND kind = 'escalation'", review["id"])["n"]
    assert pending >= 1  # the ladder starts again from the new deadline


@pytest.mark.parametrize("lang", LANGS)
def test_legal_rejects_a_review_with_a_comment_and_the_owner_is_told(phones: Any, served: Server,
                                                                     lang: str) -> None:
    review = one(served,
                 "SELECT m.id, m.project, p.owner, u2.username AS owner_name FROM project_milestones m "
                 "JOIN users u ON u.id = m.owner JOIN projects p ON p.id = m.project "
                 "JOIN users u2 ON u2.id = p.owner WHERE u.username = 'zhangwei' AND m.state = 'open' "
                 "AND m.owner_rule = 'legal' AND m.stage_key = p.stage_key ORDER BY m.due_at LIMIT 1")
    assert review is not None
    phone = phones(lang)
    page = phone.sign_in("zhangwei")
    page = phone.open(f"/projects/{review['project']}#milestone-{review['id']}")
    item = page.locator(f"#milestone-{review['id']}")
    item.locator("[data-action=reject]").click()
    comment = "第5条违约金比例需修改" if lang == "zh" else "Clause 5: the penalty rate must change"
    item.locator("textarea[name=comment]").fill(comment)
    phone.screenshot(f"legal-reject-{lang}")
    item.locator("[data-action=confirm-reject]").click()
    expect(page.locator("#toast")).to_be_visible()
    back = one(served, "SELECT owner, note FROM project_milestones WHERE id = ?", review["id"])
    assert back["owner"] != one(served, "SELECT id FROM users WHERE username = 'zhangwei'")["id"]
    assert back["note"] == comment
    owner = phones(lang)
    page = owner.sign_in(one(served, "SELECT username FROM users WHERE id = ?", back["owner"])["username"])
    page = owner.open("/inbox?kind=review_rejected")
    told = page.locator("#inbox-items li[data-kind=review_rejected]").first
    expect(told).to_contain_text(comment)
    expect(told).to_contain_text("法务退回" if lang == "zh" else "Returned by legal")
    owner.screenshot(f"legal-reject-owner-told-{lang}")
    told.locator("a").click()
    targeted(page, f"milestone-{review['id']}")
