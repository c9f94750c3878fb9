"""`ipms` smoke tests, each command run as a user would (a subprocess on a fresh SQLite data directory)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from backend.piccolo_conf import APP_REGISTRY

ROOT = Path(__file__).resolve().parents[2]


def ipms(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IPMS_")}
    environment |= {"IPMS_ENV": "test", "IPMS_DATA_DIR": str(data_dir), **env}
    # The entry point's module, run from the tree under test (see test_entry_point for the script itself).
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)


def query(data_dir: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(data_dir / "ipms.sqlite3") as connection:
        return connection.execute(sql, params).fetchall()


def table_counts(data_dir: Path) -> dict[str, int]:
    tables = ("regions", "branches", "users", "business_lines", "clients", "opportunities", "projects", "visits",
              "notes", "change_log")
    return {t: query(data_dir, f"SELECT count(*) FROM {t}")[0][0] for t in tables}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One demo organisation for the module (seeding takes a few seconds)."""
    data_dir = tmp_path_factory.mktemp("demo")
    result = ipms(data_dir, "demo")
    assert result.returncode == 0, f"ipms demo failed:\n{result.stderr[-3000:]}"
    return data_dir, result


def test_migrate_on_empty_data_dir(tmp_path):
    data_dir = tmp_path / "fresh"  # does not exist yet
    result = ipms(data_dir, "migrate")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    ran = query(data_dir, "SELECT app_name, name FROM migration")
    apps = {app for app, _ in ran}
    assert apps == set(APP_REGISTRY.app_configs)
    again = ipms(data_dir, "migrate")
    assert again.returncode == 0, again.stderr
    assert sorted(query(data_dir, "SELECT app_name, name FROM migration")) == sorted(ran)


def test_demo_prints_counts_and_logins(demo_dir):
    data_dir, result = demo_dir
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    counts = dict(reversed(part.split(" ", 1)) for part in lines[0].split(", "))
    stored = table_counts(data_dir)
    assert {k: int(v) for k, v in counts.items() if k in stored} == {
        k: v for k, v in stored.items() if k in counts}
    assert int(counts["regions"]) == 2 and int(counts["branches"]) == 4
    assert 20 <= int(counts["users"]) <= 40 and int(counts["clients"]) >= 250 and int(counts["projects"]) >= 100
    assert "demo1234" in lines[1]
    logins = {line.split()[0]: line.split()[2] for line in lines[2:] if line.startswith("  ")}
    assert logins["lina"] == "agent"
    roles = set(logins.values())
    assert roles == {"agent", "project_manager", "legal", "finance", "branch_manager", "executive", "admin"}
    assert set(logins) == {row[0] for row in query(data_dir, "SELECT username FROM users")}
    assert query(data_dir, "SELECT display_name FROM users WHERE username = 'lina'") == [("李娜",)]


def test_demo_second_run_changes_nothing(demo_dir):
    data_dir, first = demo_dir
    assert first.returncode == 0, first.stderr
    before = table_counts(data_dir)
    again = ipms(data_dir, "demo")
    assert again.returncode == 0, again.stderr
    assert "already there" in again.stdout
    assert table_counts(data_dir) == before


def test_create_user(demo_dir):
    data_dir, _ = demo_dir
    made = ipms(data_dir, "create-user", "Bob.Test", "--role", "agent", "--branch", "SH-PD", "--name", "鲍勃",
                "--password", "long enough 1")
    assert made.returncode == 0, made.stderr
    assert "bob.test" in made.stdout
    row = query(data_dir, "SELECT u.role, u.display_name, b.code, u.password_hash FROM users u "
                          "JOIN branches b ON b.id = u.branch WHERE u.username = 'bob.test'")
    assert len(row) == 1 and row[0][:3] == ("agent", "鲍勃", "SH-PD")
    assert row[0][3].startswith("$argon2") and "long enough" not in row[0][3]
    audit = query(data_dir, "SELECT action FROM change_log WHERE table_name = 'users' AND action = 'create'")
    assert audit  # created through the service, so it is audited

    from_env = ipms(data_dir, "create-user", "carol", "--role", "finance", "--branch", "SH-JA",
                    IPMS_NEW_USER_PASSWORD="from the environment")
    assert from_env.returncode == 0, from_env.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "agent", "--branch", "NOPE"], "No branch with code 'NOPE'"),
        (["--role", "agent", "--branch", "SH-PD", "--password", "short"], "password"),
        (["--role", "wizard", "--branch", "SH-PD"], "invalid choice"),
    ],
    ids=["unknown-branch", "short-password", "unknown-role"],
)
def test_create_user_refuses_bad_input(demo_dir, args, message):
    data_dir, _ = demo_dir
    before = table_counts(data_dir)["users"]
    result = ipms(data_dir, "create-user", "dave", *args,
                  *([] if "--password" in args else ["--password", "long enough 1"]))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert table_counts(data_dir)["users"] == before


