"""The package layering (pyproject.toml `[tool.importlinter]`) and import-time behaviour, checked in every test run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("backend", "notifications", "media", "pwa")


def _lint_imports() -> str:
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    assert found, "lint-imports is not installed (it is in the `test` extra)"
    return found


def test_import_contracts_are_kept() -> None:
    result = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, f"a broken import contract:\n{result.stdout}\n{result.stderr}"
    assert "0 broken" in result.stdout, result.stdout


def test_importing_every_module_creates_nothing(tmp_path: Path) -> None:
    """Importing a module opens no database and makes no folder (`import backend.piccolo_conf` used to make ./var)."""
    script = (
        "import importlib, pkgutil\n"
        f"for top in {PACKAGES!r}:\n"
        "    for info in pkgutil.walk_packages(importlib.import_module(top).__path__, top + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print('imported')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IPMS_", "PICCOLO_"))}
    env |= {"PYTHONPATH": str(ROOT), "IPMS_ENV": "test"}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300, stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, result.stderr
    assert "imported" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == []
