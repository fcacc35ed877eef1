"""The sandbox in its own process, one per scenario, so its CPU is not the connector's and its counters start at 0."""

from __future__ import annotations

import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psutil

from bench.plan import Scenario

START_TIMEOUT_S = 60.0


def sandbox_args(scenario: Scenario) -> list[str]:
    """The sandbox's flags for this scenario: its tenant, latency, limit and the limiter's kind; no daily quota and
    no request log.

    The sandbox adds `jitter × u` with u uniform in [0, 1) to its latency, so "100 ms ± 20 ms" (80 to 120 ms,
    mean 100) is asked for as 80 ms plus 40 ms of jitter.
    """
    tenant = scenario.tenant
    return [
        "--users", str(tenant.users),
        "--groups", str(tenant.groups),
        "--members-per-group", str(tenant.members_per_group),
        "--notes", str(tenant.notes),
        "--bookmarks-per-user", str(tenant.bookmarks_per_user),
        "--note-message-chars", str(tenant.note_chars),
        "--latency-ms", str(scenario.latency_ms - scenario.jitter_ms),
        "--jitter-ms", str(2 * scenario.jitter_ms),
        "--qps-limit", "0" if scenario.server_limit is None else f"{scenario.server_limit:g}",
        "--limiter-kind", scenario.limiter_kind,
        "--daily-quota", "0",
        "--no-record-requests",
    ]  # fmt: skip


@dataclass
class RunningSandbox:
    process: subprocess.Popen
    base_url: str
    access_token: str
    log: IO[bytes]

    def stats(self) -> dict[str, Any]:
        """The sandbox's own counters (requests served, throttled answers...)."""
        with urllib.request.urlopen(f"{self.base_url}/_sandbox/stats", timeout=10) as response:
            return json.loads(response.read())

    def keepalive_round_trip_ms(self, requests: int = 30) -> float:
        """Median time of a request on a reused connection (a control endpoint: no latency, no limit).

        About a millisecond on loopback. Some 40 ms means a response waits for the client's delayed ACK (Nagle's
        algorithm left on in the server's sockets), which would add as much to every request of every scenario.
        """
        address = urllib.parse.urlsplit(self.base_url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        times = []
        try:
            for _ in range(requests):
                started = time.perf_counter()
                connection.request("GET", "/_sandbox/stats")
                connection.getresponse().read()
                times.append((time.perf_counter() - started) * 1000)
        finally:
            connection.close()
        return statistics.median(times)

    def cpu_seconds(self) -> float:
        try:
            times = psutil.Process(self.process.pid).cpu_times()
        except psutil.Error:
            return float("nan")
        return times.user + times.system

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        self.log.close()


def start_sandbox(scenario: Scenario, workdir: Path, source: Path) -> RunningSandbox:
    """Starts `python -m egnyte_sandbox` (from `source`) on a free loopback port and waits for its ready file."""
    ready = workdir / f"{scenario.name}.sandbox-ready.json"
    ready.unlink(missing_ok=True)
    log = (workdir / f"{scenario.name}.sandbox.log").open("wb")
    command = [sys.executable, "-m", "egnyte_sandbox", "--port", "0", "--ready-file", str(ready)]
    command += sandbox_args(scenario)
    process = subprocess.Popen(
        command, cwd=source, env=child_env(source), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if ready.exists() and ready.stat().st_size:
            try:
                info = json.loads(ready.read_text())
            except ValueError:  # written but not yet complete
                time.sleep(0.05)
                continue
            return RunningSandbox(process, info["base_url"].rstrip("/"), info["access_token"], log)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    RunningSandbox(process, "", "", log).stop()
    raise RuntimeError(f"the sandbox did not start; see {workdir / (scenario.name + '.sandbox.log')}")


def child_env(source: Path) -> dict[str, str]:
    """The environment of every child: the run's copy of the code on the path, telemetry off."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(source)
    env["DO_NOT_TRACK"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env
