"""One scenario in a process of its own: `python -m bench.child SPEC.json RESULT.json`.

A process per scenario makes the peak RSS read at its end (`ru_maxrss`) that scenario's alone, and keeps one
scenario's garbage, caches and threads from slowing the next. Only the sync itself is timed: imports, the
sandbox's start and (for the sink alone) fetching the rows to replay are not.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from bench.plan import Scenario
from bench.sinks import CountingOperations, QuietLog, RecordingOperations


class Stopwatch:
    """Wall and CPU time (user + system, every thread of this process) of the timed part only."""

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), _cpu_seconds()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.wall_s = time.perf_counter() - self._wall
        self.cpu_s = _cpu_seconds() - self._cpu


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def null_sync(scenario: Scenario, base_url: str, token: str, operations: CountingOperations) -> dict[str, Any]:
    """The extractor alone (`Sync` from egnyte_async.pipeline) into a sink that costs nothing."""
    from egnyte_async.pipeline import Sync
    from egnyte_async.settings import Settings

    settings = Settings(
        domain="sandbox",
        base_url=base_url,
        api_token=token,
        requests_per_second=scenario.requests_per_second,
        max_concurrent_requests=scenario.concurrency,
        streams=tuple(scenario.tenant.streams),
        initial_sync_days=365,
        daily_request_limit=10**9,
        sync_frequency_hours=24,
    )
    log = QuietLog()
    with Stopwatch() as watch:
        report = Sync(settings, state={}, operations=operations, log=log).run()
    return {
        "wall_s": watch.wall_s,
        "cpu_s": watch.cpu_s,
        "records": operations.upserts,
        "rows_by_table": dict(report.rows_by_table),
        "client_requests": report.requests,
        "client_throttled": report.throttled,
        "client_retries": report.retries,
        "checkpoints": operations.checkpoints,
        "stopped": dict(report.stopped),
        "warnings": log.warning_count,
        "first_warnings": log.warnings[:5],
    }


def core_result(watch: Stopwatch, counts: dict[str, Any], project: Path) -> dict[str, Any]:
    """What a run through the SDK core measured: its time, the core's counts and the rows that landed."""
    from bench.core_sink import rows_in_warehouse

    return {
        "wall_s": watch.wall_s,
        "cpu_s": watch.cpu_s,
        "records": counts.get("Upserts", 0),
        "core_counts": counts,
        "rows_by_table": rows_in_warehouse(project),
        "checkpoints": counts.get("Checkpoints", 0),
    }


def duckdb_sync(scenario: Scenario, base_url: str, token: str, workdir: Path) -> dict[str, Any]:
    """connector.py as Fivetran runs it, through the SDK core into DuckDB."""
    from bench.core_sink import connector_configuration, prepare_core, run_core

    project = prepare_core(workdir)
    import connector as egnyte_connector

    with Stopwatch() as watch:
        counts = run_core(egnyte_connector.connector, project, connector_configuration(scenario, base_url, token))
    return core_result(watch, counts, project)


def sink_alone(scenario: Scenario, base_url: str, token: str, workdir: Path) -> dict[str, Any]:
    """The same rows and checkpoints as a real sync, fetched first (untimed), then replayed into the core."""
    from bench.core_sink import prepare_core, replaying_connector, run_core

    recorder = RecordingOperations()
    fetched = null_sync(scenario, base_url, token, recorder)
    project = prepare_core(workdir)
    with Stopwatch() as watch:
        counts = run_core(replaying_connector(recorder.operations), project, {})
    return {
        **core_result(watch, counts, project),
        "prefetch_wall_s": fetched["wall_s"],
        "client_requests": fetched["client_requests"],
    }


def generated_sink(scenario: Scenario, workdir: Path) -> dict[str, Any]:
    """The core alone, fed made-up notes as long as the scenario's and as many as its tenant's first sync writes."""
    from bench.core_sink import generated_notes_connector, prepare_core, run_core
    from egnyte_async.pipeline import Tuning

    project = prepare_core(workdir)
    rows, chars = scenario.tenant.synced_notes, scenario.tenant.note_chars
    with Stopwatch() as watch:
        counts = run_core(generated_notes_connector(rows, chars, Tuning().checkpoint_chars), project, {})
    return core_result(watch, counts, project)


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MB.

    Not `ru_maxrss`: Linux carries it across exec from the forked parent's address space, so every child would
    report at least the parent's own size (the benchmark's, with matplotlib loaded). VmHWM belongs to the address
    space the exec created. `ru_maxrss` (kilobytes on Linux) remains the fallback where /proc is missing.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text())
    scenario = Scenario.from_dict(spec["scenario"])
    base_url, token, workdir = spec["base_url"], spec["access_token"], Path(spec["workdir"])
    if scenario.sink == "null":
        result = null_sync(scenario, base_url, token, CountingOperations())
    elif scenario.sink == "duckdb":
        result = duckdb_sync(scenario, base_url, token, workdir)
    elif scenario.sink == "duckdb-alone":
        result = sink_alone(scenario, base_url, token, workdir)
    elif scenario.sink == "duckdb-generated":
        result = generated_sink(scenario, workdir)
    else:
        raise SystemExit(f"unknown sink {scenario.sink!r}")
    result["peak_rss_mb"] = peak_rss_mb()
    Path(argv[2]).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
