"""Two catalogs (zh, en) with identical keys, `t()`, the language choice and locale formatting with babel.

Times are stored in UTC and shown in the branch's time zone; money is CNY. A missing key is an error in tests
(the catalogs are checked for parity) and shows the key itself in production rather than crashing a screen.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import logging
import zoneinfo
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton, format_time
from babel.numbers import format_currency, format_decimal, format_percent

HERE = Path(__file__).resolve().parent
LANGUAGES = ("zh", "en")
LOCALES = {"zh": "zh_CN", "en": "en"}
log = logging.getLogger("ipms.i18n")


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    return json.loads((HERE / f"{lang}.json").read_text(encoding="utf-8"))


def t(lang: str, key: str, **values: Any) -> str:
    text = catalog(lang if lang in LANGUAGES else "zh").get(key)
    if text is None:
        log.error("Missing catalog key %r for %s", key, lang)
        return key
    return text.format(**values) if values else text


def language_from_header(accept_language: str, default: str) -> str:
    """The first of zh/en in the Accept-Language list, by q-value; `default` when neither appears."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            choices.append((-quality, index, primary))
    return min(choices)[2] if choices else default


def language_for(user_language: str, headers: list[tuple[bytes, bytes]] | None, default: str) -> str:
    """The user's setting, else the browser's Accept-Language, else the deployment default."""
    if user_language in LANGUAGES:
        return user_language
    for name, value in headers or []:
        if name == b"accept-language":
            return language_from_header(value.decode("latin-1"), default)
    return default


class Formatter:
    """Locale- and time-zone-aware formatting for one screen render."""

    def __init__(self, lang: str, timezone: str = "Asia/Shanghai") -> None:
        self.lang = lang
        self.locale = Locale.parse(LOCALES.get(lang, "zh_CN"))
        try:
            self.tz = zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.tz = zoneinfo.ZoneInfo("Asia/Shanghai")

    def local(self, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(self.tz)

    def time(self, value: dt.datetime | None) -> str:
        return format_time(self.local(value), "HH:mm", locale=self.locale) if value else ""

    def day(self, value: dt.datetime | dt.date | None) -> str:
        """Month and day (11月30日 / Nov 30); the year too when it is not this year."""
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            value = self.local(value)
            today = dt.datetime.now(self.tz).date()
            date = value.date()
        else:
            today, date = dt.date.today(), value
        skeleton = "MMMd" if date.year == today.year else "yMMMd"
        return format_skeleton(skeleton, date, locale=self.locale)

    def date(self, value: dt.date | dt.datetime | None) -> str:
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            value = self.local(value).date()
        return format_date(value, "medium", locale=self.locale)

    def datetime(self, value: dt.datetime | None) -> str:
        if value is None:
            return ""
        return f"{self.day(value)} {self.time(value)}"

    def full_datetime(self, value: dt.datetime | None) -> str:
        return format_datetime(self.local(value), "medium", tzinfo=self.tz, locale=self.locale) if value else ""

    def money(self, value: decimal.Decimal | float | None) -> str:
        if value is None:
            return ""
        return format_currency(decimal.Decimal(str(value)), "CNY", locale=self.locale)

    def money_short(self, value: decimal.Decimal | float | None) -> str:
        """Compact amounts for budgets: 300万 / ¥3M."""
        if value is None:
            return ""
        amount = decimal.Decimal(str(value))
        if self.lang == "zh":
            if amount >= 100_000_000:
                return f"{format_decimal(amount / 100_000_000, '#,##0.##', locale=self.locale)}亿"
            if amount >= 10_000:
                return f"{format_decimal(amount / 10_000, '#,##0.##', locale=self.locale)}万"
            return format_decimal(amount, "#,##0", locale=self.locale)
        if amount >= 1_000_000:
            return f"¥{format_decimal(amount / 1_000_000, '#,##0.##', locale=self.locale)}M"
        if amount >= 1_000:
            return f"¥{format_decimal(amount / 1_000, '#,##0.#', locale=self.locale)}k"
        return f"¥{format_decimal(amount, '#,##0', locale=self.locale)}"

    def number(self, value: float | decimal.Decimal) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, value: float) -> str:
        return format_percent(value, locale=self.locale)
