"""A year of lifecycle history for the demo organisation: stage histories, milestones (some late, some escalated,
some overdue right now), timers, inbox items and collections, consistent with each project's stage and amounts.

It replays each project through its template with the engine's own pieces (owner rules, deadlines, timer plans,
notice texts) and returns rows for `backend.demo.seed_demo` to insert in its one transaction.
"""

from __future__ import annotations

import datetime as dt
import decimal
import random
import uuid
from typing import Any

import msgspec

from backend.lifecycle import messages
from backend.lifecycle.definitions import TemplateDef, encode
from backend.lifecycle.parties import Person, Staff
from backend.lifecycle.seeds import seed_for
from backend.lifecycle.stages import plan_timers, reminder_time
from backend.lifecycle.tables import BusinessCalendar, Collection, Milestone, StageEntry, Timer
from backend.lifecycle.workhours import WALL_CLOCK, CalendarDef, Deadlines, WorkingHours
from backend.projects.tables import ProjectMember, TemplateVersion
from notifications.tables import InboxItem

HOUR = dt.timedelta(hours=1)
CALENDAR_BRANCHES = ("SH-PD", "SH-JA")  # the Shanghai branches keep office hours; the others count calendar hours
LOST_REASONS = ["客户预算不足，暂停交易", "客户选择了其他中介", "业主撤回委托", "候选人拒绝录用"]
METHODS = ["bank_transfer", "bank_transfer", "wechat_pay", "alipay", "cheque"]


def office_hours(year: int) -> CalendarDef:
    """Mon–Fri 09:00–12:00 and 13:30–18:00, with the fixed-date public holidays and their make-up Saturdays."""
    holidays, workdays = [], []
    for y in (year - 1, year, year + 1):
        holidays += [dt.date(y, 1, 1), *(dt.date(y, 5, d) for d in range(1, 6)),
                     *(dt.date(y, 10, d) for d in range(1, 8))]
        workdays += [dt.date(y, 4, 27), dt.date(y, 9, 28), dt.date(y, 10, 11)]
    return CalendarDef(hours=[("09:00", "12:00"), ("13:30", "18:00")], holidays=holidays, workdays=workdays)


