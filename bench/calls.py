"""Calls, not time: a full first sync, then a quiet incremental sync 4 hours later, counted per endpoint by the sandbox.

`python -m bench.calls SPEC.json RESULT.json` is the child of a `calls-*` scenario. It runs in-process on virtual
time (tests/e2e/faultkit's `VirtualTime` and ASGI transport, the run's own copy of the sandbox), quota and rate off,
so the counts are what the code decides to ask, not what a limit let through. Between the two syncs 5% of the users
were active (their lastActiveDate moved 2 hours after the first sync) and a few of them added or removed a bookmark;
nothing else changed.

With `--against`, the child is still this tree's (the same driver, sandbox and changes), but `egnyte_async` is the
reference commit's: the scenario's working folder gets an `egnyte_async` link to the reference tree, first on the
path. Settings the reference's `Settings` does not know are left out.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from bench.plan import Scenario

HOURS_BETWEEN = 4.0
ACTIVE_SHARE = 0.05
#: Of the active users, this many change a bookmark (one added or one removed each).
BOOKMARK_EDITS = 10
SEED = 11
TABLES = ("users", "groups", "group_members", "notes", "bookmarks")


def run_calls_scenario(scenario: Scenario, workdir: Path, source: Path, code: Path) -> dict[str, Any]:
    """Runs the child with this run's driver and sandbox (`source`) and the connector of `code`; returns the result
    in the shape of the other scenarios' (requests, records, wall and CPU time), plus `calls` per sync and endpoint."""
    scratch = workdir / scenario.name
    scratch.mkdir(parents=True, exist_ok=True)
    measured: dict[str, Any] = {"name": scenario.name, "scenario": scenario.to_dict(), "tenant": scenario.tenant.label}
    cwd = source
    if code.resolve() != source.resolve():
        cwd = scratch / "code"
        cwd.mkdir(exist_ok=True)
        link = cwd / "egnyte_async"
        if not link.exists():
            link.symlink_to(code / "egnyte_async", target_is_directory=True)
    spec, result = scratch / "spec.json", scratch / "result.json"
    result.unlink(missing_ok=True)
    spec.write_text(json.dumps({"scenario": scenario.to_dict()}))
    env = {**os.environ, "PYTHONPATH": str(source), "DO_NOT_TRACK": "1", "PYTHONUNBUFFERED": "1"}
    log_path = scratch / "child.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.calls", str(spec), str(result)],
            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            code_ = process.wait(timeout=scenario.timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            return {**measured, "error": f"timed out after {scenario.timeout_s:g} s"}
    if code_ != 0 or not result.exists():
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        return {**measured, "error": f"the child exited with {code_}", "log_tail": tail}
    child = json.loads(result.read_text())
    wall = child["wall_s"]
    requests = sum(sum(sync.values()) for sync in child["calls"].values())
    return {
        **measured, **child, "requests": requests, "timed_requests": requests, "throttled": 0,
        "requests_per_s": requests / wall if wall else 0.0, "admitted_per_s": requests / wall if wall else 0.0,
        "records_per_s": child["records"] / wall if wall else 0.0, "achieved_over_limit": None,
        "cpu_share": child["cpu_s"] / wall if wall else 0.0, "sandbox_cpu_s": 0.0, "sandbox_cpu_share": 0.0,
        "other_load": 0.0, "requests_by_path": child["calls"]["incremental"],
    }  # fmt: skip


def _sync(app: Any, clock: Any, state: dict | None, operations: Any, scenario: Scenario) -> tuple[dict[str, int], Any]:
    """One sync at the virtual now; returns the API calls per endpoint the sandbox counted, and the report."""
    from faultkit import TimeoutASGITransport
    from harness import sync_setup

    from egnyte_async.pipeline import Sync, Tuning
    from egnyte_async.settings import Settings
    from tests.logs import RecordingLog

    overrides = {
        "requests_per_second": 1e9, "max_concurrent_requests": scenario.concurrency, "daily_request_limit": 10**9,
        "sync_frequency_hours": HOURS_BETWEEN, "initial_sync_days": 365, "request_timeout_seconds": 30.0,
    }  # fmt: skip
    known = {item.name for item in fields(Settings)} | set(Tuning.__dataclass_fields__)
    settings, tuning = sync_setup(
        "http://sandbox.local", app.state.sandbox.config.static_token, scenario.tenant.streams,
        **{key: value for key, value in overrides.items() if key in known},
    )  # fmt: skip
    sandbox = app.state.sandbox
    sandbox.reset_stats()
    transport = TimeoutASGITransport(app, clock)
    report = Sync(settings, state, operations, RecordingLog(), tuning=tuning, transport=transport, now=clock.wall(),
                  clock=clock).run()  # fmt: skip
    calls = {path: count for path, count in sandbox.stats.paths.items() if path.startswith("/pubapi/")}
    return dict(sorted(calls.items())), report


def quiet_changes(tenant: Any, at_ms: int) -> dict[str, int]:
    """5% of the users active at `at_ms`, BOOKMARK_EDITS of them adding or removing a bookmark."""
    rng = random.Random(SEED)
    names = [user["userName"] for user in tenant.iter_users() if user["active"]]
    active = rng.sample(names, round(len(names) * ACTIVE_SHARE))
    for name in active:
        tenant.touch_user(name, at_ms)
    edited = 0
    for name in active[:BOOKMARK_EDITS]:
        count = tenant.bookmark_count_of(name)
        if count and rng.random() < 0.5:
            tenant.remove_bookmark(name, rng.randrange(count))
        else:
            tenant.add_bookmark(name)  # an edit touches the user too, now (= at_ms)
        edited += 1
    return {"active": len(active), "bookmark_edits": edited}


def measure(scenario: Scenario) -> dict[str, Any]:
    """The two syncs, and whether the destination then equals the tenant (both timed together, real seconds)."""
    from faultkit import VirtualTime, sandbox_app
    from harness import RecordingOperations, assert_matches, expected_rows

    from egnyte_sandbox.dates import to_ms

    clock = VirtualTime()
    t = scenario.tenant
    app = sandbox_app(
        clock, {"users": t.users, "groups": t.groups, "members_per_group": t.members_per_group, "notes": t.notes,
                "bookmarks_per_user": t.bookmarks_per_user},
        wall_clock=clock.wall, users_carry_groups=t.users_carry_groups, request_log_limit=1000,
    )  # fmt: skip
    operations = RecordingOperations()
    started, cpu = time.perf_counter(), time.process_time()
    first_at = clock.wall()
    first, first_report = _sync(app, clock, None, operations, scenario)
    clock.advance(HOURS_BETWEEN * 3600 / 2)
    changes = quiet_changes(app.state.sandbox.tenant, to_ms(clock.wall()))
    clock.advance(HOURS_BETWEEN * 3600 / 2)
    upserts = operations.upserts
    incremental, report = _sync(app, clock, operations.last_state, operations, scenario)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    try:
        tenant = app.state.sandbox.tenant
        expected = expected_rows(tenant, clock.wall(), initial_sync_days=365 + HOURS_BETWEEN / 24)  # type: ignore[arg-type]
        assert_matches(operations.table, expected, tables=[name for name in TABLES if name in expected])
        matched = ""
    except AssertionError as error:
        matched = str(error)[:300]
    return {
        "wall_s": wall, "cpu_s": cpu, "records": operations.upserts,
        "calls": {"first": first, "incremental": incremental},
        "incremental_upserts": operations.upserts - upserts, "changes": changes,
        "stopped": {"first": sorted(first_report.stopped), "incremental": sorted(report.stopped)},
        "first_sync_at": first_at.isoformat(), "mismatch": matched, "peak_rss_mb": 0.0,
    }  # fmt: skip


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(here / "tests" / "e2e"))  # faultkit and harness, from the run's copy of the tests
    scenario = Scenario.from_dict(json.loads(Path(argv[1]).read_text())["scenario"])
    result = measure(scenario)
    import egnyte_async

    result["code"] = str(Path(egnyte_async.__file__).resolve().parent)
    from bench.child import peak_rss_mb

    result["peak_rss_mb"] = peak_rss_mb()
    Path(argv[2]).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
