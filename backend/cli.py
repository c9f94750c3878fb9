"""`ipms`: the one command line (serve, migrate, create-user, demo, check, backup, restore, push, piccolo)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from backend import db
from backend.settings import Settings, SettingsError, get_settings
from backend.specs import ROLES

T = TypeVar("T")


async def with_database(settings: Settings, work: Callable[[], Awaitable[T]], migrate_first: bool = True) -> T:
    from backend.migrate import migrate

    engine = db.engine_for(settings)
    db.bind(engine)
    await db.start(engine, settings.pg_pool_size)
    try:
        if migrate_first:
            await migrate()
        return await work()
    finally:
        await db.stop(engine)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from backend.demo import demo_exists, seed_demo

    async def prepare() -> None:
        if args.demo and not await demo_exists():
            summary = await seed_demo()
            print_logins(summary.logins)

    asyncio.run(with_database(settings, prepare))  # migrate once, before any worker starts
    print(f"IPMS on http://{args.host}:{args.port}  (data: {settings.data_dir.resolve()})", flush=True)
    uvicorn.run("backend.app:asgi", factory=True, host=args.host, port=args.port, workers=args.workers,
                proxy_headers=False, ws="websockets", log_level="info")
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(with_database(settings, lambda: asyncio.sleep(0)))
    print("Database is up to date.")
    return 0


def print_logins(logins: list[tuple[str, str, str, str]]) -> None:
    from backend.demo import DEMO_PASSWORD

    print(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for username, name, role, branch in logins:
        print(f"  {username:<28} {name:<6} {role:<16} {branch}")


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from backend.demo import demo_exists, seed_demo

    async def work() -> int:
        if await demo_exists():
            print("The demo organisation is already there (use a fresh IPMS_DATA_DIR for a new one).")
            return 0
        summary = await seed_demo(scale=args.scale)
        print(", ".join(f"{v} {k}" for k, v in summary.counts.items()))
        print_logins(summary.logins)
        return 0

    return asyncio.run(with_database(settings, work))


def cmd_create_user(args: argparse.Namespace, settings: Settings) -> int:
    from backend.accounts.services import create_user
    from backend.accounts.tables import Branch
    from backend.errors import ServiceError

    password = args.password or os.environ.get("IPMS_NEW_USER_PASSWORD") or getpass.getpass("Password: ")

    async def work() -> int:
        branch = await Branch.select(Branch.id).where(Branch.code == args.branch).first()
        if branch is None:
            print(f"No branch with code {args.branch!r}", file=sys.stderr)
            return 2
        try:
            user = await create_user(None, {"username": args.username, "display_name": args.name or args.username,
                                            "password": password, "role": args.role, "branch_id": branch["id"]})
        except ServiceError as exc:
            print(f"{exc.field or 'error'}: {exc.message}", file=sys.stderr)
            return 2
        print(f"Created {user['username']} ({user['role']})")
        return 0

    return asyncio.run(with_database(settings, work))


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from backend.ops import check

    async def work() -> tuple[list[str], list[str]]:
        problems = await check(settings)
        return problems, [] if problems else await housekeeping_lines(settings)

    try:
        problems, lines = asyncio.run(with_database(settings, work, migrate_first=False))
    except Exception as exc:
        problems, lines = [f"database unreachable: {type(exc).__name__}: {exc}"], []
    for line in problems:
        print(f"FAIL {line}")
    if not problems:
        print("OK: settings, database connection, migrations and integrity")
    for line in lines:
        print(line)
    return 1 if problems else 0


async def housekeeping_lines(settings: Settings) -> list[str]:
    """What the clock's housekeeping would delete now, and what it keeps, per table."""
    import datetime as dt

    from backend.housekeeping import counts

    return [f"housekeeping: {rule.table}: {prunable} prunable ({rule.reason}), {retained} retained"
            for rule, prunable, retained in await counts(settings, dt.datetime.now(dt.UTC))]


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from backend.ops import backup

    target = asyncio.run(with_database(settings, lambda: backup(settings, Path(args.target)), migrate_first=False))
    print(f"Backup written to {target}")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from backend.ops import restore

    restore(settings, Path(args.source))
    print(f"Restored from {args.source}; run `ipms check` before starting the app.")
    return 0


def cmd_media_gc(args: argparse.Namespace, settings: Settings) -> int:
    """Remove media files no photo references (after the grace period); list photos whose files are missing."""
    from backend.photos.services import collect_media_garbage

    result = asyncio.run(with_database(settings, lambda: collect_media_garbage(
        settings, dry_run=args.dry_run, grace_seconds=args.grace_seconds), migrate_first=False))
    report, verb = result.report, "Would remove" if args.dry_run else "Removed"
    print(f"{verb} {len(report.removed_files)} unreferenced files and {len(report.removed_temp_files)} temporary "
          f"files ({report.freed_bytes} bytes); kept {len(report.kept_recent_files)} younger than "
          f"{args.grace_seconds:g} s.")
    for missing in result.missing:
        print(f"MISSING photo {missing.photo_id} {missing.variant} {missing.sha256}")
    return 1 if result.missing else 0


