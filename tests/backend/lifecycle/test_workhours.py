"""Deadlines in working hours: the branch's days, hours, holidays and make-up days, in its own time zone."""

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.lifecycle import stages, templates
from backend.lifecycle.seeds import seed_for
from backend.lifecycle.tables import Milestone, Timer
from backend.lifecycle.workhours import CalendarDef, WorkingHours
from backend.projects.tables import BusinessLine, Project
from tests.support.factories import actor, caller, make_org
from tests.support.lifecycle import check_off, new_project

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
FRIDAY_5PM = dt.datetime(2026, 12, 4, 17, 0, tzinfo=SHANGHAI)  # a Friday
OFFICE = CalendarDef()  # Mon–Fri 09:00–18:00: nine working hours a day


def local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(SHANGHAI)


def test_48_working_hours_from_friday_5pm_end_on_the_second_monday_at_11():
    due = WorkingHours.of(OFFICE, "Asia/Shanghai").add(FRIDAY_5PM.astimezone(UTC), 48)
    # Friday 1 h, Monday–Friday 45 h, then 2 h on Monday 14 December.
    assert local(due) == dt.datetime(2026, 12, 14, 11, 0, tzinfo=SHANGHAI)


def test_lunch_break_holiday_and_make_up_day():
    lunch = CalendarDef(hours=[("09:00", "12:00"), ("13:00", "18:00")])  # eight hours a day
    assert local(WorkingHours.of(lunch, "Asia/Shanghai").add(FRIDAY_5PM.astimezone(UTC), 48)) == dt.datetime(
        2026, 12, 14, 17, 0, tzinfo=SHANGHAI)
    holiday = CalendarDef(holidays=[dt.date(2026, 12, 7)])  # the Monday is off: one more day
    assert local(WorkingHours.of(holiday, "Asia/Shanghai").add(FRIDAY_5PM.astimezone(UTC), 48)) == dt.datetime(
        2026, 12, 15, 11, 0, tzinfo=SHANGHAI)
    # Saturday is worked in exchange for the Monday: Friday 1 h, Saturday 9 h, Monday off, Tuesday 1 h.
    swapped = CalendarDef(holidays=[dt.date(2026, 12, 7)], workdays=[dt.date(2026, 12, 5)])
    assert local(WorkingHours.of(swapped, "Asia/Shanghai").add(FRIDAY_5PM.astimezone(UTC), 11)) == dt.datetime(
        2026, 12, 8, 10, 0, tzinfo=SHANGHAI)


def test_start_outside_hours_counts_from_the_next_opening():
    hours = WorkingHours.of(OFFICE, "Asia/Shanghai")
    saturday_night = dt.datetime(2026, 12, 5, 23, 0, tzinfo=SHANGHAI).astimezone(UTC)
    assert local(hours.add(saturday_night, 1)) == dt.datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)
    assert hours.add(saturday_night, 0) == saturday_night
    # A deadline landing on closing time stays there instead of moving to the next morning.
    assert local(hours.add(dt.datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI).astimezone(UTC), 9)) == dt.datetime(
        2026, 12, 7, 18, 0, tzinfo=SHANGHAI)


def test_daylight_saving_change_keeps_local_office_hours():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    friday = dt.datetime(2026, 3, 27, 17, 0, tzinfo=berlin)  # clocks go forward on Sunday 29 March
    due = WorkingHours.of(OFFICE, "Europe/Berlin").add(friday.astimezone(UTC), 10)
    assert due.astimezone(berlin) == dt.datetime(2026, 3, 30, 18, 0, tzinfo=berlin)
    assert due == dt.datetime(2026, 3, 30, 16, 0, tzinfo=UTC)


starts = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC))
calendars = st.sampled_from([
    OFFICE, CalendarDef(hours=[("09:00", "12:00"), ("13:30", "18:00")], holidays=[dt.date(2026, 10, d)
                                                                                    for d in range(1, 8)]),
    CalendarDef(working_days=[1, 2, 3, 4, 5, 6], hours=[("00:00", "24:00")]),
])


@settings(max_examples=200, deadline=None)
@given(start=starts, a=st.integers(0, 120), b=st.integers(0, 120), calendar=calendars)
def test_adding_working_hours_is_additive_monotonic_and_lands_in_working_time(start, a, b, calendar):
    hours = WorkingHours.of(calendar, "Asia/Shanghai")
    first = hours.add(start, a)
    assert hours.add(first, b) == hours.add(start, a + b)
    assert first <= hours.add(start, a + b)
    if a:
        moment = local(first)
        minutes = moment.hour * 60 + moment.minute
        spans = [(int(s[:2]) * 60 + int(s[3:]), int(e[:2]) * 60 + int(e[3:])) for s, e in calendar.hours]
        assert hours.is_working_day(moment.date()) or (minutes == 0 and any(e == 1440 for _, e in spans))
        assert any(begin < minutes <= end for begin, end in spans) or minutes == 0


