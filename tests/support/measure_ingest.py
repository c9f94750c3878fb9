"""Run by the memory tests in a fresh interpreter: ingest files at once (one thread each), report peak RSS.

``python -m tests.support.measure_ingest '{"files": [...], "budget_mb": 384, "keep_original": false}'`` prints one
JSON object. ``tracemalloc`` cannot see Pillow's, libjpeg's, libwebp's or libheif's buffers, so the figure is the
process's own high-water mark (VmHWM), reset (``/proc/self/clear_refs`` ← 5) once the imports are done and the
files read: ``baseline_kib`` is what is resident then, ``peak_kib`` the most resident since, and the ingest's own
growth is their difference. On Linux ``getrusage(RUSAGE_SELF).ru_maxrss`` would carry the parent's peak over
``exec``, which is why it is not used.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

STATUS = Path("/proc/self/status")
REPO = Path(__file__).resolve().parents[2]


def measure(files: list[Path], *, budget_mb: int | None = None, keep_original: bool = False) -> dict[str, Any]:
    """Ingest ``files`` at once in a fresh interpreter (warnings as errors) and return what it reports."""
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "tests.support.measure_ingest",
         json.dumps({"files": [str(f) for f in files], "budget_mb": budget_mb, "keep_original": keep_original})],
        cwd=REPO, capture_output=True, text=True, check=True,
    )
    assert done.stderr == ""
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def status_kib(key: str) -> int:
    return int(next(line.split()[1] for line in STATUS.read_text().splitlines() if line.startswith(key)))


def main() -> None:
    from media.budget import MemoryBudget
    from media.errors import MediaError
    from media.ingest import estimate, ingest

    args = json.loads(sys.argv[1])
    keep = bool(args.get("keep_original", False))
    datas = [Path(name).read_bytes() for name in args["files"]]
    budget = MemoryBudget(args["budget_mb"] * 1024 * 1024) if args.get("budget_mb") else None
    results: list[dict[str, Any]] = [{"file": Path(name).name} for name in args["files"]]
    for result, data in zip(results, datas, strict=True):
        plan = estimate(data, keep_original=keep)
        result.update(estimate=plan.cost, route=plan.route)

    def work(index: int) -> None:
        try:
            done = ingest(datas[index], keep_original=keep, budget=budget)
        except MediaError as exc:
            results[index].update(ok=False, error=exc.code, message=exc.message)
        else:
            results[index].update(ok=True, decoded=[done.decoded_width, done.decoded_height],
                                  display=[done.display.width, done.display.height])

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(datas))]
    Path("/proc/self/clear_refs").write_text("5")
    baseline = status_kib("VmRSS:")
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"baseline_kib": baseline, "peak_kib": status_kib("VmHWM:"), "results": results,
                      "budget_peak": budget.peak if budget else None}))


if __name__ == "__main__":
    main()
