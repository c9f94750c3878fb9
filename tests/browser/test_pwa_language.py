"""Every screen in both languages: no raw catalog key anywhere, and on a Chinese screen no Latin-script word
outside a short allow-list. Saves a screenshot of every screen in both languages under tests/browser/artifacts/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from pwa.i18n import catalog
from tests.support.demo import Server

pytestmark = pytest.mark.browser
ALLOWED_LATIN = {"IPMS", "English", "CN", "km", "m", "KB", "MB", "GB"}  # brand, the language's own name, units
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# Identifiers shown as data (usernames, branch codes, time zone names) carry translate="no" and are left out.
VISIBLE_TEXT = """() => {
    let body = document.body.innerText;
    for (const el of document.querySelectorAll("[translate=no]")) body = body.split(el.innerText).join(" ");
    const texts = [document.title, body];
    for (const el of document.querySelectorAll("[placeholder], [aria-label], [title], img[alt]")) {
        for (const name of ["placeholder", "aria-label", "title", "alt"]) {
            if (el.hasAttribute(name)) texts.push(el.getAttribute(name));
        }
    }
    return texts.join("\\n");
}"""


def first(served: Server, sql: str, *args: Any) -> str:
    with served.db() as db:
        return db.execute(sql, args).fetchone()[0]


def screens_of(served: Server) -> dict[str, list[tuple[str, str]]]:
    lina = served.user_id("lina")
    client = first(served, "SELECT id FROM clients WHERE owner = ? ORDER BY name", lina)
    project = first(served, "SELECT id FROM projects WHERE owner = ? AND status = 'open' ORDER BY title", lina)
    visit = first(served, "SELECT id FROM visits WHERE owner = ? ORDER BY scheduled_at DESC", lina)
    return {
        "lina": [("agent-home", "/"), ("clients", "/clients"), ("client", f"/clients/{client}"),
                 ("pipeline-potential", "/pipeline?state=potential"), ("pipeline-following", "/pipeline"),
                 ("pipeline-won", "/pipeline?state=won"), ("pipeline-lost", "/pipeline?state=lost"),
                 ("visit", f"/visits/{visit}"), ("project", f"/projects/{project}"), ("inbox", "/inbox"),
                 ("settings", "/settings"), ("not-found", "/clients/not-a-client")],
        "wangqiang": [("manager", "/"), ("manager-stage", "/manager?stage=signing")],
        "chenjing": [("finance", "/")],
        "zhangwei": [("legal-home", "/")],
        "admin": [("admin-users", "/"), ("admin-branches", "/admin?tab=branches"), ("admin-lines", "/admin?tab=lines"),
                  ("admin-templates", "/admin?tab=templates")],
    }


def raw_keys(text: str) -> list[str]:
    keys = set(catalog("zh"))
    return sorted({token for token in re.findall(r"[a-z_]+\.[a-z_.]+", text) if token in keys})


def latin_words(text: str) -> list[str]:
    return sorted({word for word in LATIN_WORD.findall(text) if word not in ALLOWED_LATIN})


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_screen_speaks_the_language_without_raw_keys(phones: Any, served: Server, lang: str) -> None:
    problems: list[str] = []
    for username, screens in screens_of(served).items():
        device = phones(lang)
        device.sign_in(username)
        for name, path in screens:
            page = device.open(path)
            expect(page.locator(".app")).to_have_attribute("data-lang", lang)
            text = page.evaluate(VISIBLE_TEXT)
            device.screenshot(f"{lang}-{name}")
            if keys := raw_keys(text):
                problems.append(f"{lang} {path}: raw catalog keys {keys}")
            if lang == "zh" and (words := latin_words(text)):
                problems.append(f"zh {path} ({username}): Latin words {words}")
            if lang == "en":
                expect(page.locator("nav.bottom-nav")).to_contain_text(
                    "Me")  # the English catalog, not the Chinese one
        device.close()
    assert problems == []


def test_sign_in_page_in_both_languages(phones: Any, served: Server) -> None:
    for lang, label in (("zh", "登录"), ("en", "Sign in")):
        device = phones(lang)
        device.page.goto(served.base + "/login")
        expect(device.page.locator("button[type=submit]")).to_have_text(label)
        device.page.fill("#username", "lina")
        device.page.fill("#password", "wrong password")
        device.page.click("button[type=submit]")
        expect(device.page.locator(".message.error")).to_be_visible()
        device.screenshot(f"{lang}-sign-in-error")
        if lang == "zh":
            assert latin_words(device.page.evaluate(VISIBLE_TEXT)) == []


def test_language_setting_overrides_the_browser_and_persists(phones: Any, served: Server) -> None:
    device = phones("zh")
    device.sign_in("shpd_agent3")
    page = device.open("/settings")
    page.click("#language-choices [data-lang=en]")
    expect(page.locator(".app")).to_have_attribute("data-lang", "en")
    expect(page.locator("#screen-title")).to_have_text("Settings")
    page.wait_for_function("document.documentElement.lang === 'en'")
    page = device.open("/")
    expect(page.locator("nav.bottom-nav")).to_contain_text("Clients")
    with served.db() as db:
        assert db.execute("SELECT language FROM users WHERE username = 'shpd_agent3'").fetchone()[0] == "en"
    page = device.open("/settings")
    page.click("#language-choices [data-lang=auto]")
    page = device.open("/settings")
    expect(page.locator(".app")).to_have_attribute("data-lang", "zh")


def test_choosing_auto_shows_the_browsers_language_at_once(phones: Any, served: Server) -> None:
    device = phones("zh")
    device.sign_in("shpd_agent2")
    page = device.open("/settings")
    page.click("#language-choices [data-lang=en]")
    expect(page.locator(".app")).to_have_attribute("data-lang", "en")
    page.click("#language-choices [data-lang=auto]")
    expect(page.locator(".app")).to_have_attribute("data-lang", "zh")
    expect(page.locator("#language-choices [data-lang=auto]")).to_have_attribute("aria-checked", "true")
    expect(page.locator("#screen-title")).to_have_text(catalog("zh")["screen.settings"])
