from typing import Any
from playwright.sync_api import expect
from tests.browser.support import PHONE
from tests.browser.test_pwa_frame import own_server, sign_in, OwnServer  # noqa: F401


def test_debug(browser: Any, own_server: OwnServer) -> None:
    context = browser.new_context(**PHONE, locale="zh-CN")
    page = context.new_page()
    logs = []
    page.on("console", lambda m: logs.append(m.text))
    page.on("framenavigated", lambda f: logs.append("NAV " + f.url))
    sign_in(page, own_server.url)
    page.locator("#today-visits li a").first.click()
    expect(page.locator("#visit")).to_be_visible()
    own_server.stop()
    expect(page.locator("body")).to_have_attribute("data-connection", "reconnecting")
    logs.append("URL-before-start " + page.url)
    own_server.start()
    expect(page.locator("body")).to_have_attribute("data-connection", "online", timeout=30_000)
    page.wait_for_timeout(1500)
    logs.append("URL " + page.url)
    logs.append(page.evaluate("Array.from(document.querySelectorAll('#app > div')).map(d => d.className + ':' + d.hidden + ':' + (d.querySelector('main') ? d.querySelector('main').id : '-')).join(' | ')"))
    print("\n".join(logs))
    context.close()