class _Replay:
    def __init__(self, rng: random.Random, now: dt.datetime, staff: Staff, out: dict[str, list[Any]]) -> None:
        self.rng, self.now, self.staff, self.out = rng, now, staff, out
        self.members: set[tuple[uuid.UUID, uuid.UUID, str]] = set()

    def member(self, project: Any, person: Person | None, kind: str) -> None:
        if person is None or person.id == project.owner or person.role not in ("legal", "finance", "agent"):
            return
        kind = "team" if person.role == "agent" else kind
        if (project.id, person.id, kind) not in self.members:
            self.members.add((project.id, person.id, kind))
            self.out["members"].append(ProjectMember(project=project.id, user=person.id, kind=kind))

    def tell(self, kind: str, person: Person, project: Any, at: dt.datetime, source: uuid.UUID,
             about: Milestone | None, timezone: str, **params: Any) -> None:
        notice = messages.notice(kind, user_id=person.id, lang=person.language, project_id=project.id,
                                 source_id=source, milestone_id=about.id if about else None,
                                 project=project.title, timezone=timezone, **params)
        read = at < self.now - 3 * 24 * HOUR or self.rng.random() < 0.3
        self.out["inbox"].append(InboxItem(
            user=person.id, kind=notice.kind, title=notice.title, body=notice.body, link=notice.link,
            topic=notice.topic, urgency=notice.urgency, source_id=source, params=notice.params,
            subject_id=notice.subject_id, created_at=at,
            read_at=at + dt.timedelta(minutes=self.rng.randint(5, 600)) if read else None))

    def fire(self, timer: Timer, milestone: Milestone, project: Any, owner: Person | None, timezone: str) -> int:
        """Mark a timer fired at its due time and write what the clock would have written; returns its level."""
        timer.state, timer.fired_at, timer.worker = "fired", timer.due_at, "demo"
        recipients = self.staff.escalation_recipients(timer.target, timer.target_role, timer.target_user, owner,
                                                      project.branch, {"owner": project.owner,
                                                                       "manager": project.manager})
        kind = "reminder" if timer.kind == "reminder" else "escalation"
        extra = {"level": timer.level, "owner": owner.display_name if owner else "—"} if kind == "escalation" else {}
        for person in recipients:
            self.member(project, person, "stage")
            self.tell(kind, person, project, timer.due_at, timer.id, milestone, timezone,
                      milestone=(milestone.title_zh, milestone.title_en), due=milestone.due_at, **extra)
        return timer.level if kind == "escalation" else 0

    def stage(self, project: Any, definition: TemplateDef, position: int, start: dt.datetime, deadlines: Deadlines,
              timezone: str, finished: bool, until: dt.datetime) -> dt.datetime:
        """Enter stage `position` at `start`; if `finished`, do all its milestones and leave. Otherwise the stage
        runs until `until` (now, or when the project was lost): some milestones done, the rest open, some of
        those past their deadline and escalated. Returns when the stage was left (or its last completion)."""
        stage = definition.stages[position]
        info = {"project": project.title, "branch": project.branch, "owner": project.owner, "manager": project.manager}
        stage_owner = self.staff.owner_for(stage.owner, info)
        entry = StageEntry(project=project.id, branch=project.branch, stage_key=stage.key, position=position,
                           owner=stage_owner.id if stage_owner else None, entered_at=start,
                           entered_by=project.owner, due_at=deadlines.add(start, stage.sla_hours))
        self.out["stages"].append(entry)
        self.member(project, stage_owner, "stage")
        left = start
        for index, spec in enumerate(stage.milestones):
            owner = stage_owner if spec.owner == "stage_owner" else self.staff.owner_for(spec.owner, info)
            sla = spec.sla_hours or stage.sla_hours
            milestone = Milestone(
                project=project.id, branch=project.branch, stage=entry.id, stage_key=stage.key, key=spec.key,
                position=index, title_zh=spec.title_zh, title_en=spec.title_en, owner=owner.id if owner else None,
                owner_rule=stage.owner if spec.owner == "stage_owner" else spec.owner, auto=spec.auto or "",
                due_at=deadlines.add(start, sla), created_at=start, updated_at=start)
            self.out["milestones"].append(milestone)
            self.member(project, owner, "milestone")
            if owner is not None:
                self.tell("assignment", owner, project, start, milestone.id, milestone, timezone,
                          milestone=(spec.title_zh, spec.title_en), stage=(stage.name_zh, stage.name_en),
                          due=milestone.due_at)
            late = self.rng.random() < 0.25
            took = (sla * self.rng.uniform(1.1, 2.6) if late else sla * self.rng.uniform(0.15, 0.9)) * HOUR
            finished_at = start + took
            done_at: dt.datetime | None = finished_at
            if not finished and (finished_at > until or self.rng.random() < 0.55):
                done_at = None  # still open
            if spec.auto == "full_collection":
                done_at = self.collect(project, milestone, start, finished, until)
            timers = plan_timers(milestone, stage, reminder_time(stage, start, sla, deadlines), deadlines)
            self.out["timers"] += timers
            level = 0
            for timer in timers:
                if timer.due_at <= min(done_at or until, until):
                    level = max(level, self.fire(timer, milestone, project, owner, timezone))
                elif done_at is not None:
                    timer.state, timer.cancelled_at = "cancelled", done_at
            milestone.escalation_level = level
            if done_at is not None:
                milestone.state, milestone.done_at = "done", done_at
                milestone.done_by = None if spec.auto or owner is None else owner.id
                milestone.updated_at = done_at
                left = max(left, done_at)
        if finished:
            left += dt.timedelta(hours=self.rng.randint(1, 30))
            entry.left_at, entry.left_by, entry.outcome = left, project.owner, "advanced"
        return left

    def collect(self, project: Any, milestone: Milestone, start: dt.datetime, finished: bool,
                until: dt.datetime) -> dt.datetime | None:
        """Payments adding up to the project's collected amount; the full-collection milestone's completion time."""
        contract = decimal.Decimal(project.contract_value)
        if finished:
            project.collected_amount = contract
        collected = decimal.Decimal(project.collected_amount).quantize(decimal.Decimal("0.01"))
        if collected <= 0:
            return None
        parts = self.rng.choice([1, 2, 3])
        shares = [collected * decimal.Decimal(self.rng.uniform(0.2, 0.6)) for _ in range(parts - 1)]
        amounts = [s.quantize(decimal.Decimal("0.01")) for s in shares]
        amounts.append(collected - sum(amounts, decimal.Decimal(0)))
        when = start
        limit = until - HOUR if not finished else start + 20 * 24 * HOUR
        for amount in amounts:
            when = min(when + dt.timedelta(hours=self.rng.randint(6, 120)), limit)
            self.out["collections"].append(Collection(
                project=project.id, branch=project.branch, amount=amount, received_on=when.date(),
                method=self.rng.choice(METHODS), note="", recorded_by=self.finance(project), created_at=when))
        return when if collected >= contract else None

    def finance(self, project: Any) -> uuid.UUID:
        people = self.staff.in_role(project.branch, "finance") or self.staff.in_role(project.branch, "branch_manager")
        return people[0].id


