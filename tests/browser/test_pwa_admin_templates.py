"""Issue 14, lifecycle template editor: the admin adds a milestone with an SLA and an escalation step on screen and
saves a new version; a project started afterwards runs the new version while a running one keeps the old; a bad
SLA is refused naming its field. Both languages at 390 px without sideways scrolling."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.browser import PASSWORD
from tests.support.demo import Server

pytestmark = pytest.mark.browser


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide"


def start_project(served: Server, line: str) -> str:
    """An agent starts a project of `line` through the API (setup, not the step under test)."""
    with httpx.Client(base_url=served.base, timeout=30) as agent:
        signed = agent.post("/api/auth/login", json={"username": "lina", "password": PASSWORD})
        assert signed.status_code in (200, 201), signed.text
        made = agent.post("/api/projects", json={"title": "模板新版测试", "business_line_id": line},
                          headers={"x-csrf-token": signed.json()["csrf_token"]})
        assert made.status_code == 201, made.text
        return str(made.json()["id"])


def test_admin_adds_a_milestone_and_new_projects_get_the_new_version(phones: Any, served: Server) -> None:
    with served.db() as db:
        line = db.execute("SELECT id FROM business_lines WHERE key = 'real_estate'").fetchone()[0]
        running = db.execute("SELECT id, template_version FROM projects WHERE business_line = ? AND status = 'open' "
                             "AND template_version IS NOT NULL LIMIT 1", (line,)).fetchone()
        old_number = db.execute("SELECT max(number) FROM lifecycle_template_versions WHERE business_line = ?",
                                (line,)).fetchone()[0]
    admin = phones()
    page = admin.sign_in("admin")
    page.locator("#admin-tabs [data-tab=templates]").click()
    page.locator(f"#admin-templates li[data-id='{line}'] a").click()
    editor = page.locator("#template-editor")
    expect(editor).to_be_visible()
    expect(page.locator(f"#template-versions li[data-number='{old_number}']")).not_to_have_attribute(
        "data-running", "0")
    no_sideways_scroll(page)
    admin.screenshot("admin-template-zh")
    stage = page.locator("#template-stages li.template-stage").nth(2)
    stage_key = stage.get_attribute("data-key")
    stage.locator("[data-action=edit]").click()
    form = page.locator("#stage-form")
    expect(form).to_be_visible()
    new = form.locator("#new-milestone")
    new.locator("input[name$=_key]").fill("keys_handover")
    new.locator("input[name$=_title_zh]").fill("交接钥匙")
    new.locator("input[name$=_title_en]").fill("Hand over the keys")
    new.locator("input[name$=_sla_hours]").fill("0")  # refused, naming the field
    step = form.locator("#new-step")
    step.locator("input[name$=_after_hours]").fill("240")  # after the ladder's existing levels
    step.locator("select[name$=_to]").select_option("branch_manager")
    form.locator("#apply-stage").click()
    error = page.locator("#template-error")
    expect(error).to_be_visible()
    assert "sla_hours" in (error.get_attribute("data-field") or "")
    expect(page.locator("#stage-form")).to_be_visible()
    new = page.locator("#stage-form #new-milestone, #stage-form [data-row=keys_handover]").first
    new.locator("input[name$=_sla_hours]").fill("48")
    page.locator("#stage-form #apply-stage").click()
    expect(page.locator("#stage-form")).to_have_count(0)
    expect(page.locator("#template-error")).to_have_count(0)
    no_sideways_scroll(page)
    admin.screenshot("admin-template-edited-zh")
    page.locator("#save-template").click()
    expect(page.locator("#toast")).to_have_attribute("data-kind", "ok")
    expect(page.locator(f"#template-versions li[data-number='{old_number + 1}']")).to_be_visible()

    with served.db() as db:
        newest = db.execute("SELECT id, definition FROM lifecycle_template_versions WHERE business_line = ? "
                            "AND number = ?", (line, old_number + 1)).fetchone()
    assert newest is not None and "keys_handover" in newest[1] and '"sla_hours":48' in newest[1]
    assert stage_key in newest[1]
    project = start_project(served, line)
    with served.db() as db:
        assert db.execute("SELECT template_version FROM projects WHERE id = ?", (project,)).fetchone()[0] == newest[0]
        if running is not None:
            assert db.execute("SELECT template_version FROM projects WHERE id = ?",
                              (running[0],)).fetchone()[0] == running[1]

    english = phones("en")
    page = english.sign_in("admin")
    page = english.open(f"/admin?tab=templates&line={line}")
    expect(page.locator("#template-editor")).to_contain_text("projects running")
    expect(page.locator(f"#template-versions li[data-number='{old_number + 1}']")).to_have_attribute(
        "data-running", "1")
    no_sideways_scroll(page)
    english.screenshot("admin-template-en")
