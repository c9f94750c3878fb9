"""The one-time notification prompt after sign-in: shown once, never asks the browser on its own, remembered."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_prompt_shows_once_after_sign_in_and_never_asks_by_itself(phones: Any) -> None:
    phone = phones()
    page = phone.sign_in("lina")
    prompt = page.locator("#push-prompt")
    expect(prompt).to_be_visible()
    expect(prompt).to_have_attribute("data-push-prompt", "ask")
    expect(page.locator("#push-prompt-on")).to_be_visible()
    # Permission is only requested from the button's click: loading the page asked nothing.
    assert page.evaluate("Notification.permission") == "default"
    phone.screenshot("push-prompt")
    page.click("#push-prompt-later")
    expect(prompt).to_have_count(0)
    page.reload()
    phone.ready()
    expect(page.locator("#push-prompt")).to_have_count(0)
    # The settings screen still offers the switch.
    page.click("nav.bottom-nav a[data-screen=settings]")
    expect(page.locator("#push-on")).to_be_visible()


def test_prompt_is_per_user_on_a_shared_phone(phones: Any) -> None:
    phone = phones()
    page = phone.sign_in("lina")
    page.click("#push-prompt-later")
    expect(page.locator("#push-prompt")).to_have_count(0)
    phone.context.clear_cookies()
    page = phone.sign_in("shpd_agent2")
    expect(page.locator("#push-prompt")).to_be_visible()
