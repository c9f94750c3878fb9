"""One clock process for the race test: a command per line on stdin ({"now": ISO, "batch": n}) makes it fire
everything due at that time, batch after batch, and answer {"fired": count} on stdout. Settings come from the
environment (IPMS_DATABASE_URL or IPMS_DATA_DIR), so two of these share one database."""

import asyncio
import datetime as dt
import json
import sys

from backend import db
from backend.lifecycle.clock import fire_due_timers
from backend.settings import Settings


async def main(name: str) -> None:
    settings = Settings.from_env()
    engine = db.engine_for(settings)
    db.bind(engine)
    await db.start(engine, 4)
    loop = asyncio.get_running_loop()
    try:
        print(json.dumps({"ready": name}), flush=True)
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            command = json.loads(line)
            now, fired = dt.datetime.fromisoformat(command["now"]), 0
            while count := await fire_due_timers(now, limit=command["batch"], worker=name):
                fired += count
            print(json.dumps({"fired": fired}), flush=True)
    finally:
        await db.stop(engine)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
