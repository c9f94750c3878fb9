"""Every alert kind in one table: its texts (zh, en), where it leads, and how urgent it is.

An inbox item is stored as a kind plus JSON parameters (`params`); its title and body are rendered from them in
the *reader's* language each time it is read (`render`), and its link by the one function that builds every alert
URL (`alert_url`), which `pwa/routes.parse` reads back (path → screen, `#fragment` → the item to scroll to).
The title and body stored with the row are the recipient's language at the time (the push payload, and what an
old row written before `params` existed shows). A leaf module: it imports nothing of the domains.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from babel import Locale
from babel.dates import format_datetime

from backend.settings import get_settings
from notifications import Notice

LANGUAGES = ("zh", "en")
PATTERNS = {"zh": "M月d日 HH:mm", "en": "d MMM HH:mm"}
LOCALES = {"zh": Locale.parse("zh_CN"), "en": Locale.parse("en_GB")}
ROLE_NAMES = {
    "zh": {"admin": "管理员", "agent": "经纪人", "branch_manager": "门店经理", "executive": "高管", "finance": "财务",
           "legal": "法务专员", "project_manager": "项目经理"},
    "en": {"admin": "Administrator", "agent": "Agent", "branch_manager": "Branch manager", "executive": "Executive",
           "finance": "Finance", "legal": "Legal specialist", "project_manager": "Project manager"},
}
NOBODY = {"zh": "—", "en": "—"}
SYSTEM_ACTOR = {"zh": "系统命令行", "en": "The command line"}
PREVIOUS = {"zh": "（原为{role}）", "en": " (was {role})"}


def project_url(params: Mapping[str, Any]) -> str:
    """A project screen, scrolled to the milestone when there is one (else to the milestone list)."""
    anchor = f"milestone-{params['milestone_id']}" if params.get("milestone_id") else "milestones"
    return f"/projects/{params['project_id']}#{anchor}"


@dataclass(frozen=True)
class Kind:
    zh: tuple[str, str]
    en: tuple[str, str]
    url: Callable[[Mapping[str, Any]], str]
    urgent: bool = False  # urgent by nature (escalations); others are urgent only when about an overdue item

    def texts(self, lang: str) -> tuple[str, str]:
        return self.zh if lang == "zh" else self.en


KINDS: dict[str, Kind] = {
    "assignment": Kind(("新任务：{milestone}", "项目「{project}」· {stage}阶段 · 截止 {due}"),
                       ("New task: {milestone}", "{project} · {stage} · due {due}"), project_url),
    "stage_entry": Kind(("「{project}」进入{stage}阶段", "阶段负责人：{owner} · 截止 {due}"),
                        ("{project} entered {stage}", "Stage owner: {owner} · due {due}"), project_url),
    "reminder": Kind(("即将到期：{milestone}", "项目「{project}」· 截止 {due}"),
                     ("Due soon: {milestone}", "{project} · due {due}"), project_url),
    "escalation": Kind(("超时未办（第{level}级升级）：{milestone}",
                        "项目「{project}」的「{milestone}」由{owner}负责，已于 {due} 到期，至今未完成。"),
                       ("Overdue, escalation level {level}: {milestone}",
                        "“{milestone}” on {project}, owned by {owner}, was due {due} and is still open."),
                       project_url, urgent=True),
    "nudge": Kind(("{manager}催办：{subject}", "项目「{project}」· {subject}：{message}"),
                  ("{manager} is chasing: {subject}", "{project} · {subject}: {message}"), project_url),
    "project_assigned": Kind(("项目转交给你：{project}", "{manager}把项目「{project}」交给了你。"),
                             ("Project handed to you: {project}", "{manager} handed {project} to you."), project_url),
    "review_rejected": Kind(("法务退回：{milestone}", "{reviewer}退回了项目「{project}」的「{milestone}」：{comment}"),
                            ("Returned by legal: {milestone}",
                             "{reviewer} returned “{milestone}” on {project}: {comment}"), project_url),
    "role_granted": Kind(("权限授予：{user}成为{role}",
                          "{actor}授予{user}（{branch}）{role}角色{previous}。如非预期，请立即核查。"),
                         ("Privileged role granted: {user} is now {role}",
                          "{actor} gave {user} ({branch}) the {role} role{previous}. "
                          "If you did not expect this, check at once."),
                         lambda params: "/inbox?kind=role_granted"),
    "test": Kind(("IPMS 测试通知", "推送已经可以送达这台设备。"),
                 ("IPMS test notification", "Push notifications reach this device."), lambda params: "/settings"),
}


def language(preferred: str | None) -> str:
    return preferred if preferred in LANGUAGES else get_settings().default_language


def alert_url(kind: str, params: Mapping[str, Any]) -> str:
    """The in-app URL an alert opens: the one place alert links are made."""
    spec = KINDS.get(kind)
    try:
        return spec.url(params) if spec else "/inbox"
    except KeyError:
        return "/inbox"


@functools.lru_cache(maxsize=4096)
def when(moment: dt.datetime | None, timezone: str, lang: str) -> str:
    """A deadline as the reader reads it, in the branch's time zone (many alerts share deadlines: cached)."""
    if moment is None:
        return "—"
    return format_datetime(moment, PATTERNS[lang], tzinfo=zoneinfo.ZoneInfo(timezone), locale=LOCALES[lang])


