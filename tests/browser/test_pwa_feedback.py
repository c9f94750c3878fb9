"""Issue 14, in-app feedback: an agent sends feedback from a screen (screen, revision and outbox attached), it
reaches the branch manager's triage list, and the reply reaches the agent's inbox. Both languages, 390 px."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.demo import Server

pytestmark = pytest.mark.browser


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide"


def test_feedback_reaches_triage_and_the_reply_reaches_the_inbox(phones: Any, served: Server) -> None:
    agent = phones()
    page = agent.sign_in("lina")
    page = agent.open("/clients")
    page.locator("#feedback-link").click()
    expect(page.locator("#feedback-form")).to_be_visible()
    expect(page.locator("#feedback-form")).to_contain_text("客户")  # the screen it came from
    expect(page.locator("#feedback-form input[name=outbox]")).not_to_have_attribute("value", "unknown")
    page.fill("#feedback-text", "地库没信号时照片上传太慢，希望显示还剩几张")
    page.locator("#send-feedback").click()
    expect(page.locator("#my-feedback li.feedback-item")).to_have_count(1)
    no_sideways_scroll(page)
    agent.screenshot("feedback-sent-zh")
    with served.db() as db:
        row = db.execute("SELECT id, screen, app_revision, outbox, topic FROM feedback").fetchone()
    assert row["screen"] == "clients" and row["app_revision"]
    assert row["outbox"] == "empty" or row["outbox"].endswith(" pending")
    feedback_id = row["id"]

    manager = phones("en")
    page = manager.sign_in("wangqiang")
    page = manager.open("/feedback")
    item = page.locator(f"#feedback-triage li[data-id='{feedback_id}']")
    expect(item).to_be_visible()
    expect(page.locator("#feedback-summary")).to_be_visible()
    item.locator("input[name=reply]").fill("Next release shows the photos still queued")
    item.locator("button[data-move=accepted]").click()
    expect(page.locator("#toast")).to_have_attribute("data-kind", "ok")
    expect(page.locator(f"#feedback-triage li[data-id='{feedback_id}']")).to_have_count(0)  # left the "new" tab
    page.locator("#feedback-tabs [data-status=accepted]").click()
    expect(page.locator(f"#feedback-triage li[data-id='{feedback_id}']")).to_contain_text("Next release")
    no_sideways_scroll(page)
    manager.screenshot("feedback-triage-en")

    page = agent.open("/inbox")
    expect(page.locator("#inbox, main.screen").first).to_contain_text("Next release shows the photos still queued")
    expect(page.locator("main.screen").first).to_contain_text("已采纳")
    agent.screenshot("feedback-reply-inbox-zh")
