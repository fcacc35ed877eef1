"""The code a run measures: a copy taken when the run starts, and which commit it came from.

Every child of a run imports the connector, the sandbox and the benchmark from that copy, so a file edited while
the benchmark runs cannot put two versions of the code side by side in one table.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("egnyte_async", "egnyte_sandbox", "bench")
MODULES = ("connector.py",)
MEASURED = ("egnyte_async", "egnyte_sandbox", "connector.py")


def snapshot(destination: Path) -> Path:
    """Copies the packages and connector.py the children import into `destination`; returns it."""
    destination.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "results", "*.pyc")
    for name in PACKAGES:
        shutil.copytree(ROOT / name, destination / name, ignore=ignore)
    for name in MODULES:
        shutil.copy2(ROOT / name, destination / name)
    return destination


def describe() -> str:
    """The commit measured, and the measured files that differed from it when the run started."""
    try:
        commit = _git("rev-parse", "--short", "HEAD").strip()
        changed = [line[3:] for line in _git("status", "--porcelain", "--", *MEASURED).splitlines() if line.strip()]
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"commit {commit or 'unknown'}" + (f" with uncommitted changes in {', '.join(changed)}" if changed else "")


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True).stdout