def test_create_user_refuses_taken_username(demo_dir):
    data_dir, _ = demo_dir
    result = ipms(data_dir, "create-user", "lina", "--role", "agent", "--branch", "SH-PD", "--password", "x" * 12)
    assert result.returncode == 2
    assert "username" in result.stderr and "taken" in result.stderr


def test_check_healthy(demo_dir):
    data_dir, _ = demo_dir
    result = ipms(data_dir, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK")
    counted = [line for line in result.stdout.splitlines() if line.startswith("housekeeping: ")]
    assert [line.split(":")[1].strip() for line in counted] == ["login_attempts", "sessions", "sync_operations"]
    assert all("prunable" in line and "retained" in line for line in counted)


def test_check_counts_what_housekeeping_would_prune(tmp_path):
    data_dir = tmp_path / "fresh"
    assert ipms(data_dir, "migrate").returncode == 0
    with sqlite3.connect(data_dir / "ipms.sqlite3") as connection:
        connection.executemany("INSERT INTO login_attempts (ip, username, succeeded, at) VALUES (?, ?, 0, ?)",
                               [("203.0.113.9", "x", "2001-01-01 00:00:00+00:00"),
                                ("203.0.113.9", "x", "2999-01-01 00:00:00+00:00")])
    result = ipms(data_dir, "check", IPMS_RETENTION_DAYS="7")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "housekeeping: login_attempts: 1 prunable (older than 7 days), 1 retained" in result.stdout


def test_check_reports_missing_migrations(tmp_path):
    data_dir = tmp_path / "data"
    assert ipms(data_dir, "migrate").returncode == 0
    with sqlite3.connect(data_dir / "ipms.sqlite3") as connection:
        (app, name), = connection.execute("SELECT app_name, name FROM migration ORDER BY id DESC LIMIT 1")
        connection.execute("DELETE FROM migration WHERE app_name = ? AND name = ?", (app, name))
    result = ipms(data_dir, "check")
    assert result.returncode == 1
    assert "FAIL migrations not applied" in result.stdout and f"{app}:{name}" in result.stdout


def test_check_reports_database_never_migrated(tmp_path):
    result = ipms(tmp_path, "check")
    assert result.returncode == 1
    assert "FAIL migrations not applied" in result.stdout


def test_check_reports_corrupt_database(tmp_path):
    (tmp_path / "ipms.sqlite3").write_bytes(os.urandom(8192))
    result = ipms(tmp_path, "check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL database unreachable" in result.stdout
    assert "Traceback" not in result.stderr


def test_check_reports_orphaned_rows(tmp_path):
    data_dir = tmp_path / "data"
    assert ipms(data_dir, "migrate").returncode == 0
    with sqlite3.connect(data_dir / "ipms.sqlite3") as connection:  # foreign keys off on this connection
        connection.execute("INSERT INTO branches (id, region, code, name, timezone, created_at, updated_at, version) "
                           "VALUES ('00000000-0000-0000-0000-00000000000b', '00000000-0000-0000-0000-00000000000a',"
                           " 'X', 'X', 'Asia/Shanghai', '2025-01-01', '2025-01-01', 1)")
    result = ipms(data_dir, "check")
    assert result.returncode == 1
    assert "foreign key" in result.stdout


def test_bad_setting_is_reported_without_traceback(tmp_path):
    result = ipms(tmp_path, "check", IPMS_PORT="eighty")
    assert result.returncode == 2
    assert "IPMS_PORT" in result.stderr and "Traceback" not in result.stderr


def test_entry_point_is_installed():
    """`pip install -e .` puts an `ipms` script beside the interpreter that runs `backend.cli:main`."""
    script = Path(sys.executable).with_name("ipms")
    if not script.exists():
        pytest.skip(f"no {script}: the package is not installed into this interpreter's environment")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    for command in ("serve", "migrate", "create-user", "demo", "check", "backup", "restore"):
        assert command in result.stdout
