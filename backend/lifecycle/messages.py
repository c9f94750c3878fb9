"""Inbox texts of the lifecycle, in the recipient's language, with times in the project branch's time zone."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
import zoneinfo
from typing import Any

from babel import Locale
from babel.dates import format_datetime

from backend.settings import get_settings
from notifications import Notice

TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "assignment": {
        "zh": ("新任务：{milestone}", "项目「{project}」· {stage}阶段 · 截止 {due}"),
        "en": ("New task: {milestone}", "{project} · {stage} · due {due}"),
    },
    "stage_entry": {
        "zh": ("「{project}」进入{stage}阶段", "阶段负责人：{owner} · 截止 {due}"),
        "en": ("{project} entered {stage}", "Stage owner: {owner} · due {due}"),
    },
    "reminder": {
        "zh": ("即将到期：{milestone}", "项目「{project}」· 截止 {due}"),
        "en": ("Due soon: {milestone}", "{project} · due {due}"),
    },
    "escalation": {
        "zh": ("超时未办（第{level}级升级）：{milestone}",
               "项目「{project}」的「{milestone}」由{owner}负责，已于 {due} 到期，至今未完成。"),
        "en": ("Overdue, escalation level {level}: {milestone}",
               "“{milestone}” on {project}, owned by {owner}, was due {due} and is still open."),
    },
    "nudge": {
        "zh": ("{manager}催办：{subject}", "{message}"),
        "en": ("{manager} is chasing: {subject}", "{message}"),
    },
    "project_assigned": {
        "zh": ("项目转交给你：{project}", "{manager}把项目「{project}」交给了你。"),
        "en": ("Project handed to you: {project}", "{manager} handed {project} to you."),
    },
}
PATTERNS = {"zh": "M月d日 HH:mm", "en": "d MMM HH:mm"}
LOCALES = {"zh": Locale.parse("zh_CN"), "en": Locale.parse("en_GB")}
HIGH_URGENCY = {"escalation", "nudge"}


def language(preferred: str | None) -> str:
    return preferred if preferred in TEXTS["assignment"] else get_settings().default_language


@functools.lru_cache(maxsize=4096)
def when(moment: dt.datetime | None, timezone: str, lang: str) -> str:
    """A deadline as the recipient reads it (many notices of one tick share deadlines: cached)."""
    if moment is None:
        return "—"
    return format_datetime(moment, PATTERNS[lang], tzinfo=zoneinfo.ZoneInfo(timezone), locale=LOCALES[lang])


def project_link(project_id: uuid.UUID, milestone_id: uuid.UUID | None = None) -> str:
    return f"/projects/{project_id}" + (f"#milestone-{milestone_id}" if milestone_id else "")


def notice(kind: str, *, user_id: uuid.UUID, lang: str | None, project_id: uuid.UUID, source_id: uuid.UUID | None,
           milestone_id: uuid.UUID | None = None, **params: Any) -> Notice:
    """One inbox item. `params` fill the texts; bilingual pairs such as `milestone=("合同审核", "Contract review")`
    are picked by language, and `due` (a datetime) is shown in `timezone`."""
    lang = language(lang)
    values = {k: (v[0] if lang == "zh" else v[1]) if isinstance(v, tuple) else v for k, v in params.items()}
    if "due" in values:
        values["due"] = when(values["due"], values.pop("timezone", "Asia/Shanghai"), lang)
    title, body = TEXTS[kind][lang]
    return Notice(
        user_id=user_id, kind=kind, title=title.format(**values), body=body.format(**values),
        link=project_link(project_id, milestone_id), topic=project_id.hex,
        urgency="high" if kind in HIGH_URGENCY else "normal", source_id=source_id,
    )