def cmd_push_test(args: argparse.Namespace, settings: Settings) -> int:
    """Send a test push to each of the user's subscribed devices now; print what each push service answered."""
    from backend.errors import ServiceError
    from backend.push.services import send_test_push

    async def work() -> int:
        try:
            results = await send_test_push(args.user, settings)
        except ServiceError as exc:
            print(f"{exc.field or 'error'}: {exc.message}", file=sys.stderr)
            return 2
        if not results:
            print(f"{args.user} has no device with push notifications switched on (Settings on the phone).")
            return 1
        for row in results:
            detail = row["last_error"]
            if row["status"] == "pending":
                detail = f"will retry at {row['next_attempt_at']:%Y-%m-%d %H:%M:%S} UTC: {detail}"
            print(f"{row['device'] or 'removed device'}: {row['status']}" + (f" ({detail})" if detail else ""))
        return 0 if all(row["status"] == "sent" for row in results) else 1

    return asyncio.run(with_database(settings, work))


def cmd_clock(args: argparse.Namespace, settings: Settings) -> int:
    """The escalation clock on its own: `--once` fires what is due and exits (cron, catch-up); otherwise it runs
    until interrupted, beside app processes started with IPMS_CLOCK_ENABLED=false."""
    from backend.lifecycle.clock import EscalationClock

    clock = EscalationClock.for_settings(settings)

    async def work() -> int:
        if args.once:
            print(f"Fired {await clock.run_once()} reminders and escalations.")
            pruned = await clock.tidy() or {}
            print("Housekeeping deleted " + ", ".join(f"{n} {table}" for table, n in pruned.items()) + ".")
            return 0
        print(f"Escalation clock running as {clock.worker} (Ctrl-C stops it).", flush=True)
        await clock.run()
        return 0

    try:
        return asyncio.run(with_database(settings, work))
    except KeyboardInterrupt:
        return 0


def cmd_piccolo(args: argparse.Namespace, settings: Settings) -> int:
    """Piccolo's own CLI with this project's configuration (e.g. `ipms piccolo migrations new clients --auto`)."""
    from piccolo.main import main as piccolo_main

    os.environ["PICCOLO_CONF"] = "backend.piccolo_conf"
    sys.argv = ["piccolo", *args.rest]
    piccolo_main()
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="ipms", description="IPMS: intermediary project management system")
    sub = root.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate, then serve the app")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=None)
    serve.add_argument("--demo", action="store_true", help="seed the demo organisation first if it is missing")
    serve.set_defaults(run=cmd_serve)
    sub.add_parser("migrate", help="run database migrations").set_defaults(run=cmd_migrate)
    demo = sub.add_parser("demo", help="create the demo organisation and print its logins")
    demo.add_argument("--scale", type=int, default=1, help="multiply clients and projects")
    demo.set_defaults(run=cmd_demo)
    user = sub.add_parser("create-user", help="create a user")
    user.add_argument("username")
    user.add_argument("--role", required=True, choices=ROLES)
    user.add_argument("--branch", required=True, help="branch code, e.g. SH-PD")
    user.add_argument("--name", default="")
    user.add_argument("--password", default="", help="or IPMS_NEW_USER_PASSWORD, or asked for")
    user.set_defaults(run=cmd_create_user)
    sub.add_parser("check", help="check configuration and database health").set_defaults(run=cmd_check)
    backup = sub.add_parser("backup", help="consistent copy of database and media, while the app runs")
    backup.add_argument("target", help="folder to create")
    backup.set_defaults(run=cmd_backup)
    restore = sub.add_parser("restore", help="restore a backup (stop the app first)")
    restore.add_argument("source")
    restore.set_defaults(run=cmd_restore)
    media = sub.add_parser("media", help="photo files").add_subparsers(dest="media_command", required=True)
    media_gc = media.add_parser("gc", help="remove files no photo uses; report photos whose files are missing "
                                          "(exit status 1 when any are)")
    media_gc.add_argument("--dry-run", action="store_true", help="only report what would be removed")
    media_gc.add_argument("--grace-seconds", type=float, default=3600.0,
                          help="keep unreferenced files younger than this (uploads in flight); default 3600")
    media_gc.set_defaults(run=cmd_media_gc)
    push = sub.add_parser("push", help="web push").add_subparsers(dest="push_command", required=True)
    push_test = push.add_parser("test", help="send a test push to a user's subscribed devices now (exit status 1 "
                                             "unless every device got it)")
    push_test.add_argument("--user", required=True, help="username")
    push_test.set_defaults(run=cmd_push_test)
    clock = sub.add_parser("clock", help="run the escalation clock on its own (the app runs one by default)")
    clock.add_argument("--once", action="store_true", help="fire everything due now, then exit")
    clock.set_defaults(run=cmd_clock)
    piccolo = sub.add_parser("piccolo", help="Piccolo's CLI with IPMS's configuration")
    piccolo.add_argument("rest", nargs=argparse.REMAINDER)
    piccolo.set_defaults(run=cmd_piccolo)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        args.host = args.host or settings.host
        args.port = args.port or settings.port
        args.workers = args.workers or settings.workers
    code: int = args.run(args, settings)
    return code


if __name__ == "__main__":
    sys.exit(main())
