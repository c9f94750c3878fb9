"""Settings: `.env.example` matches what the code reads, bad values name their key, production needs a secret."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from backend import settings as settings_module
from backend.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"IPMS_[A-Z0-9_]+")
# Read by one command only, never a setting of the running app: `ipms create-user` takes the new user's
# password from it so it stays out of the shell history.
NOT_SETTINGS = {"IPMS_NEW_USER_PASSWORD"}


def example_keys() -> list[str]:
    keys = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, _ = line.partition("=")
            assert sep, f".env.example line without '=': {line!r}"
            keys.append(key.strip())
    return keys


def keys_read_by_settings() -> set[str]:
    """Every `"IPMS_…"` string literal in backend/settings.py that is a whole key (messages excluded)."""
    tree = ast.parse(Path(settings_module.__file__).read_text())
    return {
        node.value for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and KEY.fullmatch(node.value)
    }


def test_env_example_lists_exactly_the_keys_settings_read():
    keys = example_keys()
    assert len(keys) == len(set(keys)), "a key appears twice in .env.example"
    assert set(keys) == keys_read_by_settings()


def test_keys_found_by_source_scan_are_the_ones_from_env_uses():
    """Cross-check the source scan: changing any listed key's value changes the Settings built from it."""
    baseline = Settings.from_env({})
    samples = {
        "IPMS_ENV": "test", "IPMS_DATA_DIR": "/srv/ipms", "IPMS_DATABASE_URL": "postgresql://db/ipms",
        "IPMS_SECRET_KEY": "k" * 40, "IPMS_HOST": "0.0.0.0", "IPMS_TRUSTED_PROXIES": "10.0.0.0/8",
        "IPMS_ALLOWED_ORIGINS": "https://ipms.example.com", "IPMS_KEEP_ORIGINALS": "true",
        "IPMS_CLOCK_ENABLED": "false", "IPMS_LIVE_BACKEND": "redis", "IPMS_REDIS_URL": "redis://cache:6379/1",
        "IPMS_DEFAULT_LANGUAGE": "en", "IPMS_VAPID_SUBJECT": "ops@example.com",
        "IPMS_VAPID_PRIVATE_KEY": "qaNXK6LYRi2Ug5rn587Uw6RnO9e4q17WHfhSxaNYKD4",
        "IPMS_VAPID_PUBLIC_KEY":
            "BM7qZdAXJyyt-1oDo__g65h12-jUOPJs2zbAAkzzqIfymr2mHWlNrQ0vZD4m5eMg2x-7yaQXqJcXANiCVfUteDA",
    }
    for key in sorted(keys_read_by_settings()):
        assert Settings.from_env({key: samples.get(key, "7")}) != baseline, f"{key} is listed but changes nothing"


def test_no_other_module_reads_unlisted_keys():
    """Keys read outside settings.py (os.environ) must be listed too, or be a declared one-command input."""
    listed = set(example_keys())
    found: dict[str, set[str]] = {}
    for package in ("backend", "pwa", "notifications", "media"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and KEY.fullmatch(node.value):
                    found.setdefault(node.value, set()).add(str(path.relative_to(ROOT)))
    unlisted = {k: v for k, v in found.items() if k not in listed and k not in NOT_SETTINGS}
    assert not unlisted


def test_env_example_values_give_the_defaults():
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    assert Settings.from_env(values) == Settings.from_env({}) == Settings()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("IPMS_ENV", "staging"),
        ("IPMS_DATABASE_URL", "mysql://root@localhost/ipms"),
        ("IPMS_PORT", "eighty"),
        ("IPMS_PORT", "70000"),
        ("IPMS_PORT", "0"),
        ("IPMS_WORKERS", "0"),
        ("IPMS_WORKERS", "1.5"),
        ("IPMS_SESSION_IDLE_HOURS", "12h"),
        ("IPMS_SESSION_IDLE_HOURS", "0"),
        ("IPMS_SESSION_ABSOLUTE_DAYS", "-1"),
        ("IPMS_LOGIN_MAX_ATTEMPTS", "many"),
        ("IPMS_LOGIN_MAX_ATTEMPTS", "0"),
        ("IPMS_LOGIN_WINDOW_MINUTES", "0"),
        ("IPMS_TRUSTED_PROXIES", "10.0.0.0/8,not-an-address"),
        ("IPMS_SQLITE_READERS", "0"),
        ("IPMS_PG_POOL_SIZE", "x"),
        ("IPMS_UPLOAD_MAX_BYTES", "15MB"),
        ("IPMS_IMAGE_MAX_PIXELS", "-5"),
        ("IPMS_KEEP_ORIGINALS", "maybe"),
        ("IPMS_DEFAULT_LANGUAGE", "fr"),
        ("IPMS_VAPID_PRIVATE_KEY", "not-a-key"),
        ("IPMS_VAPID_PUBLIC_KEY", "BAAA"),
        ("IPMS_VAPID_SUBJECT", "https://example.com"),
        ("IPMS_PUSH_TTL", "0"),
        ("IPMS_LIVE_BACKEND", "kafka"),
        ("IPMS_LIVE_BACKEND", "postgres"),  # with the SQLite file: LISTEN/NOTIFY needs PostgreSQL
        ("IPMS_REDIS_URL", "http://127.0.0.1:6379"),
    ],
)
def test_bad_value_raises_settings_error_naming_the_key(key, value):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({key: value})
    assert key in str(caught.value)


def test_live_backend_postgres_with_a_postgresql_database():
    settings = Settings.from_env({"IPMS_LIVE_BACKEND": "Postgres", "IPMS_DATABASE_URL": "postgresql://db/ipms"})
    assert (settings.live_backend, Settings.from_env({"IPMS_LIVE_BACKEND": "redis"}).live_backend) == (
        "postgres", "redis")


@pytest.mark.parametrize("secret", [None, "", "too-short"])
def test_production_without_secret_key_is_refused(secret):
    env = {"IPMS_ENV": "production"}
    if secret is not None:
        env["IPMS_SECRET_KEY"] = secret
    with pytest.raises(SettingsError, match="IPMS_SECRET_KEY"):
        Settings.from_env(env)
    assert Settings.from_env({**env, "IPMS_SECRET_KEY": "x" * 32}).env == "production"


def test_production_without_secret_key_does_not_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPMS_")}
    env |= {"IPMS_ENV": "production", "IPMS_DATA_DIR": str(tmp_path)}
    for command in (["serve", "--port", "1"], ["migrate"]):
        result = subprocess.run([sys.executable, "-m", "backend.cli", *command], env=env, cwd=ROOT,
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert "IPMS_SECRET_KEY" in result.stderr
    assert not list(tmp_path.iterdir()), "nothing may be created before the configuration is accepted"
