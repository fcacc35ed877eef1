"""The code a run measures: a copy taken when the run starts, and which commit it came from.

Every child of a run imports the connector, the sandbox and the benchmark from that copy, so a file edited while
the benchmark runs cannot put two versions of the code side by side in one table. With `--against GIT_REF`, the
reference code is that commit checked out into a temporary `git worktree`, removed at the end of the run.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: `tests` for the calls scenarios, whose driver uses the end-to-end tests' virtual time and harness.
PACKAGES = ("egnyte_async", "egnyte_sandbox", "bench", "tests")
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


@contextmanager
def reference_worktree(ref: str) -> Iterator[tuple[Path, str]]:
    """`ref` checked out (detached) into a temporary worktree: yields its path and a description of the commit.

    The worktree is removed afterwards, whatever happened, together with git's record of it.
    """
    try:
        commit = _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except subprocess.CalledProcessError:
        raise ValueError(f"{ref!r} names no commit of this repository") from None
    tree = Path(tempfile.mkdtemp(prefix="egnyte-bench-ref-"))
    try:
        try:
            _git("worktree", "add", "--detach", "--quiet", str(tree), commit, timeout=120)
        except subprocess.CalledProcessError as error:
            raise RuntimeError(f"git worktree add failed: {error.stderr.strip()}") from None
        yield tree, f"{ref} = commit {commit[:7]}"
    finally:
        try:
            _git("worktree", "remove", "--force", str(tree), timeout=60)
        except (OSError, subprocess.SubprocessError):
            shutil.rmtree(tree, ignore_errors=True)
            with suppress(OSError, subprocess.SubprocessError):
                _git("worktree", "prune", timeout=60)


def _git(*args: str, timeout: float = 10) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=True).stdout