def to_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as stored (JSON): a bilingual pair ("合同审核", "Contract review") as {"zh", "en"}, times and
    ids as strings."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, tuple) and len(value) == 2:
            out[key] = {"zh": value[0], "en": value[1]}
        elif isinstance(value, dt.datetime):
            out[key] = value.isoformat()
        elif isinstance(value, uuid.UUID):
            out[key] = str(value)
        else:
            out[key] = value
    return out


def _values(kind: str, params: Mapping[str, Any], lang: str) -> dict[str, Any]:
    values = {k: (v.get(lang) or v.get("zh") or "") if isinstance(v, dict) else v for k, v in params.items()}
    if "due" in values:
        due = values["due"]
        moment = dt.datetime.fromisoformat(due) if isinstance(due, str) and due else None
        values["due"] = when(moment, str(values.get("timezone") or "Asia/Shanghai"), lang)
    if kind == "role_granted":
        names = ROLE_NAMES[lang]
        previous = values.get("previous_role")
        values["previous"] = PREVIOUS[lang].format(role=names.get(previous, previous)) if previous else ""
        values["role"] = names.get(values.get("role", ""), values.get("role", ""))
        values["actor"] = values.get("actor") or SYSTEM_ACTOR[lang]
    for key in ("owner", "manager", "reviewer"):
        if key in values and not values[key]:
            values[key] = NOBODY[lang]
    return values


def render(kind: str, params: Mapping[str, Any], lang: str) -> tuple[str, str] | None:
    """Title and body in `lang`, or None when the kind or a parameter is unknown (the stored text is shown: rows
    older than `params` have none)."""
    spec = KINDS.get(kind)
    if spec is None:
        return None
    title, body = spec.texts(language(lang))
    try:
        values = _values(kind, params, language(lang))
        return title.format(**values), body.format(**values)
    except (KeyError, ValueError, IndexError):
        return None


def notice(kind: str, *, user_id: uuid.UUID, lang: str | None, source_id: uuid.UUID | None = None,
           subject_id: uuid.UUID | None = None, urgent: bool | None = None, **values: Any) -> Notice:
    """One alert to one user: stored as `kind` + parameters, rendered now in the recipient's language for the
    push payload. `project_id` (when given) is the push topic (one notification per project on the lock screen);
    `subject_id` is the record it is about (a milestone: the inbox stops calling it urgent once that is done)."""
    params = to_params(values)
    rendered = render(kind, params, language(lang))
    assert rendered is not None, f"alert {kind!r} lacks a parameter: {sorted(params)}"
    project_id = values.get("project_id")
    high = KINDS[kind].urgent if urgent is None else urgent
    return Notice(user_id=user_id, kind=kind, title=rendered[0], body=rendered[1], link=alert_url(kind, params),
                  topic=project_id.hex if isinstance(project_id, uuid.UUID) else "",
                  urgency="high" if high else "normal", source_id=source_id, params=params,
                  subject_id=subject_id or values.get("milestone_id"))
