"""The field flows on a phone: find a client by tag, win an opportunity, work a project's lifecycle (tick, guard,
advance), upload a photo, record a collection, and reassign a milestone away from an agent's home."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support.demo import Server

pytestmark = pytest.mark.browser


def one(served: Server, sql: str, *args: Any) -> Any:
    with served.db() as db:
        return db.execute(sql, args).fetchone()


def test_find_a_client_by_tag_and_open_the_profile(phones: Any, served: Server) -> None:
    lina = served.user_id("lina")
    device = phones()
    device.sign_in("lina")
    page = device.open("/clients")
    tag = page.locator("#tag-filters button").first.get_attribute("data-tag")
    page.click(f"#tag-filters button[data-tag='{tag}']")
    expect(page.locator(f"#tag-filters button[data-tag='{tag}']")).to_have_attribute("aria-pressed", "true")
    assert "tag=" in page.url
    with served.db() as db:
        expected = {row["id"] for row in db.execute("SELECT id, tags FROM clients WHERE owner = ?", (lina,))
                    if tag in json.loads(row["tags"])}
    expect(page.locator("#client-list li")).to_have_count(len(expected))
    assert set(page.eval_on_selector_all("#client-list li", "els => els.map(e => e.dataset.id)")) == expected
    page.locator("#client-list li a").first.click()
    expect(page.locator("#client-tags")).to_contain_text(tag)
    expect(page.locator("#similar-clients li").first).to_be_visible()
    device.screenshot("flow-client-by-tag")
    page.go_back()
    expect(page.locator(f"#tag-filters button[data-tag='{tag}']")).to_have_attribute("aria-pressed", "true")


def test_create_an_opportunity_and_move_it_to_won(phones: Any, served: Server) -> None:
    lina = served.user_id("lina")
    client = one(served, "SELECT id FROM clients WHERE owner = ? ORDER BY name DESC", lina)["id"]
    title = f"测试商机 {uuid.uuid4().hex[:6]}"
    device = phones()
    device.sign_in("lina")
    page = device.open(f"/clients/{client}")
    page.click("#new-opportunity")
    page.fill("#new-opportunity-form input[name=title]", title)
    page.fill("#new-opportunity-form input[name=value]", "650000")
    page.click("#new-opportunity-form button[type=submit]")
    expect(page.locator("#client-opportunities")).to_contain_text(title)
    page = device.open("/pipeline?state=potential")
    card = page.locator("#opportunities article", has_text=title)
    card.locator("[data-move=following]").click()
    expect(page.locator("#toast")).to_be_visible()
    page.click("#pipeline-tabs [data-state=following]")
    card = page.locator("#opportunities article", has_text=title)
    card.locator("[data-move=won]").click()
    card.locator("[data-action=confirm-won]").click()  # won asks to confirm
    expect(page.locator("#opportunities article", has_text=title)).to_have_count(0)
    page.click("#pipeline-tabs [data-state=won]")
    expect(page.locator("#opportunities article", has_text=title)).to_have_attribute("data-state", "won")
    device.screenshot("flow-opportunity-won")
    row = one(served, "SELECT state, value, closed_at FROM opportunities WHERE title = ?", title)
    assert row["state"] == "won" and float(row["value"]) == 650000 and row["closed_at"]


def test_lost_needs_a_reason(phones: Any, served: Server) -> None:
    lina = served.user_id("lina")
    opportunity = one(served, "SELECT id, title FROM opportunities WHERE owner = ? AND state = 'potential'", lina)
    device = phones()
    device.sign_in("lina")
    page = device.open("/pipeline?state=potential")
    card = page.locator(f"#opportunities article[data-id='{opportunity['id']}']")
    card.locator("[data-move=lost]").click()
    card.locator("input[name=reason]").fill("客户预算不足")
    card.locator("button[type=submit]").click()
    expect(page.locator(f"#opportunities article[data-id='{opportunity['id']}']")).to_have_count(0)
    assert one(served, "SELECT lost_reason FROM opportunities WHERE id = ?", opportunity["id"])[0] == "客户预算不足"


def blocked_project(served: Server, username: str) -> tuple[str, str, list[str]]:
    """A project of `username` whose current stage requires a milestone they own and one someone else owns."""
    me = served.user_id(username)
    with served.db() as db:
        projects = db.execute("SELECT p.id, p.stage_key, t.definition FROM projects p "
                              "JOIN lifecycle_template_versions t ON t.id = p.template_version "
                              "WHERE p.owner = ? AND p.status = 'open' ORDER BY p.title",
                              (me,)).fetchall()
        for project in projects:
            stage = next(s for s in json.loads(project["definition"])["stages"] if s["key"] == project["stage_key"])
            required = set(stage.get("requires", []))
            open_rows = db.execute("SELECT m.id, m.key, m.owner FROM project_milestones m JOIN project_stages s "
                                   "ON s.id = m.stage WHERE m.project = ? AND m.state = 'open' AND s.left_at IS NULL",
                                   (project["id"],)).fetchall()
            mine = [r["id"] for r in open_rows if r["owner"] == me and r["key"] in required]
            others = [r["id"] for r in open_rows if r["owner"] != me and r["key"] in required]
            if mine and others:
                return project["id"], mine[0], others
    raise AssertionError(f"the demo has no suitable project for {username}")


def test_tick_a_milestone_see_the_guard_then_advance(phones: Any, served: Server) -> None:
    project, mine, others = blocked_project(served, "lina")
    stage_before = one(served, "SELECT stage_key FROM projects WHERE id = ?", project)[0]
    agent = phones()
    agent.sign_in("lina")
    page = agent.open(f"/projects/{project}")
    page.click(f"#milestones li[data-id='{mine}'] [data-action=toggle]")
    expect(page.locator(f"#milestones li[data-id='{mine}']")).to_have_attribute("data-state", "done")
    page.click("#advance-stage")
    expect(page.locator("#guard-message")).to_be_visible()
    agent.screenshot("flow-project-guard")
    assert one(served, "SELECT stage_key FROM projects WHERE id = ?", project)[0] == stage_before
    manager = phones()
    manager.sign_in("wangqiang")
    page = manager.open(f"/projects/{project}")
    for milestone in others:
        page.click(f"#milestones li[data-id='{milestone}'] [data-action=toggle]")
        expect(page.locator(f"#milestones li[data-id='{milestone}']")).to_have_attribute("data-state", "done")
    page.click("#advance-stage")
    expect(page.locator("#project")).not_to_have_attribute("data-stage", stage_before)
    assert one(served, "SELECT stage_key FROM projects WHERE id = ?", project)[0] != stage_before
    manager.screenshot("flow-project-advanced")


def test_upload_a_photo_and_see_its_thumbnail(phones: Any, served: Server, tmp_path: Path) -> None:
    lina = served.user_id("lina")
    visit = one(served, "SELECT id FROM visits WHERE owner = ? AND status = 'planned' ORDER BY scheduled_at", lina)[0]
    picture = tmp_path / "viewing.jpg"
    Image.new("RGB", (2400, 1800), (180, 120, 60)).save(picture, quality=90)
    device = phones()
    device.sign_in("lina")
    page = device.open(f"/visits/{visit}")
    before = page.locator("#gallery img").count()
    page.set_input_files("input[data-capture-input=library]", str(picture))
    expect(page.locator("#gallery img")).to_have_count(before + 1)
    thumbnail = page.locator("#gallery img").last
    expect(thumbnail).to_have_js_property("complete", True)
    assert thumbnail.evaluate("img => img.naturalWidth") > 0
    photo = one(served, "SELECT id, taken_at FROM photos WHERE visit = ? ORDER BY created_at DESC", visit)
    assert thumbnail.get_attribute("src") == f"/api/photos/{photo['id']}/thumbnail"
    device.screenshot("flow-photo-uploaded")


def test_record_a_collection_as_finance(phones: Any, served: Server) -> None:
    device = phones()
    page = device.sign_in("chenjing")
    item = page.locator("#to-record li").first
    project = item.get_attribute("data-id")
    before = one(served, "SELECT collected_amount, contract_value FROM projects WHERE id = ?", project)
    item.locator("[data-action=record]").click()
    item = page.locator(f"li[data-id='{project}']")
    item.locator("input[name=amount]").fill("1000")
    item.locator("button[type=submit]").click()
    expect(page.locator("#toast")).to_have_attribute("data-kind", "ok")
    after = one(served, "SELECT collected_amount FROM projects WHERE id = ?", project)
    assert float(after[0]) == pytest.approx(float(before["collected_amount"]) + 1000)
    assert one(served, "SELECT count(*) FROM project_collections WHERE project = ? AND amount = 1000", project)[0] >= 1
    device.screenshot("flow-collection-recorded")


def test_branch_manager_reassigns_a_milestone_off_the_agents_home(phones: Any, served: Server) -> None:
    lina, other = served.user_id("lina"), served.user_id("shpd_agent2")
    milestone = one(served, "SELECT id, project FROM project_milestones WHERE owner = ? AND state = 'open' "
                            "ORDER BY due_at", lina)
    agent = phones()
    page = agent.sign_in("lina")
    expect(page.locator(f"#my-milestones li[data-id='{milestone['id']}']")).to_have_count(1)
    manager = phones()
    manager.sign_in("wangqiang")
    page = manager.open(f"/projects/{milestone['project']}")
    row = page.locator(f"#milestones li[data-id='{milestone['id']}']")
    row.locator("[data-action=reassign]").click()
    row.locator("select[name=owner_id]").select_option(other)
    row.locator("button[type=submit]").click()
    expect(page.locator("#toast")).to_have_attribute("data-kind", "ok")
    manager.screenshot("flow-milestone-reassigned")
    assert one(served, "SELECT owner FROM project_milestones WHERE id = ?", milestone["id"])[0] == other
    page = agent.open("/")
    expect(page.locator(f"#my-milestones li[data-id='{milestone['id']}']")).to_have_count(0)
