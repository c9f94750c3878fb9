"""The two catalogs: identical keys, the same placeholders, no empty texts; language choice and formatting."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import string
from pathlib import Path

from pwa import i18n

PWA = Path(i18n.__file__).resolve().parent.parent


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogs_have_identical_keys() -> None:
    zh, en = i18n.catalog("zh"), i18n.catalog("en")
    assert sorted(set(zh) - set(en)) == [] and sorted(set(en) - set(zh)) == []


def test_catalog_entries_share_placeholders_and_are_not_empty() -> None:
    zh, en = i18n.catalog("zh"), i18n.catalog("en")
    for key in zh:
        assert zh[key].strip() and en[key].strip(), key
        assert placeholders(zh[key]) == placeholders(en[key]), key


def test_every_literal_key_used_by_the_code_exists() -> None:
    used: set[str] = set()
    for path in PWA.rglob("*.py"):
        used |= set(re.findall(r"""\bt\((?:app\.lang, |lang, )?"([a-z_]+\.[a-z_.]+)\"""", path.read_text()))
    missing = sorted(key for key in used if key not in i18n.catalog("zh"))
    assert missing == []


def test_language_prefers_the_users_setting_then_accept_language() -> None:
    headers = [(b"accept-language", b"en-US,en;q=0.9,zh-CN;q=0.8")]
    assert i18n.language_for("zh", headers, "zh") == "zh"
    assert i18n.language_for("", headers, "zh") == "en"
    assert i18n.language_for("", [(b"accept-language", b"fr-FR, zh-TW;q=0.5")], "en") == "zh"
    assert i18n.language_for("", [(b"accept-language", b"fr-FR")], "en") == "en"
    assert i18n.language_for("", None, "zh") == "zh"


def test_formatting_uses_locale_and_branch_time_zone() -> None:
    zh, en = i18n.Formatter("zh", "Asia/Shanghai"), i18n.Formatter("en", "Asia/Shanghai")
    moment = dt.datetime(2026, 1, 5, 1, 30, tzinfo=dt.UTC)  # 09:30 in Shanghai
    assert zh.time(moment) == "09:30" and en.time(moment) == "09:30"
    assert "1月5日" in zh.date(moment) and "Jan" in en.date(moment)
    assert zh.money(decimal.Decimal("1234567.5")) == "¥1,234,567.50"
    assert en.money(decimal.Decimal("1234567.5")) == "CN¥1,234,567.50"
    assert zh.money_short(3_000_000) == "300万" and en.money_short(3_000_000) == "¥3M"


def test_missing_key_shows_the_key_rather_than_failing() -> None:
    assert i18n.t("en", "no.such.key") == "no.such.key"
