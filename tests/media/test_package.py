"""The library's boundaries: no backend, PWA or web framework inside, and safe to call from worker threads."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from media.ingest import ingest
from media.store import MediaStore
from tests.support.images import encode, exif, noise, red_quadrant

REPO = Path(__file__).resolve().parents[2]


def test_media_package_imports_no_backend_pwa_or_litestar() -> None:
    code = (
        "import sys, media, media.ingest, media.store\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'backend', 'pwa', 'litestar', 'piccolo'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_ingest_in_threads_matches_sequential() -> None:
    uploads = [encode(noise(1800, 1200, seed)) for seed in range(3)]
    uploads.append(encode(red_quadrant(900, 600), "PNG"))
    uploads.append(encode(noise(600, 900, 9), exif=exif(orientation=8)))
    sequential = [ingest(data).display.sha256 for data in uploads]

    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda data: ingest(data).display.sha256, uploads * 2))

    assert threaded == sequential * 2


def test_store_put_same_content_from_threads_one_file(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: store.put(b"same photo"), range(8)))

    assert len({(sha, path) for sha, path, _ in results}) == 1
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == [results[0][1]]
