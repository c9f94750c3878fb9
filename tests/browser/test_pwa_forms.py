"""Create and edit on screen, each refusal under its field, nothing written on a refusal (issue 13): an agent
creates a client, schedules a visit (a clash is flagged), edits the budget, sees the visit note in the client's
timeline, marks an opportunity won (asked to confirm) and reopens it; finance corrects a payment. Both languages,
phone viewport, through the UI for every step under test."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import ARTIFACTS
from tests.support.demo import Server

pytestmark = pytest.mark.browser


def one(served: Server, sql: str, *args: Any) -> Any:
    with served.db() as db:
        return db.execute(sql, args).fetchone()


def count(served: Server, sql: str, *args: Any) -> int:
    return int(one(served, sql, *args)[0])


def shot(locator: Any, name: str) -> None:
    """The part of the screen under test, beside the full-page screenshot (long lists make those hard to read)."""
    ARTIFACTS.mkdir(exist_ok=True)
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def error_of(page: Any, form: str, field: str) -> Any:
    return page.locator(f"#{form} [data-error={field}]")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_agent_creates_a_client_schedules_a_visit_edits_the_budget_and_reads_the_timeline(
        phones: Any, served: Server, lang: str) -> None:
    name = f"{'王先生' if lang == 'zh' else 'Mr Wang'} {uuid.uuid4().hex[:4]}"
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    device = phones(lang)
    device.sign_in("lina")
    page = device.open("/clients")
    page.click("#new-client")
    form = page.locator("#client-form")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=phone]").fill(phone)
    form.locator("select[name=intent]").select_option("buy")
    form.locator("input[name=budget_min]").fill("3000000")
    form.locator("input[name=budget_max]").fill("4500000")
    form.locator("input[name=area_preference]").fill("张江")
    form.locator("input[name=tags]").fill("学区房、首套")
    device.screenshot(f"forms-new-client-{lang}")
    page.click("#save-client")
    expect(page.locator("#client-name")).to_have_text(name)
    client = one(served, "SELECT id, budget_min, budget_max, tags FROM clients WHERE name = ?", name)
    assert (client["budget_min"], client["budget_max"]) == (3000000, 4500000)
    assert page.url.endswith(f"/clients/{client['id']}")

    # Schedule a visit tomorrow at 10:00 branch time; a second one at 10:30 clashes and is flagged first.
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8) + dt.timedelta(days=1)).date()
    hour = {"zh": 10, "en": 15}[lang]  # local hours (Asia/Shanghai) no other visit of lina's takes
    page.click("#schedule-visit")
    visit_form = page.locator("#visit-form")
    visit_form.locator("input[name=scheduled_at]").fill(f"{tomorrow}T{hour}:00")
    visit_form.locator("input[name=address]").fill("张江路 88 号")
    page.click("#save-visit")
    expect(page.locator("#client-visits li")).to_have_count(1)
    stored = one(served, "SELECT scheduled_at FROM visits WHERE client = ?", client["id"])
    utc = dt.datetime.fromisoformat(stored["scheduled_at"])
    assert utc.astimezone(dt.UTC) == dt.datetime(tomorrow.year, tomorrow.month, tomorrow.day, hour - 8, tzinfo=dt.UTC)
    page.click("#schedule-visit")
    page.locator("#visit-form input[name=scheduled_at]").fill(f"{tomorrow}T{hour}:30")
    page.locator("#visit-form input[name=address]").fill("张江路 99 号")
    page.click("#save-visit")
    expect(error_of(page, "visit-form", "scheduled_at")).to_be_visible()
    device.screenshot(f"forms-visit-clash-{lang}")
    assert count(served, "SELECT count(*) FROM visits WHERE client = ?", client["id"]) == 1
    page.click("#visit-form button[type=button]")  # cancel: keep just the one

    # Edit the budget.
    page.click("#edit-client")
    page.locator("#client-form input[name=budget_max]").fill("5000000")
    page.click("#save-client")
    expect(page.locator("#client-budget")).to_contain_text("500" if lang == "zh" else "5M")
    assert one(served, "SELECT budget_max FROM clients WHERE id = ?", client["id"])[0] == 5000000

    # A note written on the visit shows in the client's timeline.
    visit = one(served, "SELECT id FROM visits WHERE client = ?", client["id"])["id"]
    page.locator(f"#client-visits li[data-id='{visit}'] a").click()
    expect(page.locator("#visit")).to_be_visible()
    note = f"客户喜欢南向 {uuid.uuid4().hex[:4]}"
    page.fill("#note-form textarea", note)
    page.click("#note-form button[type=submit]")
    expect(page.locator("#visit .notes")).to_contain_text(note)
    page = device.open(f"/clients/{client['id']}")
    expect(page.locator("#client-timeline [data-kind=note]").first).to_contain_text(note)
    expect(page.locator("#client-timeline [data-kind=visit]")).to_have_count(1)
    device.screenshot(f"forms-client-timeline-{lang}")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bad_input_on_the_client_form_names_the_field_and_writes_nothing(
        phones: Any, served: Server, lang: str) -> None:
    lina = served.user_id("lina")
    taken = one(served, "SELECT phone FROM clients WHERE owner != ? AND phone != '' AND branch = "
                        "(SELECT branch FROM users WHERE id = ?)", lina, lina)["phone"]
    device = phones(lang)
    device.sign_in("lina")
    page = device.open("/clients")
    page.click("#new-client")
    form = page.locator("#client-form")
    before = count(served, "SELECT count(*) FROM clients")
    managers_told = count(served, "SELECT count(*) FROM inbox_items WHERE kind = 'client_collision'")
    cases = [
        ({"name": ""}, "name", {"zh": "姓名", "en": "Name"}),
        ({"name": "张" * 101}, "name", {"zh": "最多 100", "en": "at most 100"}),
        ({"name": "赵", "budget_min": "三百万"}, "budget_min", {"zh": "请填数字", "en": "enter a number"}),
        ({"name": "赵", "budget_min": "-5"}, "budget_min", {"zh": "不能为负数", "en": "cannot be negative"}),
        ({"name": "赵", "budget_max": "99999999999"}, "budget_max", {"zh": "不能超过", "en": "at most"}),
        ({"name": "赵", "budget_min": "500", "budget_max": "100"}, "budget_min", {"zh": "下限", "en": "minimum"}),
        ({"name": "赵", "phone": taken}, "phone",
         {"zh": "已在本店登记", "en": "already registered in your branch; your manager has been told"}),
    ]
    for values, field, words in cases:
        for control in ("name", "phone", "budget_min", "budget_max"):
            form.locator(f"input[name={control}]").fill(values.get(control, ""))
        page.click("#save-client")
        expect(error_of(page, "client-form", field)).to_contain_text(words[lang])
        device.screenshot(f"forms-client-bad-{field}-{lang}")
    assert count(served, "SELECT count(*) FROM clients") == before
    assert count(served, "SELECT count(*) FROM inbox_items WHERE kind = 'client_collision'") == managers_told + 1
    # The refusal names no client and no owner.
    message = error_of(page, "client-form", "phone").inner_text()
    owner = one(served, "SELECT u.display_name, c.name FROM clients c JOIN users u ON u.id = c.owner "
                        "WHERE c.phone = ?", taken)
    assert owner[0] not in message and owner[1] not in message


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_won_asks_to_confirm_and_the_owner_reopens_it(phones: Any, served: Server, lang: str) -> None:
    lina = served.user_id("lina")
    taken = {"zh": 0, "en": 1}[lang]
    opportunity = one(served, "SELECT id, title FROM opportunities WHERE owner = ? AND state = 'following' "
                              "ORDER BY title LIMIT 1 OFFSET ?", lina, taken)
    device = phones(lang)
    device.sign_in("lina")
    page = device.open("/pipeline?state=following")
    card = page.locator(f"#opportunities article[data-id='{opportunity['id']}']")
    card.locator("[data-move=won]").click()
    expect(card.locator(".won-confirm")).to_be_visible()
    device.screenshot(f"forms-confirm-won-{lang}")
    shot(card, f"forms-confirm-won-card-{lang}")
    assert one(served, "SELECT state FROM opportunities WHERE id = ?", opportunity["id"])[0] == "following"
    card.locator("[data-action=confirm-won]").click()
    expect(page.locator(f"#opportunities article[data-id='{opportunity['id']}']")).to_have_count(0)
    assert one(served, "SELECT state FROM opportunities WHERE id = ?", opportunity["id"])[0] == "won"
    page.click("#pipeline-tabs [data-state=won]")
    card = page.locator(f"#opportunities article[data-id='{opportunity['id']}']")
    expect(card.locator("[data-action=new-project]")).to_be_visible()
    card.locator("[data-action=reopen]").click()
    card.locator(".reopen-form button[type=submit]").click()  # no reason: refused, nothing changes
    expect(page.locator("#toast")).to_be_visible()
    assert one(served, "SELECT state FROM opportunities WHERE id = ?", opportunity["id"])[0] == "won"
    card.locator(".reopen-form input[name=reason]").fill("客户还在比较" if lang == "zh" else "Still comparing")
    card.locator(".reopen-form button[type=submit]").click()
    expect(page.locator(f"#opportunities article[data-id='{opportunity['id']}']")).to_have_count(0)
    row = one(served, "SELECT state, closed_at FROM opportunities WHERE id = ?", opportunity["id"])
    assert (row["state"], row["closed_at"]) == ("following", None)
    log = one(served, "SELECT changes FROM change_log WHERE action = 'reopen' AND row_id = ?", opportunity["id"])
    assert "Still comparing" in log[0] or "客户还在比较" in log[0]


def collected_project(served: Server, username: str, offset: int) -> Any:
    with served.db() as db:
        return db.execute(
            "SELECT p.id, p.title, p.contract_value, p.collected_amount FROM projects p "
            "JOIN users u ON u.branch = p.branch WHERE u.username = ? AND p.status = 'open' AND p.collected_amount > 0 "
            "AND p.collected_amount < p.contract_value AND EXISTS (SELECT 1 FROM project_collections c "
            "WHERE c.project = p.id) ORDER BY p.title LIMIT 1 OFFSET ?", (username, offset)).fetchone()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_finance_corrects_a_payment_and_bad_amounts_are_refused_in_words(
        phones: Any, served: Server, lang: str) -> None:
    project = collected_project(served, "chenjing", {"zh": 0, "en": 1}[lang])
    assert project is not None, "the demo has a partly collected project"
    with served.db() as db:
        payment = db.execute("SELECT id, amount FROM project_collections WHERE project = ? AND voided_at IS NULL "
                             "ORDER BY created_at DESC", (project["id"],)).fetchone()
    device = phones(lang)
    device.sign_in("chenjing")
    page = device.open("/finance")
    item = page.locator(f"li.collection-item[data-id='{project['id']}']").first
    item.locator("[data-action=record]").click()
    amount = item.locator(".record-form input[name=amount]")
    expect(amount).to_have_value("")
    expect(item.locator("[data-field=outstanding]")).to_be_visible()
    outstanding = float(project["contract_value"]) - float(project["collected_amount"])
    payments_before = count(served, "SELECT count(*) FROM project_collections WHERE project = ?", project["id"])
    for typed, words in (("", {"zh": "必填", "en": "required"}), ("abc", {"zh": "数字", "en": "number"}),
                         ("-5", {"zh": "负数", "en": "negative"}),
                         (f"{outstanding + 1:.2f}", {"zh": "超出未收金额", "en": "above the outstanding"})):
        amount.fill(typed)
        item.locator(".record-form button[type=submit]").click()
        expect(item.locator(".record-form [data-error=amount]")).to_contain_text(words[lang])
    device.screenshot(f"forms-collection-refused-{lang}")
    shot(item, f"forms-collection-refused-item-{lang}")
    assert count(served, "SELECT count(*) FROM project_collections WHERE project = ?", project["id"]) == payments_before
    item.locator(".record-form button[type=button]").click()

    # Correct the latest payment: half of it, with the reason; the project's total follows.
    item.locator("[data-action=payments]").click()
    row = item.locator(f"li.payment[data-id='{payment['id']}']")
    row.locator("[data-action=correct]").click()
    corrected = round(float(payment["amount"]) / 2, 2)
    row.locator("input[name=amount]").fill(f"{corrected:.2f}")
    row.locator("[data-action=save-correction]").click()
    expect(row.locator("[data-error=reason]")).to_be_visible()  # a correction says why
    row.locator("input[name=reason]").fill("录入金额有误" if lang == "zh" else "Typed the wrong amount")
    row.locator("[data-action=save-correction]").click()
    expect(page.locator("#toast")).to_be_visible()
    stored = one(served, "SELECT amount, reason FROM project_collections WHERE id = ?", payment["id"])
    assert abs(float(stored["amount"]) - corrected) < 0.01 and stored["reason"]
    total = one(served, "SELECT collected_amount FROM projects WHERE id = ?", project["id"])[0]
    assert abs(float(total) - (float(project["collected_amount"]) - float(payment["amount"]) + corrected)) < 0.01
    device.screenshot(f"forms-collection-corrected-{lang}")
    shot(item, f"forms-collection-corrected-item-{lang}")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_project_from_a_won_opportunity_with_its_team_and_bad_input_refused(
        phones: Any, served: Server, lang: str) -> None:
    lina = served.user_id("lina")
    opportunity = one(served, "SELECT id, title, client FROM opportunities WHERE owner = ? AND state = 'won' "
                              "ORDER BY title LIMIT 1 OFFSET ?", lina, {"zh": 0, "en": 1}[lang])
    assert opportunity is not None, "the demo has won opportunities"
    device = phones(lang)
    device.sign_in("lina")
    page = device.open("/pipeline?state=won")
    card = page.locator(f"#opportunities article[data-id='{opportunity['id']}']")
    card.locator("[data-action=new-project]").click()
    form = card.locator("#project-form")
    before = count(served, "SELECT count(*) FROM projects")
    for title, value, field, words in (
            ("", "", "title", {"zh": "必填", "en": "required"}),
            ("房" * 201, "", "title", {"zh": "最多 200", "en": "at most 200"}),
            ("浦东三居室", "五十万", "contract_value", {"zh": "数字", "en": "number"}),
            ("浦东三居室", "-1", "contract_value", {"zh": "负数", "en": "negative"}),
            ("浦东三居室", "1000000000000", "contract_value", {"zh": "不能超过", "en": "at most"})):
        form.locator("input[name=title]").fill(title)
        form.locator("input[name=contract_value]").fill(value)
        form.locator("#save-project").click()
        expect(form.locator(f"[data-error={field}]")).to_contain_text(words[lang])
    shot(card, f"forms-project-refused-{lang}")
    assert count(served, "SELECT count(*) FROM projects") == before
    title = f"{opportunity['title']} 项目 {uuid.uuid4().hex[:4]}"
    form.locator("input[name=title]").fill(title)
    form.locator("input[name=contract_value]").fill("80000")
    form.locator("input[type=checkbox]").first.check()
    form.locator("#save-project").click()
    expect(page.locator("#project-title")).to_have_text(title)
    project = one(served, "SELECT id, client, contract_value FROM projects WHERE title = ?", title)
    assert project["client"] == opportunity["client"] and float(project["contract_value"]) == 80000
    assert count(served, "SELECT count(*) FROM project_members WHERE project = ? AND kind = 'team'",
                 project["id"]) == 1
    expect(page.locator("#project-timeline [data-kind=stage]")).to_have_count(1)
    device.screenshot(f"forms-project-created-{lang}")

    # A milestone ticked by mistake is reopened, with the reason, in the same stage.
    milestone = one(served, "SELECT id FROM project_milestones WHERE project = ? AND owner = ? AND auto = '' "
                            "ORDER BY position", project["id"], lina)
    row = page.locator(f"#milestones li[data-id='{milestone['id']}']")
    row.locator("[data-action=toggle]").click()
    row = page.locator(f"#milestones li[data-id='{milestone['id']}']")
    expect(row).to_have_attribute("data-state", "done")
    expect(page.locator("#project-timeline [data-kind=milestone]")).to_have_count(1)
    row.locator("[data-action=reopen]").click()
    row.locator(".reopen-form input[name=reason]").fill("客户资料没给全" if lang == "zh" else "Papers not all in")
    row.locator(".reopen-form button[type=submit]").click()
    expect(page.locator(f"#milestones li[data-id='{milestone['id']}']")).to_have_attribute("data-state", "open")
    assert one(served, "SELECT state FROM project_milestones WHERE id = ?", milestone["id"])[0] == "open"
    shot(page.locator("#milestones"), f"forms-milestone-reopened-{lang}")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_visit_is_rescheduled_or_cancelled_and_bad_input_refused(phones: Any, served: Server, lang: str) -> None:
    lina = served.user_id("lina")
    order = "ASC" if lang == "zh" else "DESC"  # each language takes two of lina's four planned visits
    with served.db() as db:
        moved, cancelled = [row["id"] for row in db.execute(
            f"SELECT id FROM visits WHERE owner = ? AND status = 'planned' ORDER BY id {order} LIMIT 2",
            (lina,)).fetchall()]
    device = phones(lang)
    device.sign_in("lina")
    page = device.open(f"/visits/{moved}")
    page.click("#reschedule-visit")
    form = page.locator("#visit-form")
    before = one(served, "SELECT scheduled_at, duration_minutes, address, version FROM visits WHERE id = ?", moved)
    for field, value, words in (("address", "", {"zh": "必填", "en": "required"}),
                                ("address", "路" * 301, {"zh": "最多 300", "en": "at most 300"}),
                                ("duration_minutes", "一小时", {"zh": "数字", "en": "number"}),
                                ("duration_minutes", "2000", {"zh": "不能超过", "en": "at most"}),
                                ("scheduled_at", "", {"zh": "必填", "en": "required"})):
        form.locator("input[name=address]").fill("世纪大道 100 号")
        form.locator("input[name=duration_minutes]").fill("60")
        form.locator(f"input[name={field}]").fill(value)
        page.click("#save-visit")
        expect(form.locator(f"[data-error={field}]")).to_contain_text(words[lang])
    shot(form, f"forms-visit-refused-{lang}")
    assert tuple(one(served, "SELECT scheduled_at, duration_minutes, address, version FROM visits WHERE id = ?",
                     moved)) == tuple(before)
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=20)).date()
    form.locator("input[name=scheduled_at]").fill(f"{day}T{ {'zh': '09', 'en': '11'}[lang] }:15".replace(" ", ""))
    form.locator("input[name=address]").fill("世纪大道 100 号")
    form.locator("input[name=duration_minutes]").fill("45")
    page.click("#save-visit")
    expect(page.locator("#visit h2").first).to_contain_text({"zh": "09:15", "en": "11:15"}[lang])
    row = one(served, "SELECT address, duration_minutes FROM visits WHERE id = ?", moved)
    assert (row["address"], row["duration_minutes"]) == ("世纪大道 100 号", 45)

    page = device.open(f"/visits/{cancelled}")
    page.click("#cancel-visit")
    expect(page.locator("#cancel-visit-confirm")).to_be_visible()
    assert one(served, "SELECT status FROM visits WHERE id = ?", cancelled)[0] == "planned"
    page.click("#confirm-cancel")
    expect(page.locator("#visit-status")).to_contain_text({"zh": "取消", "en": "Cancelled"}[lang])
    assert one(served, "SELECT status FROM visits WHERE id = ?", cancelled)[0] == "cancelled"


def test_a_photo_is_deleted_by_its_author_with_the_reason(phones: Any, served: Server, tmp_path: Any) -> None:
    from PIL import Image

    lina = served.user_id("lina")
    visit = one(served, "SELECT id FROM visits WHERE owner = ? AND status = 'planned' ORDER BY scheduled_at", lina)[0]
    picture = tmp_path / "wrong.jpg"
    Image.new("RGB", (800, 600), (20, 120, 60)).save(picture, quality=90)
    device = phones()
    device.sign_in("lina")
    page = device.open(f"/visits/{visit}")
    before = page.locator("#gallery img").count()
    page.set_input_files("input[data-capture-input=library]", str(picture))  # setup: the capture flow
    expect(page.locator("#gallery img")).to_have_count(before + 1)
    photo = one(served, "SELECT id FROM photos WHERE visit = ? ORDER BY created_at DESC", visit)["id"]
    tools = page.locator(f"#photo-tools li[data-id='{photo}']")
    tools.locator("[data-action=delete-photo]").click()
    tools.locator("[data-action=confirm-delete]").click()
    expect(tools.locator("[data-error=reason]")).to_be_visible()
    assert count(served, "SELECT count(*) FROM photos WHERE id = ?", photo) == 1
    tools.locator("input[name=reason]").fill("拍错了房间")
    tools.locator("[data-action=confirm-delete]").click()
    expect(page.locator("#gallery img")).to_have_count(before)
    assert count(served, "SELECT count(*) FROM photos WHERE id = ?", photo) == 0
    log = one(served, "SELECT changes FROM change_log WHERE action = 'delete' AND row_id = ?", photo)
    assert "拍错了房间" in log[0]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bad_input_on_the_opportunity_form_names_the_field_and_writes_nothing(
        phones: Any, served: Server, lang: str) -> None:
    lina = served.user_id("lina")
    client = one(served, "SELECT id FROM clients WHERE owner = ? ORDER BY name", lina)["id"]
    device = phones(lang)
    device.sign_in("lina")
    page = device.open(f"/clients/{client}")
    page.click("#new-opportunity")
    form = page.locator("#new-opportunity-form")
    before = count(served, "SELECT count(*) FROM opportunities")
    for title, value, field, words in (
            ("", "", "title", {"zh": "必填", "en": "required"}),
            ("单" * 201, "", "title", {"zh": "最多 200", "en": "at most 200"}),
            ("三居室", "很多", "value", {"zh": "数字", "en": "number"}),
            ("三居室", "-100", "value", {"zh": "负数", "en": "negative"}),
            ("三居室", "1e15", "value", {"zh": "不能超过", "en": "at most"}),
            ("三居室", "10.555", "value", {"zh": "两位小数", "en": "two decimals"})):
        form.locator("input[name=title]").fill(title)
        form.locator("input[name=value]").fill(value)
        form.locator("button[type=submit]").click()
        expect(form.locator(f"[data-error={field}]")).to_contain_text(words[lang])
    shot(form, f"forms-opportunity-refused-{lang}")
    assert count(served, "SELECT count(*) FROM opportunities") == before
    title = f"三居室 {lang} {uuid.uuid4().hex[:6]}"  # the other language's run left a "三居室" on this client
    form.locator("input[name=title]").fill(title)
    form.locator("input[name=value]").fill("1,250,000")
    form.locator("button[type=submit]").click()
    expect(page.locator("#client-opportunities")).to_contain_text(title)
    assert float(one(served, "SELECT value FROM opportunities WHERE title = ?", title)[0]) == 1250000
    assert count(served, "SELECT count(*) FROM opportunities") == before + 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_closed_project_is_reopened_by_its_owner_or_a_manager_with_the_reason(
        phones: Any, served: Server, lang: str) -> None:
    lina = served.user_id("lina")
    who = {"zh": "lina", "en": "wangqiang"}[lang]  # the owner; the branch manager
    project = one(served, "SELECT id, stage_key FROM projects WHERE status IN ('won', 'lost') AND branch = "
                          "(SELECT branch FROM users WHERE id = ?) AND (owner = ? OR ? = 'wangqiang') "
                          "ORDER BY owner = ? DESC, title", lina, lina, who, lina)
    assert project is not None, "the demo has closed projects in lina's branch"
    device = phones(lang)
    device.sign_in(who)
    page = device.open(f"/projects/{project['id']}")
    page.click("#reopen-project")
    page.click("#reopen-project-form button[type=submit]")  # no reason: refused
    expect(page.locator("#toast")).to_be_visible()
    assert one(served, "SELECT status FROM projects WHERE id = ?", project["id"])[0] in ("won", "lost")
    page.fill("#reopen-project-form input[name=reason]", "客户改主意了" if lang == "zh" else "The client changed mind")
    page.click("#reopen-project-form button[type=submit]")
    expect(page.locator("#reopen-project-form")).to_have_count(0)
    expect(page.locator("#milestones li").first).to_be_visible()
    row = one(served, "SELECT status, stage_key, closed_at FROM projects WHERE id = ?", project["id"])
    assert (row["status"], row["stage_key"], row["closed_at"]) == ("open", project["stage_key"], None)
    expect(page.locator("#milestones li").first).to_be_visible()
    device.screenshot(f"forms-project-reopened-{lang}")
