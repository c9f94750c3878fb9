"""backend/alerts.py: every alert kind renders in both languages, and its URL (the one function that makes them)
is one `pwa.routes.parse` reads back as a real screen with the item to scroll to."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from backend import alerts
from pwa.routes import parse
from pwa.screens import SCREENS

PROJECT, MILESTONE, USER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
SAMPLES = {
    "assignment": {"milestone": ("合同审核", "Contract review"), "project": "浦东三居室", "stage": ("签约", "Signing"),
                   "due": dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC), "timezone": "Asia/Shanghai"},
    "stage_entry": {"project": "浦东三居室", "stage": ("签约", "Signing"), "owner": "李娜",
                    "due": dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC), "timezone": "Asia/Shanghai"},
    "reminder": {"milestone": ("合同审核", "Contract review"), "project": "浦东三居室",
                 "due": dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC), "timezone": "Asia/Shanghai"},
    "escalation": {"milestone": ("合同审核", "Contract review"), "project": "浦东三居室", "level": 2, "owner": "张伟",
                   "due": dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC), "timezone": "Asia/Shanghai"},
    "nudge": {"manager": "王强", "project": "浦东三居室", "subject": ("合同审核", "Contract review"), "message": "快"},
    "project_assigned": {"project": "浦东三居室", "manager": "王强"},
    "review_rejected": {"milestone": ("合同审核", "Contract review"), "project": "浦东三居室", "reviewer": "张伟",
                        "comment": "第5条"},
    "role_granted": {"user": "新经理", "branch": "浦东店", "role": "branch_manager", "previous_role": "agent",
                     "actor": ""},
    "test": {},
}
ABOUT_A_MILESTONE = {"assignment", "reminder", "escalation", "nudge", "review_rejected"}


def test_every_kind_has_a_sample() -> None:
    assert set(SAMPLES) == set(alerts.KINDS)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_alert_renders_in_both_languages_and_opens_a_screen(kind: str) -> None:
    values = dict(SAMPLES[kind])
    if kind not in ("role_granted", "test"):
        values |= {"project_id": PROJECT, "milestone_id": MILESTONE if kind in ABOUT_A_MILESTONE else None}
    zh = alerts.notice(kind, user_id=USER, lang="zh", **values)
    en = alerts.notice(kind, user_id=USER, lang="en", **values)
    assert zh.title and en.title and zh.title != en.title and zh.params == en.params
    assert alerts.render(kind, zh.params, "en") == (en.title, en.body)  # read later, in the reader's language
    route = parse(zh.link)
    assert route.screen in SCREENS and route.screen != "not_found", zh.link
    if kind in ABOUT_A_MILESTONE:
        assert (route.screen, route.item_id, route.anchor) == ("project", PROJECT, f"milestone-{MILESTONE}")
    elif "project_id" in values:
        assert (route.screen, route.item_id, route.anchor) == ("project", PROJECT, "milestones")
    assert zh.urgency == ("high" if kind == "escalation" else "normal")  # others: urgent when the caller says


def test_a_row_without_parameters_keeps_its_stored_text() -> None:
    assert alerts.render("assignment", {}, "en") is None
    assert alerts.render("unknown", {"x": 1}, "en") is None
    assert alerts.alert_url("unknown", {}) == "/inbox"
