"""The ReactPy page end to end: sign in at /login, see exactly your own clients, lose the session elsewhere,
and a websocket from a foreign Origin is refused."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.support.demo import Server

pytestmark = pytest.mark.browser

AGENT, PASSWORD = "lina", "demo1234"  # the demo organisation's agent in 上海浦东店 (SH-PD)
WAIT_MS = 30_000  # upper bound for page conditions


def db_rows(server: Server, sql: str, *params: Any) -> list[tuple]:
    with sqlite3.connect(f"file:{server.data_dir / 'ipms.sqlite3'}?mode=ro", uri=True) as connection:
        return connection.execute(sql, params).fetchall()


def api_session(server: Server, username: str = AGENT) -> tuple[str, str]:
    """Sign in over the JSON API; returns (session cookie, CSRF token)."""
    response = httpx.post(f"{server.url}/api/auth/login", json={"username": username, "password": PASSWORD},
                          headers={"origin": server.url})
    assert response.status_code == 201, response.text
    return response.cookies["ipms_session"], response.json()["csrf_token"]


def api_client_ids(server: Server, token: str) -> set[str]:
    ids: set[str] = set()
    while True:
        page = httpx.get(f"{server.url}/api/clients", params={"limit": 100, "offset": len(ids)},
                         cookies={"ipms_session": token}).json()
        ids |= {item["id"] for item in page["items"]}
        if len(ids) >= page["total"] or not page["items"]:
            return ids


def test_agent_sees_exactly_own_clients_and_loses_session_elsewhere(demo_server, phone, artifacts):
    server = demo_server
    (agent_id, branch_id, display_name), = db_rows(
        server, "SELECT id, branch, display_name FROM users WHERE username = ?", AGENT)
    own = {row[0] for row in db_rows(server, "SELECT id FROM clients WHERE owner = ?", agent_id)}
    colleagues = {row[0] for row in db_rows(
        server, "SELECT c.id FROM clients c JOIN users u ON u.id = c.owner "
                "WHERE u.branch = ? AND u.role = 'agent' AND u.id != ?", branch_id, agent_id)}
    assert own and colleagues, "the demo data must give the agent and a same-branch colleague clients"

    page = phone.new_page()
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{server.url}/")
    page.wait_for_url(f"{server.url}/login")  # signed out: / sends you to the sign-in form
    page.fill("#username", AGENT)
    page.fill("#password", PASSWORD)
    page.screenshot(path=str(artifacts / "home-1-login.png"))
    page.locator("button[type=submit]").tap()
    page.wait_for_url(f"{server.url}/")

    page.locator("#user-name").wait_for(timeout=WAIT_MS)
    assert page.locator("#user-name").inner_text() == display_name == "李娜"
    assert page.locator("#user-role").get_attribute("data-role") == "agent"
    assert page.locator("#user-role").inner_text() == "经纪人"
    page.screenshot(path=str(artifacts / "home-2-home.png"))

    # The client list: one tap in the bottom navigation (same websocket), then every page of it.
    page.locator("nav a[href='/clients']").first.tap()
    page.wait_for_url(f"{server.url}/clients")
    page.locator("#client-list li[data-id]").first.wait_for(timeout=WAIT_MS)
    while page.locator("#more-clients").count():
        page.locator("#more-clients").tap()
    page.wait_for_function("n => document.querySelectorAll('#client-list li[data-id]').length === n",
                           arg=len(own), timeout=WAIT_MS)
    shown = page.locator("#client-list li[data-id]").evaluate_all("items => items.map(li => li.dataset.id)")
    assert len(shown) == len(set(shown))
    token = next(c["value"] for c in phone.cookies() if c["name"] == "ipms_session")
    assert set(shown) == own == api_client_ids(server, token)
    assert not set(shown) & colleagues
    names = dict(db_rows(server, "SELECT id, name FROM clients WHERE owner = ?", agent_id))
    first = page.locator("#client-list li[data-id]").first
    assert names[first.get_attribute("data-id")] in first.inner_text()
    page.screenshot(path=str(artifacts / "home-3-clients.png"))
    assert sockets and all(url.startswith(f"ws://127.0.0.1:{server.port}/reactpy/pwa.app.root/") for url in sockets)

    # Sign out elsewhere with the same session (another tab, the API); the page's next event finds it gone.
    csrf = page.locator("meta[name=csrf-token]").get_attribute("content")
    out = httpx.post(f"{server.url}/api/auth/logout", cookies={"ipms_session": token},
                     headers={"x-csrf-token": csrf, "origin": server.url})
    assert out.status_code == 200, out.text
    assert page.locator("#user-name").is_visible()  # nothing pushed to the page yet
    page.locator("#refresh").tap()
    page.locator("#sign-in-link").wait_for(timeout=WAIT_MS)
    assert page.locator("#client-list").count() == 0 and page.locator("#user-name").count() == 0
    assert page.locator("#client-list li").count() == 0
    page.screenshot(path=str(artifacts / "home-4-signed-out.png"))
    page.locator("#sign-in-link").tap()
    page.wait_for_url(f"{server.url}/login")
    assert not errors, errors


def _open_socket(server: Server, origin: str | None, token: str) -> list[dict[str, Any]]:
    """Connect like ReactPy's client does; returns the messages received until the user's name shows up.

    (websockets' sync client: Playwright's sync API keeps an event loop running in this thread.)"""
    url = f"ws://127.0.0.1:{server.port}/reactpy/pwa.app.root/?path=%2F"
    with connect(url, origin=origin, additional_headers={"cookie": f"ipms_session={token}"},
                 open_timeout=WAIT_MS / 1000) as socket:
        messages: list[dict[str, Any]] = []
        while not any("李娜" in json.dumps(m, ensure_ascii=False) for m in messages):
            messages.append(json.loads(socket.recv(timeout=WAIT_MS / 1000)))
        return messages


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1.evil.example", "null", None],
                         ids=["foreign", "lookalike", "null", "missing"])
def test_websocket_from_foreign_origin_is_refused(demo_server, origin):
    server = demo_server
    token, _ = api_session(server)
    with pytest.raises(InvalidStatus) as refused:
        _open_socket(server, origin, token)
    assert refused.value.response.status_code == 403


def test_websocket_from_own_origin_renders_the_user(demo_server):
    server = demo_server
    token, _ = api_session(server)
    messages = _open_socket(server, server.url, token)
    assert messages[-1]["type"] == "layout-update"
