"""Live updates on two phones: what one user changes appears on the other's open screen without a reload."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.demo import Server

pytestmark = pytest.mark.browser
LEGAL_MILESTONE = (
    "SELECT m.id, m.project FROM project_milestones m JOIN projects p ON p.id = m.project "
    "JOIN project_stages s ON s.id = m.stage WHERE m.owner = ? AND p.owner = ? AND m.state = 'open' "
    "AND s.left_at IS NULL AND p.status = 'open' AND (m.auto IS NULL OR m.auto = '') ORDER BY m.id LIMIT 1")


def one(served: Server, sql: str, *args: Any) -> Any:
    with served.db() as db:
        row = db.execute(sql, args).fetchone()
    assert row is not None, sql
    return row


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_legal_completes_a_milestone_and_the_agents_open_project_shows_it_done(phones: Any, served: Server,
                                                                               lang: str) -> None:
    milestone, project = one(served, LEGAL_MILESTONE, served.user_id("zhangwei"), served.user_id("lina"))
    agent, legal = phones(lang), phones(lang)
    agent.sign_in("lina")
    watching = agent.open(f"/projects/{project}")
    row = watching.locator(f"#milestones li[data-id='{milestone}']")
    expect(row).to_have_attribute("data-state", "open")
    legal.sign_in("zhangwei")
    acting = legal.open(f"/projects/{project}")
    acting.click(f"#milestones li[data-id='{milestone}'] [data-action=toggle]")
    expect(acting.locator(f"#milestones li[data-id='{milestone}']")).to_have_attribute("data-state", "done")
    expect(row).to_have_attribute("data-state", "done")  # on the agent's phone, which did nothing
    expect(row.locator("[role=checkbox]")).to_have_attribute("aria-checked", "true")
    agent.screenshot(f"live-milestone-done-on-agent-{lang}")
    assert watching.url.endswith(f"/projects/{project}")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_note_written_on_one_phone_appears_on_the_others_visit_screen(phones: Any, served: Server,
                                                                        lang: str) -> None:
    lina = served.user_id("lina")
    visit = one(served, "SELECT id FROM visits WHERE owner = ? AND status = 'planned' ORDER BY scheduled_at",
                lina)[0]
    agent, manager = phones(lang), phones(lang)
    agent.sign_in("lina")
    watching = agent.open(f"/visits/{visit}")
    manager.sign_in("wangqiang")
    writing = manager.open(f"/visits/{visit}")
    text = "客户要求周六再看一次" if lang == "zh" else "Client asks for a second viewing on Saturday"
    body = f"{text} {uuid.uuid4().hex[:6]}"
    writing.fill("#note-form textarea", body)
    writing.click("#note-form button[type=submit]")
    expect(writing.locator("li.note", has_text=body)).to_have_count(1)
    expect(watching.locator("li.note", has_text=body)).to_have_count(1)  # the agent's screen, not reloaded
    agent.screenshot(f"live-note-on-agent-{lang}")
    # and back: the agent's note reaches the manager's open screen
    reply = f"{'好的，已约周六' if lang == 'zh' else 'Booked for Saturday'} {uuid.uuid4().hex[:6]}"
    watching.fill("#note-form textarea", reply)
    watching.click("#note-form button[type=submit]")
    expect(writing.locator("li.note", has_text=reply)).to_have_count(1)
    manager.screenshot(f"live-note-on-manager-{lang}")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_nudge_appears_in_the_agents_open_inbox_with_the_badge_count(phones: Any, served: Server,
                                                                       lang: str) -> None:
    lina = served.user_id("lina")
    milestone, project = one(
        served, "SELECT m.id, m.project FROM project_milestones m JOIN project_stages s ON s.id = m.stage "
        "JOIN projects p ON p.id = m.project WHERE m.owner = ? AND m.state = 'open' AND s.left_at IS NULL "
        "AND p.status = 'open' ORDER BY m.id LIMIT 1 OFFSET ?", lina, ["zh", "en"].index(lang))  # a nudge a run
    with served.db() as db:
        unread = db.execute("SELECT count(*) FROM inbox_items WHERE user = ? AND read_at IS NULL", (lina,)
                            ).fetchone()[0]
    agent, manager = phones(lang), phones(lang)
    agent.sign_in("lina")
    inbox = agent.open("/inbox")
    bell = inbox.locator("#inbox-link")
    expect(bell).to_have_attribute("data-unread", str(unread))
    listed = inbox.locator("#inbox-items li[data-read=false]").count()
    manager.sign_in("wangqiang")
    acting = manager.open(f"/projects/{project}")
    acting.click(f"#milestones li[data-id='{milestone}'] [data-action=nudge]")
    expect(bell).to_have_attribute("data-unread", str(unread + 1))  # the agent's phone, not reloaded
    expect(inbox.locator("#inbox-items li[data-read=false]")).to_have_count(listed + 1)
    agent.screenshot(f"live-inbox-nudge-{lang}")
