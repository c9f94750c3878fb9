"""Installable PWA: a valid manifest with its icons, a registered service worker, no installability errors in
Chromium (persistent context: an ordinary one reports "in-incognito"), and nothing fetched from another origin."""

from __future__ import annotations

import io
import json
import urllib.request
from typing import Any

import pytest
from PIL import Image

from tests.support.browser import CHROMIUM_ARGS, PHONE
from tests.support.demo import Server

pytestmark = pytest.mark.browser


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


def test_manifest_is_complete_and_its_icons_match_their_sizes(served: Server) -> None:
    status, headers, body = fetch(served.base + "/manifest.webmanifest")
    assert status == 200 and headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(body)
    for key in ("name", "short_name", "start_url", "scope", "display", "theme_color", "background_color", "lang",
                "icons"):
        assert manifest.get(key), key
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/" and manifest["scope"] == "/"
    purposes: dict[str, set[str]] = {}
    for icon in manifest["icons"]:
        assert icon["src"].startswith("/static/"), "icons are served by the app under a revisioned path"
        _, icon_headers, data = fetch(served.base + icon["src"])
        assert icon_headers["content-type"] == "image/png"
        width, height = Image.open(io.BytesIO(data)).size
        assert icon["sizes"] == f"{width}x{height}"
        purposes.setdefault(icon["purpose"], set()).add(icon["sizes"])
    assert purposes["any"] >= {"192x192", "512x512"} and purposes["maskable"] >= {"192x192", "512x512"}


def test_service_worker_is_served_for_the_whole_origin(served: Server) -> None:
    status, headers, body = fetch(served.base + "/sw.js")
    assert status == 200 and headers["service-worker-allowed"] == "/"
    assert headers["content-type"].startswith("text/javascript") and headers["cache-control"] == "no-cache"
    assert b"__REVISION__" not in body and b"__PRECACHE__" not in body


def test_login_page_has_ios_and_manifest_tags(served: Server) -> None:
    _, _, body = fetch(served.base + "/login")
    page = body.decode()
    for needle in ('rel="manifest"', 'rel="apple-touch-icon"', 'name="apple-mobile-web-app-capable"',
                   'name="theme-color"', "viewport-fit=cover"):
        assert needle in page, needle


def test_app_is_installable_in_chromium_and_stays_on_its_origin(playwright_driver: Any, chromium_path: str,
                                                                 served: Server, tmp_path: Any) -> None:
    context = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=chromium_path, args=CHROMIUM_ARGS, **PHONE, locale="zh-CN")
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(served.base + "/login")
        page.fill("#username", "lina")
        page.fill("#password", "demo1234")
        page.click("button[type=submit]")
        page.wait_for_url(served.base + "/")
        page.wait_for_selector("#today-visits li")
        page.wait_for_function("navigator.serviceWorker.controller !== null || "
                               "navigator.serviceWorker.ready.then(() => true)")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest.get("errors") == [], manifest.get("errors")
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == [], errors
        cached = page.evaluate("""async () => {
            const names = await caches.keys();
            const cache = await caches.open(names.find((n) => n.startsWith("ipms-static-")));
            return (await cache.keys()).map((r) => new URL(r.url).pathname);
        }""")
        assert any(path.endswith("/app.css") for path in cached)
        assert any(path.endswith("/fieldkit/capture.js") for path in cached)
        assert any(path.endswith("/reactpy/index.js") for path in cached)
    finally:
        context.close()
    allowed = (served.base, "data:", "blob:", served.base.replace("http", "ws", 1))
    assert [url for url in requests if not url.startswith(allowed)] == []
