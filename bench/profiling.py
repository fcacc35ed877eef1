"""Where the time goes: py-spy's raw (collapsed) stacks summed by package, by function and by connector function.

`python -m bench --profile` records the child (the connector) and the sandbox of every scenario it runs with
`py-spy record --gil` (only threads holding the GIL: CPU that competes for it, not waiting), and this module
turns each recording into short tables. Time spent inside C (json, DuckDB) is charged to its Python caller.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

#: Samples per second: enough for a stable split of a few seconds' work, cheap enough not to bend it much.
SAMPLING_RATE = 200

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
#: The package a file belongs to, by the first match of these path fragments; others are named by their folder.
PACKAGES = (
    "egnyte_async", "egnyte_sandbox", "bench", "fivetran_connector_sdk_core", "fivetran_connector_sdk_cli",
    "fivetran_connector_sdk_common", "duckdb", "httpx", "httpcore", "h11", "anyio", "tenacity", "aiolimiter",
    "starlette", "uvicorn", "asyncio", "json", "threading", "selectors", "concurrent", "connector.py",
)  # fmt: skip


def py_spy() -> str:
    """The py-spy executable: on PATH or next to this Python (`.venv/bin/pip install py-spy`)."""
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
    return found


def _record(output: Path) -> list[str]:
    return [py_spy(), "record", "--gil", "--rate", str(SAMPLING_RATE), "--format", "raw", "--output", str(output)]


def recording(command: list[str], output: Path) -> list[str]:
    """`command` run under py-spy, its samples written to `output`."""
    return [*_record(output), "--", *command]


def attach(pid: int, output: Path) -> subprocess.Popen:
    """Starts sampling a running process (the sandbox); stop it with `detach`."""
    return subprocess.Popen([*_record(output), "--pid", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def detach(sampler: subprocess.Popen) -> None:
    """py-spy writes its file when interrupted."""
    sampler.send_signal(signal.SIGINT)
    try:
        sampler.wait(timeout=30)
    except subprocess.TimeoutExpired:
        sampler.kill()
        sampler.wait(timeout=10)


def package_of(file: str) -> str:
    for name in PACKAGES:
        if name in file:
            return name
    parts = file.split("/")
    return parts[0] if len(parts) > 1 else file


#: Which thread a stack belongs to, by a frame only that thread has: the connector's two sides.
ROLES = (
    ("fetching: event-loop thread (egnyte_async client, httpx)", "run_blocking_portal"),
    ("writing: update() thread (drain loop, op.upsert, op.checkpoint)", "Sync.run"),
    ("replaying rows into the sink (sink alone)", "replaying_connector"),
)


@dataclass
class Profile:
    samples: int = 0
    by_role: Counter[str] = field(default_factory=Counter)
    self_by_function: Counter[str] = field(default_factory=Counter)
    self_by_package: Counter[str] = field(default_factory=Counter)
    inclusive_by_function: Counter[str] = field(default_factory=Counter)


def _frames(stack: str) -> list[tuple[str, str]]:
    frames = []
    for text in stack.split(";"):
        match = _FRAME.match(text.strip())
        if match:
            frames.append((match["function"], match["file"]))
    return frames


#: Stacks of module imports: the child's start-up, before anything is timed.
IMPORTING = "importlib._bootstrap"


def read_profile(path: Path) -> Profile:
    """Sums a py-spy `--format raw` file (one `frame;frame;...;leaf COUNT` line per stack), imports left out."""
    profile = Profile()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit() or IMPORTING in stack:
            continue
        count = int(count_text)
        frames = _frames(stack)
        if not frames:
            continue
        profile.samples += count
        profile.by_role[next((label for label, frame in ROLES if frame in stack), "other")] += count
        function, file = frames[-1]
        profile.self_by_function[f"{function} ({file})"] += count
        profile.self_by_package[package_of(file)] += count
        for name in {f"{function} ({file})" for function, file in frames}:
            profile.inclusive_by_function[name] += count
    return profile


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f}%" if total else "-"


def summarize(path: Path, title: str, top: int = 15, focus: tuple[str, ...] = ("egnyte_async",)) -> str:
    """A markdown summary: self time by package, the hottest functions, and inclusive time of `focus` functions."""
    profile = read_profile(path)
    total = profile.samples
    lines = [f"### {title}", "", f"{total} samples of threads holding the GIL (py-spy --gil), imports left out.", ""]
    if set(profile.by_role) - {"other"}:
        lines += ["| thread | share of the GIL |", "|---|---|"]
        lines += [f"| {role} | {_share(count, total)} |" for role, count in profile.by_role.most_common()]
        lines.append("")
    lines += ["| package (self time) | share |", "|---|---|"]
    lines += [f"| {name} | {_share(count, total)} |" for name, count in profile.self_by_package.most_common(top)]
    lines += ["", "| function (self time) | share |", "|---|---|"]
    lines += [f"| `{name}` | {_share(count, total)} |" for name, count in profile.self_by_function.most_common(top)]
    focused = [
        (name, count)
        for name, count in profile.inclusive_by_function.most_common()
        if any(fragment in name for fragment in focus)
    ][:top]
    if focused:
        lines += ["", f"| {', '.join(focus)} function (inclusive) | share |", "|---|---|"]
        lines += [f"| `{name}` | {_share(count, total)} |" for name, count in focused]
    return "\n".join(lines) + "\n"
