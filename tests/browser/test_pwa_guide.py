"""Issue 14, first-run guide: a new agent sees it once on the home screen, step by step on the real controls; the
step is remembered per user (another phone resumes there); closed, it stays closed; Settings starts it again."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.browser import PASSWORD
from tests.support.demo import Server

pytestmark = pytest.mark.browser
NEW_PASSWORD = "xinren own 2026"


def new_agent(served: Server, username: str) -> None:
    """Setup through the API: the admin invites an agent, who sets their own password."""
    with httpx.Client(base_url=served.base, timeout=30) as admin:
        signed = admin.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
        branch = signed.json()["user"]["branch_id"]
        made = admin.post("/api/users/invite", json={"username": username, "display_name": "新人小周", "role": "agent",
                                                     "branch_id": branch},
                          headers={"x-csrf-token": signed.json()["csrf_token"]})
        assert made.status_code == 201, made.text
    with httpx.Client(base_url=served.base, timeout=30) as agent:
        signed = agent.post("/api/auth/login", json={"username": username,
                                                     "password": made.json()["one_time_password"]})
        changed = agent.post("/api/auth/password", json={"current_password": made.json()["one_time_password"],
                                                         "new_password": NEW_PASSWORD},
                             headers={"x-csrf-token": signed.json()["csrf_token"]})
        assert changed.status_code == 200, changed.text


def sign_in(phone: Any, username: str) -> Any:
    page = phone.page
    page.goto(phone.served.base + "/login")
    page.fill("#username", username)
    page.fill("#password", NEW_PASSWORD)
    page.click("button[type=submit]")
    phone.ready()
    return page


def test_guide_appears_once_for_a_new_agent_and_can_be_resumed(phones: Any, served: Server) -> None:
    new_agent(served, "xiaozhou_guide")
    phone = phones()
    page = sign_in(phone, "xiaozhou_guide")
    guide = page.locator("#guide")
    expect(guide).to_be_visible()
    expect(guide).to_have_attribute("data-step", "0")
    expect(page.locator("#home > section.card").first).to_have_class("card guide-target")  # today's visits
    phone.screenshot("guide-step1-zh")
    page.locator("#guide-next").click()
    expect(guide).to_have_attribute("data-step", "1")
    expect(page.locator(".bottom-nav [data-screen=clients].guide-target")).to_be_attached()

    other = phones("en")  # another phone: the same user resumes at the same step
    page2 = sign_in(other, "xiaozhou_guide")
    expect(page2.locator("#guide")).to_have_attribute("data-step", "1")
    expect(page2.locator("#guide")).to_contain_text("Capture clients fast")
    other.screenshot("guide-step2-en")
    page2.locator("#guide-close").click()
    expect(page2.locator("#guide")).to_have_count(0)

    page = phone.open("/")
    expect(page.locator("#guide-slot")).to_be_attached()
    expect(page.locator("#guide")).to_have_count(0)  # closed once, closed everywhere
    page = phone.open("/settings")
    page.locator("#guide-again").click()
    expect(page.locator("#guide")).to_be_visible()
    expect(page.locator("#guide")).to_have_attribute("data-step", "0")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
