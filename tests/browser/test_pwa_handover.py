"""An agent moves to another branch: the old branch's manager finds their open work on the manager screen (zh and
en), offered only to users who may own it, and hands a client over with the existing reassign action."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.browser import PASSWORD
from tests.support.demo import Server

pytestmark = pytest.mark.browser
MOVED = "shpd_agent3"


def admin_moves(served: Server, username: str) -> str:
    """The admin moves `username` to another branch through the API; returns the branch it left."""
    with served.db() as db:
        user = db.execute("SELECT id, branch, version FROM users WHERE username = ?", (username,)).fetchone()
        elsewhere = db.execute("SELECT id FROM branches WHERE id != ? AND code != 'HQ' ORDER BY code",
                               (user["branch"],)).fetchone()["id"]
    with httpx.Client(base_url=served.base, timeout=30) as admin:
        signed = admin.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
        assert signed.status_code in (200, 201), signed.text
        moved = admin.patch(f"/api/users/{user['id']}", json={"branch_id": elsewhere, "version": user["version"]},
                            headers={"x-csrf-token": signed.json()["csrf_token"]})
        assert moved.status_code == 200, moved.text
    return user["branch"]


def open_work(served: Server, owner: str, branch: str) -> set[str]:
    queries = ("SELECT id FROM clients WHERE owner = ? AND branch = ?",
               "SELECT id FROM opportunities WHERE owner = ? AND branch = ? AND state IN ('potential', 'following')",
               "SELECT id FROM projects WHERE owner = ? AND branch = ? AND status = 'open'",
               "SELECT id FROM visits WHERE owner = ? AND branch = ? AND status = 'planned'",
               "SELECT id FROM project_milestones WHERE owner = ? AND branch = ? AND state = 'open'")
    with served.db() as db:
        return {row[0] for sql in queries for row in db.execute(sql, (owner, branch))}


def test_manager_hands_over_the_work_of_an_agent_who_moved(phones: Any, served: Server) -> None:
    moved = served.user_id(MOVED)
    old_branch = admin_moves(served, MOVED)
    expected = open_work(served, moved, old_branch)
    assert expected
    manager = phones()
    page = manager.sign_in("wangqiang")
    page = manager.open("/manager")
    person = page.locator(f"#left-work li.handover-person[data-id='{moved}']")
    expect(person).to_be_visible()
    expect(person).to_contain_text("已调往")
    shown = set(person.locator("li.handover-item").evaluate_all("els => els.map(e => e.dataset.id)"))
    assert shown == expected
    person.scroll_into_view_if_needed()
    manager.screenshot("manager-left-work-zh")
    client = person.locator("li.handover-item[data-resource=client]").first
    client_id = client.get_attribute("data-id")
    client.locator("[data-action=reassign]").click()
    expect(client.locator("select[name=owner_id] option").first).to_be_attached()  # the form arrives over the socket
    options = set(client.locator("select[name=owner_id] option").evaluate_all("os => os.map(o => o.value)"))
    with served.db() as db:
        allowed = {row[0] for row in db.execute(
            "SELECT id FROM users WHERE branch = ? AND is_active AND role IN ('agent', 'branch_manager')",
            (old_branch,))}
    assert options and options <= allowed and moved not in options
    target = served.user_id("lina")
    client.locator("select[name=owner_id]").select_option(target)
    client.locator("button[type=submit]").click()
    expect(page.locator("#toast")).to_have_attribute("data-kind", "ok")
    with served.db() as db:
        assert db.execute("SELECT owner FROM clients WHERE id = ?", (client_id,)).fetchone()[0] == target
    expect(page.locator(f"#left-work li.handover-item[data-id='{client_id}']")).to_have_count(0)
    english = phones("en")
    page = english.sign_in("wangqiang")
    page = english.open("/manager")
    expect(page.locator("#manager")).to_contain_text("Open work of people who left")
    expect(page.locator(f"#left-work li.handover-person[data-id='{moved}']")).to_contain_text("Moved to")
    page.locator("#left-work").scroll_into_view_if_needed()
    english.screenshot("manager-left-work-en")