def build_history(rows: dict[str, list[Any]], rng: random.Random, now: dt.datetime) -> dict[str, list[Any]]:
    """Lifecycle rows for the demo's projects (which it updates in place: template version, stage times, status)."""
    out: dict[str, list[Any]] = {k: [] for k in ("templates", "calendars", "stages", "milestones", "timers",
                                                  "collections", "inbox", "members")}
    people = {u.id: Person(id=u.id, role=u.role, branch=u.branch, supervisor=u.supervisor, is_active=True,
                           language=u.language or "", display_name=u.display_name) for u in rows["users"]}
    staff = Staff(people)
    replay = _Replay(rng, now, staff, out)
    replay.members = {(m.project, m.user, m.kind) for m in rows["members"]}
    definitions: dict[uuid.UUID, tuple[TemplateDef, uuid.UUID]] = {}
    for line in rows["lines"]:
        definition = seed_for(line.key)
        version = TemplateVersion(business_line=line.id, number=1, definition=encode(definition), note="seeded",
                                  created_at=now - 400 * 24 * HOUR)
        out["templates"].append(version)
        definitions[line.id] = (definition, version.id)
    clocks: dict[uuid.UUID, WorkingHours] = {}
    for branch in rows["branches"]:
        if branch.code in CALENDAR_BRANCHES:
            calendar = office_hours(now.year)
            encoded = msgspec.json.encode(calendar).decode()
            out["calendars"].append(BusinessCalendar(branch=branch.id, definition=encoded))
            clocks[branch.id] = WorkingHours.of(calendar, branch.timezone)
    zones = {b.id: b.timezone for b in rows["branches"]}
    for project in rows["projects"]:
        definition, version_id = definitions[project.business_line]
        deadlines = clocks.get(project.branch, WALL_CLOCK) if definition.business_hours else WALL_CLOCK
        target = definition.position(project.stage_key)
        outcome = "open"
        if target == len(definition.stages) - 1 and rng.random() < 0.5:
            outcome = "won"
        elif target <= 2 and rng.random() < 0.12:
            outcome = "lost"
        if target < 4:
            project.collected_amount = decimal.Decimal(0)
        collected = project.collected_amount
        project.template_version = version_id
        start = min(max(project.opened_at, now - 365 * 24 * HOUR),
                    now - sum(s.sla_hours for s in definition.stages[:target]) * HOUR)
        # An open project entered its current stage recently (a fraction of the stage's SLA ago, longer under
        # office hours), so some of its work is on time and some overdue; replay until the history fits.
        slowdown = 3 if deadlines is not WALL_CLOCK else 1
        wanted = now - definition.stages[target].sla_hours * rng.uniform(0.15, 1.5) * slowdown * HOUR
        tries = 0
        while True:
            tries += 1
            attempt = _Replay(rng, now, staff, {k: [] for k in out})
            attempt.members = set(replay.members)
            project.collected_amount = collected
            entered, end = _replay_project(attempt, project, definition, target, start, deadlines,
                                           zones[project.branch], outcome)
            late = end - (now - HOUR)
            drift = entered - wanted if outcome == "open" else dt.timedelta(0)
            if late >= dt.timedelta(0):  # never into the future: start earlier
                start -= late + dt.timedelta(hours=rng.randint(2, 72))
            elif abs(drift) > 24 * HOUR and tries < 8:
                start -= max(drift, late + HOUR)
            else:
                break
        for key, values in attempt.out.items():
            out[key] += values
        replay.members = attempt.members
        project.opened_at, project.stage_entered_at = start, entered
        current = [m for m in attempt.out["milestones"] if m.stage_key == project.stage_key and m.state == "open"]
        project.next_due_at = min((m.due_at for m in current), default=None)
        project.escalation_level = max((m.escalation_level for m in current), default=0)
    return out


def _replay_project(replay: _Replay, project: Any, definition: TemplateDef, target: int, start: dt.datetime,
                    deadlines: Deadlines, timezone: str, outcome: str) -> tuple[dt.datetime, dt.datetime]:
    """Walk the project from `start` into stage `target` and, for won or lost, close it there.
    Returns when the current stage was entered and when the history ends."""
    now = replay.now
    for position in range(target):
        start = replay.stage(project, definition, position, start, deadlines, timezone, True, now)
    if outcome == "open":
        replay.stage(project, definition, target, start, deadlines, timezone, False, now)
        return start, start
    closed = start + dt.timedelta(hours=replay.rng.randint(24, 400))
    left = replay.stage(project, definition, target, start, deadlines, timezone, outcome == "won", min(closed, now))
    closed = left if outcome == "won" else min(closed, now - HOUR)
    entry = replay.out["stages"][-1]
    entry.outcome, entry.left_at, entry.left_by = outcome, closed, project.owner
    entry.note = replay.rng.choice(LOST_REASONS) if outcome == "lost" else ""
    project.status, project.closed_at = outcome, closed
    for milestone in replay.out["milestones"]:
        if milestone.stage == entry.id and milestone.state == "open":
            milestone.state, milestone.updated_at = "cancelled", closed
    for timer in replay.out["timers"]:
        if timer.state == "pending":
            timer.state, timer.cancelled_at = "cancelled", closed
    return start, closed


def counts(out: dict[str, list[Any]]) -> dict[str, int]:
    return {
        "stage entries": len(out["stages"]), "milestones": len(out["milestones"]),
        "overdue milestones": sum(1 for m in out["milestones"] if m.state == "open" and m.due_at < dt.datetime.now(
            dt.UTC)),
        "escalated milestones": sum(1 for m in out["milestones"] if m.escalation_level > 0),
        "timers": len(out["timers"]), "collections": len(out["collections"]), "inbox items": len(out["inbox"]),
    }