@pytest.mark.anyio
async def test_project_deadlines_skip_the_weekend_when_the_branch_keeps_office_hours(api):
    org = await make_org()
    admin = await caller(api, org.admin)
    reply = await admin.request("PUT", f"/api/branches/{org.a.branch.id}/calendar",
                                json={"working_days": [1, 2, 3, 4, 5], "hours": [["09:00", "18:00"]]})
    assert reply.status_code == 200, reply.text
    line = BusinessLine(key="legal_case", name_zh="法律案件", name_en="Legal case")
    await BusinessLine.insert(line)
    definition = seed_for("legal_case")
    definition.stages[1].sla_hours = 48  # assessment: 48 working hours
    await templates.save_template(actor(org.admin), line.id, definition, based_on=1)
    project = await new_project(org, line=line)
    await check_off(org, project["id"])
    current = await Project.select().where(Project.id == project["id"]).first()
    await stages.transition(actor(org.a.users["agent1"]), project["id"], current["version"], "advance",
                            at=FRIDAY_5PM.astimezone(UTC))
    evidence = await Milestone.select().where((Milestone.project == project["id"])
                                              & (Milestone.key == "evidence_reviewed")).first()
    assert local(evidence["due_at"]) == dt.datetime(2026, 12, 14, 11, 0, tzinfo=SHANGHAI)
    ladder = await Timer.select(Timer.level, Timer.due_at).where(
        (Timer.milestone == evidence["id"]) & (Timer.kind == "escalation")).order_by(Timer.level)
    # Level 2 is 24 working hours after the deadline: Monday 7 h, Tuesday 9 h, Wednesday 8 h → Wednesday 17:00;
    # level 3 (above the branch) 72 working hours after it, ten working days on.
    assert [local(t["due_at"]) for t in ladder][:2] == [dt.datetime(2026, 12, 14, 11, 0, tzinfo=SHANGHAI),
                                                        dt.datetime(2026, 12, 16, 17, 0, tzinfo=SHANGHAI)]
    assert len(ladder) == 3 and local(ladder[2]["due_at"]) == dt.datetime(2026, 12, 24, 11, 0, tzinfo=SHANGHAI)
    # A branch without a calendar counts calendar hours.
    other = await new_project(org, branch="b", line=line)
    await check_off(org, other["id"])
    current = await Project.select().where(Project.id == other["id"]).first()
    await stages.transition(actor(org.b.users["agent1"]), other["id"], current["version"], "advance",
                            at=FRIDAY_5PM.astimezone(UTC))
    due = (await Milestone.select(Milestone.due_at).where((Milestone.project == other["id"])
                                                          & (Milestone.key == "evidence_reviewed")).first())["due_at"]
    assert due == FRIDAY_5PM.astimezone(UTC) + dt.timedelta(hours=48)


@pytest.mark.anyio
async def test_calendar_api_is_admin_only_versioned_and_validated(api):
    org = await make_org()
    url = f"/api/branches/{org.a.branch.id}/calendar"
    admin, manager = await caller(api, org.admin), await caller(api, org.a.users["branch_manager"])
    assert (await manager.get(url)).status_code == 404  # none yet
    body = {"working_days": [1, 2, 3, 4, 5], "hours": [["09:00", "12:00"], ["13:00", "18:00"]],
            "holidays": ["2026-10-01"], "workdays": ["2026-09-27"]}
    assert (await manager.request("PUT", url, json=body)).status_code == 403
    created = await admin.request("PUT", url, json=body)
    assert created.status_code == 200 and created.json()["version"] == 1
    assert (await manager.get(url)).json()["holidays"] == ["2026-10-01"]
    stale = await admin.request("PUT", url, json={**body, "version": 7})
    assert stale.status_code == 409 and stale.json()["current"]["version"] == 1
    reversed_hours = await admin.request("PUT", url, json={**body, "version": 1, "hours": [["18:00", "09:00"]]})
    assert reversed_hours.status_code == 422 and reversed_hours.json()["field"] == "hours[0]"
    bad_time = await admin.request("PUT", url, json={**body, "version": 1, "hours": [["25:00", "26:00"]]})
    assert bad_time.status_code == 422
    updated = await admin.request("PUT", url, json={**body, "version": 1, "working_days": [1, 2, 3, 4, 5, 6]})
    assert updated.status_code == 200 and updated.json()["version"] == 2
    assert (await manager.delete(url)).status_code == 403
    assert (await admin.delete(url)).status_code == 204
    assert (await admin.get(url)).status_code == 404
