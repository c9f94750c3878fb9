"""Run by tests/backend/photos/test_upload_bombs.py in a fresh interpreter: handle one upload, print the verdict
and the peak RSS in KiB.

`python -m tests.support.measure_upload service|asgi|asgi-many <json arguments>` prints `key value` lines.

- `service`: `backend.photos.services.ingest_photo` on the test's database; the peak is the whole process's.
- `asgi`: a multipart POST through the Litestar app (`httpx.ASGITransport`). Importing the web layer alone peaks
  near 110 MiB (argon2 hashes a dummy password with 64 MiB at import, `backend.accounts.services`), so the peak
  is reset (`/proc/self/clear_refs` ← 5) to the resident size once the app is built and before the upload
  starts (`baseline_kib`, ≈90 MiB: Litestar, ReactPy, the pages); `peak_kib` is then the high-water mark of
  the upload itself on top of that.
- `asgi-many`: the same, with every file of `files` posted at once (one request each); `verdicts` is a JSON list
  of their answers, in the order given.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

STATUS = Path("/proc/self/status")


def peak_kib() -> int:
    return int(next(line.split()[1] for line in STATUS.read_text().splitlines() if line.startswith("VmHWM:")))


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


async def via_service(args: dict) -> str:
    from backend import db
    from backend.access import Actor
    from backend.errors import ServiceError
    from backend.photos.schemas import Parent
    from backend.photos.services import ingest_photo
    from backend.settings import Settings

    settings = Settings(env="test", data_dir=Path(args["data_dir"]), database_url=args["database_url"])
    engine = db.engine_for(settings)
    db.bind(engine)
    await db.start(engine, 1)
    try:
        actor = Actor(id=uuid.UUID(args["user_id"]), role=args["role"], branch_id=uuid.UUID(args["branch_id"]))
        data = Path(args["file"]).read_bytes()
        try:
            parent = Parent("visit", uuid.UUID(args["visit_id"]))
            await ingest_photo(actor, settings, photo_id=uuid.uuid4(), parent=parent, data=data)
        except ServiceError as exc:
            return f"{exc.status_code} {exc.code}"
        return "201 stored"
    finally:
        await db.stop(engine)


async def via_asgi(args: dict) -> str:
    import httpx

    from backend import db
    from backend.app import create_litestar
    from backend.settings import Settings

    settings = Settings(env="test", data_dir=Path(args["data_dir"]), database_url=args["database_url"])
    engine = db.engine_for(settings)
    db.bind(engine)
    await db.start(engine, 1)
    paths = [Path(name) for name in args.get("files") or [args["file"]]]
    uploads = [path.read_bytes() for path in paths]
    try:
        app = create_litestar(settings, run_migrations=False, engine=engine)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local", timeout=600) as client:
            await client.get("/healthz")  # first request: routing and DB connections warmed up
            print(f"startup_peak_kib {peak_kib()}")
            reset_peak()
            print(f"baseline_kib {peak_kib()}")

            async def post(path: Path, data: bytes) -> tuple[str, str | None]:
                response = await client.post(
                    "/api/photos",
                    headers={"cookie": f"ipms_session={args['token']}", "x-csrf-token": args["csrf"]},
                    data={"id": str(uuid.uuid4()), "visit_id": args["visit_id"]},
                    files={"file": (path.name, data, "application/octet-stream")},
                )
                body = response.json()
                return f"{response.status_code} {body.get('error', 'stored')}", body.get("field")

            answers = await asyncio.gather(*(post(path, data) for path, data in zip(paths, uploads, strict=True)))
        if "files" in args:  # the error's field too: a refusal names the file part
            print(f"verdicts {json.dumps([f'{verdict} {field}' if field else verdict for verdict, field in answers])}")
        return answers[0][0]
    finally:
        await db.stop(engine)


def main() -> None:
    mode, args = sys.argv[1], json.loads(sys.argv[2])
    verdict = asyncio.run(via_service(args) if mode == "service" else via_asgi(args))  # asgi, asgi-many
    print(f"verdict {verdict}")
    print(f"peak_kib {peak_kib()}")


if __name__ == "__main__":
    main()
