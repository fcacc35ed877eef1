"""Runs one scenario: a fresh sandbox process, the sync in a child process (time-boxed), then both sides' counters."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from bench import profiling
from bench.calls import run_calls_scenario
from bench.plan import Scenario, Tenant
from bench.sandbox import RunningSandbox, child_env, start_sandbox

#: A keep-alive round trip on loopback above this is a stall in the sandbox's sockets, not the network.
STALLED_ROUND_TRIP_MS = 10.0


def loopback_round_trip_ms(workdir: Path, source: Path) -> float:
    """The sandbox's keep-alive round trip on loopback, measured once per run before any scenario."""
    scratch = workdir / "loopback-probe"
    scratch.mkdir(parents=True, exist_ok=True)
    sandbox = start_sandbox(Scenario("loopback-probe", "probe", Tenant.users_only(1)), scratch, source)
    try:
        return sandbox.keepalive_round_trip_ms()
    finally:
        sandbox.stop()


def run_scenario(
    scenario: Scenario,
    workdir: Path,
    source: Path,
    *,
    profile_dir: Path | None = None,
    child_source: Path | None = None,
) -> dict[str, Any]:
    """Everything measured for one scenario, or an `error` saying why there is nothing.

    The sandbox runs from `source`, and so does the child unless `child_source` names another tree (`--against`:
    the reference commit's worktree, whose own `bench.child` and `egnyte_async` the child then imports).
    With `profile_dir`, the child and the sandbox are sampled by py-spy (which slows both: such timings are not
    the benchmark's); the raw samples stay in the scratch folder and a summary of each goes to `profile_dir`.
    """
    if scenario.sink == "calls":
        return run_calls_scenario(scenario, workdir, source, child_source or source)
    scratch = workdir / scenario.name
    scratch.mkdir(parents=True, exist_ok=True)
    measured: dict[str, Any] = {"name": scenario.name, "scenario": scenario.to_dict(), "tenant": scenario.tenant.label}
    try:
        sandbox = start_sandbox(scenario, scratch, source)
    except RuntimeError as error:
        return {**measured, "error": str(error)}
    sampler = None
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
        sampler = profiling.attach(sandbox.process.pid, scratch / "sandbox.profile.txt")
    try:
        before = sandbox.stats()
        sandbox_cpu_before = sandbox.cpu_seconds()
        with OtherLoad() as load:
            child = _run_child(scenario, sandbox, scratch, child_source or source, profile_dir)
            sandbox_cpu = sandbox.cpu_seconds() - sandbox_cpu_before
            load.ours(sandbox_cpu)
        after = sandbox.stats()
        measured["sandbox_cpu_s"] = sandbox_cpu
        measured["other_load"] = load.cores
    finally:
        if sampler is not None:
            profiling.detach(sampler)
        sandbox.stop()
    if profile_dir is not None:
        _write_profile(scenario, scratch, profile_dir)
    measured.update(child)
    if "error" in child:
        return measured
    # The sandbox counts every request it answered (control endpoints excepted), throttled ones included.
    measured["requests"] = after["requests"] - before["requests"]
    measured["throttled"] = after["throttled"] - before["throttled"]
    measured["requests_by_path"] = after["paths"]
    first, last = after.get("first_admitted_s"), after.get("last_admitted_s")
    measured["call_span_s"] = last - first if first is not None and last is not None else None
    return _derive(scenario, measured)


class OtherLoad:
    """CPU that neither the child nor the sandbox used while the child ran, in cores: other processes, or steal.

    A benchmark on a shared machine cannot stop others from running; it can say how much they ran.
    """

    def __enter__(self) -> OtherLoad:
        self._busy = _busy_seconds()
        self._children = _children_cpu_seconds()
        self._started = time.perf_counter()
        self._sandbox = 0.0
        return self

    def ours(self, sandbox_cpu_s: float) -> None:
        self._sandbox = sandbox_cpu_s

    def __exit__(self, *exc_info: object) -> None:
        elapsed = time.perf_counter() - self._started
        busy = _busy_seconds() - self._busy
        ours = (_children_cpu_seconds() - self._children) + self._sandbox
        self.cores = max(0.0, busy - ours) / elapsed if elapsed > 0 else 0.0


def _busy_seconds() -> float:
    times = psutil.cpu_times()
    return sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal"))


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _write_profile(scenario: Scenario, scratch: Path, profile_dir: Path) -> None:
    parts = [f"## {scenario.name}: {scenario.tenant.label}\n"]
    for side, focus in (("connector", ("egnyte_async", "fivetran")), ("sandbox", ("egnyte_sandbox",))):
        raw = scratch / f"{side}.profile.txt"
        if raw.exists():
            parts.append(profiling.summarize(raw, side, focus=focus))
    (profile_dir / f"{scenario.name}.md").write_text("\n".join(parts))


def _run_child(
    scenario: Scenario, sandbox: RunningSandbox, scratch: Path, source: Path, profile_dir: Path | None
) -> dict[str, Any]:
    spec = scratch / "spec.json"
    result = scratch / "result.json"
    result.unlink(missing_ok=True)
    spec.write_text(json.dumps({
        "scenario": scenario.child_dict(),
        "base_url": sandbox.base_url,
        "access_token": sandbox.access_token,
        "workdir": str(scratch),
    }))  # fmt: skip
    log_path = scratch / "child.log"
    with log_path.open("wb") as log:
        command = [sys.executable, "-m", "bench.child", str(spec), str(result)]
        if profile_dir is not None:
            command = profiling.recording(command, scratch / "connector.profile.txt")
        process = subprocess.Popen(
            command,
            cwd=source,
            env=child_env(source),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = process.wait(timeout=scenario.timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            return {"error": f"timed out after {scenario.timeout_s:g} s", "log_tail": _tail(log_path)}
    if code != 0 or not result.exists():
        return {"error": f"the child exited with {code}", "log_tail": _tail(log_path)}
    return json.loads(result.read_text())


def _derive(scenario: Scenario, measured: dict[str, Any]) -> dict[str, Any]:
    """Rates over the timed sync. The achieved rate counts admitted requests only (a throttled one did no work).

    The sink alone makes no request while timed (its rows were fetched before), so it has no request rate.
    """
    wall = measured["wall_s"]
    measured["records_per_s"] = measured["records"] / wall if wall > 0 else 0.0
    if scenario.sink in ("duckdb-alone", "duckdb-generated"):
        measured["timed_requests"] = measured["requests_per_s"] = measured["admitted_per_s"] = None
    else:
        measured["timed_requests"] = measured["requests"]
        measured["requests_per_s"] = measured["requests"] / wall if wall > 0 else 0.0
        measured["admitted_per_s"] = (measured["requests"] - measured["throttled"]) / wall if wall > 0 else 0.0
    limit = scenario.server_limit
    rate = measured["admitted_per_s"]
    measured["achieved_over_limit"] = rate / limit if limit and rate is not None else None
    # The pace while calls flow: admitted calls over the span from the first to the last one the sandbox admitted,
    # without the sync's start-up and wrap-up (a token check, first pages, a closing checkpoint), which take the
    # same second whatever the limit and are no part of pacing.
    span, admitted = measured.get("call_span_s"), measured["requests"] - measured["throttled"]
    paced = (admitted - 1) / span if span and admitted > 1 else None
    measured["pace_over_limit"] = paced / limit if limit and paced is not None else None
    measured["cpu_share"] = measured["cpu_s"] / wall if wall > 0 else 0.0
    measured["sandbox_cpu_share"] = measured["sandbox_cpu_s"] / wall if wall > 0 else 0.0
    return measured


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
