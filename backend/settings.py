"""Typed settings read once from `IPMS_*` environment variables, with defaults that work out of the box."""

from __future__ import annotations

import functools
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """A setting has a value the app cannot run with."""


def _int(env: dict[str, str], key: str, default: int, high: int | None = None) -> int:
    """A whole number from 1 (every numeric setting is a count, size or duration) up to `high`."""
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{key} must be an integer, got {raw!r}") from None
    if value < 1 or (high is not None and value > high):
        raise SettingsError(f"{key} must be at least 1{f' and at most {high}' if high else ''}, got {raw!r}")
    return value


def _bool(env: dict[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{key} must be true or false, got {raw!r}")


def _networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise SettingsError(f"IPMS_TRUSTED_PROXIES: {exc}") from None


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    session_idle_hours: int = 12
    session_absolute_days: int = 30
    login_max_attempts: int = 10
    login_window_minutes: int = 15
    api_token_days: int = 90
    trusted_proxies: tuple[Any, ...] = field(default_factory=tuple)
    allowed_origins: tuple[str, ...] = ()
    sqlite_readers: int = 4
    pg_pool_size: int = 10
    upload_max_bytes: int = 15 * 1024 * 1024
    image_max_pixels: int = 40_000_000
    image_memory_budget_mb: int = 384
    keep_originals: bool = False
    default_language: str = "zh"
    vapid_private_key: str = ""
    vapid_public_key: str = ""
    vapid_subject: str = ""
    push_ttl: int = 86400
    clock_enabled: bool = True
    clock_interval_seconds: int = 15
    clock_batch: int = 500
    retention_days: int = 30
    live_backend: str = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"

    @property
    def is_development(self) -> bool:
        return self.env in {"development", "test"}

    @property
    def uses_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "ipms.sqlite3"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read every `IPMS_*` key; `tests/test_settings.py` checks this list against `.env.example`."""
        env = dict(os.environ if env is None else env)
        mode = env.get("IPMS_ENV", "development")
        if mode not in {"development", "test", "production"}:
            raise SettingsError(f"IPMS_ENV must be development, test or production, got {mode!r}")
        database_url = env.get("IPMS_DATABASE_URL", "")
        if database_url and not database_url.startswith(("postgresql://", "postgres://", "sqlite:")):
            raise SettingsError("IPMS_DATABASE_URL must be postgresql://… (leave it empty for the SQLite file)")
        secret_key = env.get("IPMS_SECRET_KEY", "")
        if mode == "production" and len(secret_key) < 32:
            raise SettingsError("IPMS_SECRET_KEY must be set to at least 32 characters in production")
        language = env.get("IPMS_DEFAULT_LANGUAGE", "zh")
        if language not in {"zh", "en"}:
            raise SettingsError(f"IPMS_DEFAULT_LANGUAGE must be zh or en, got {language!r}")
        origins = tuple(o.strip().rstrip("/") for o in env.get("IPMS_ALLOWED_ORIGINS", "").split(",") if o.strip())
        return cls(
            env=mode,
            data_dir=Path(env.get("IPMS_DATA_DIR", "var")),
            database_url=database_url,
            secret_key=secret_key,
            host=env.get("IPMS_HOST", "127.0.0.1"),
            port=_int(env, "IPMS_PORT", 8000, high=65535),
            workers=_int(env, "IPMS_WORKERS", 1),
            session_idle_hours=_int(env, "IPMS_SESSION_IDLE_HOURS", 12),
            session_absolute_days=_int(env, "IPMS_SESSION_ABSOLUTE_DAYS", 30),
            login_max_attempts=_int(env, "IPMS_LOGIN_MAX_ATTEMPTS", 10),
            login_window_minutes=_int(env, "IPMS_LOGIN_WINDOW_MINUTES", 15),
            api_token_days=_int(env, "IPMS_API_TOKEN_DAYS", 90, high=3650),
            trusted_proxies=_networks(env.get("IPMS_TRUSTED_PROXIES", "")),
            allowed_origins=origins,
            sqlite_readers=_int(env, "IPMS_SQLITE_READERS", 4),
            pg_pool_size=_int(env, "IPMS_PG_POOL_SIZE", 10),
            upload_max_bytes=_int(env, "IPMS_UPLOAD_MAX_BYTES", 15 * 1024 * 1024),
            image_max_pixels=_int(env, "IPMS_IMAGE_MAX_PIXELS", 40_000_000),
            image_memory_budget_mb=_int(env, "IPMS_IMAGE_MEMORY_BUDGET_MB", 384),
            keep_originals=_bool(env, "IPMS_KEEP_ORIGINALS", False),
            default_language=language,
            **_push(env),
            **_clock(env),
            **_live(env, database_url),
        )


def _push(env: dict[str, str]) -> dict[str, Any]:
    """Web push settings. Key formats are checked here; whether the two keys belong together, at start-up."""
    from notifications.push.keys import check_subject, parse_private_key, parse_public_key

    values: dict[str, Any] = {}
    for key, name, check in (("IPMS_VAPID_PRIVATE_KEY", "vapid_private_key", parse_private_key),
                             ("IPMS_VAPID_PUBLIC_KEY", "vapid_public_key", parse_public_key)):
        values[name] = env.get(key, "").strip()
        try:
            if values[name]:
                check(values[name])
        except ValueError as exc:
            raise SettingsError(f"{key}: {exc}") from None
    subject = env.get("IPMS_VAPID_SUBJECT", "").strip()
    try:
        values["vapid_subject"] = check_subject(subject) if subject else ""
    except ValueError as exc:
        raise SettingsError(f"IPMS_VAPID_SUBJECT: {exc}") from None
    values["push_ttl"] = _int(env, "IPMS_PUSH_TTL", 86400, high=28 * 86400)
    return values


def _clock(env: dict[str, str]) -> dict[str, Any]:
    """The escalation clock: on in every app process unless turned off (e.g. when `ipms clock` runs it alone);
    its housekeeping keeps login attempts and applied sync operations `retention_days`."""
    return {
        "clock_enabled": _bool(env, "IPMS_CLOCK_ENABLED", True),
        "clock_interval_seconds": _int(env, "IPMS_CLOCK_INTERVAL_SECONDS", 15, high=3600),
        "clock_batch": _int(env, "IPMS_CLOCK_BATCH", 500, high=10_000),
        "retention_days": _int(env, "IPMS_RETENTION_DAYS", 30, high=3650),
    }


def _live(env: dict[str, str], database_url: str) -> dict[str, Any]:
    """Live updates between workers: `memory` (one process), `redis` or `postgres` (LISTEN/NOTIFY on the database)."""
    backend = env.get("IPMS_LIVE_BACKEND", "").strip().lower() or "memory"
    if backend not in {"memory", "redis", "postgres"}:
        raise SettingsError(f"IPMS_LIVE_BACKEND must be memory, redis or postgres, got {backend!r}")
    if backend == "postgres" and not database_url.startswith(("postgresql://", "postgres://")):
        raise SettingsError("IPMS_LIVE_BACKEND=postgres needs IPMS_DATABASE_URL to name a PostgreSQL database")
    redis_url = env.get("IPMS_REDIS_URL", "").strip() or "redis://127.0.0.1:6379/0"
    if not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"IPMS_REDIS_URL must be redis://…, rediss://… or unix://…, got {redis_url!r}")
    return {"live_backend": backend, "redis_url": redis_url}


@functools.cache
def get_settings() -> Settings:
    return Settings.from_env()
