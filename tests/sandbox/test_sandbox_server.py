"""The real uvicorn path: a server on loopback in a thread, and the command line in a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from egnyte_sandbox import FaultPlan, run_server

from .helpers import bearer, quiet_config

ROOT = Path(__file__).resolve().parents[2]


async def test_serves_over_http_with_a_real_broken_connection_and_a_real_timeout() -> None:
    # Real stalls here: the client's timeout has to cut the "slow" fault short, and the server must notice.
    config = quiet_config(sleep=asyncio.sleep, faults=FaultPlan(schedule={2: "reset", 4: "slow"}, slow_s=30.0))
    with run_server(config) as sandbox:
        assert sandbox.base_url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=sandbox.base_url, headers=bearer(sandbox.access_token)) as client:
            first = await client.get("/pubapi/v2/users", params={"count": 100})
            assert first.status_code == 200 and first.json()["totalResults"] == 50
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get("/pubapi/v2/users", params={"count": 100})
            assert (await client.get("/pubapi/v1/userinfo")).json()["username"] == "admin"
            with pytest.raises(httpx.ReadTimeout):
                await client.get("/pubapi/v1/userinfo", timeout=0.2)
            assert (await client.get("/pubapi/v1/userinfo")).status_code == 200
            stats = (await client.get("/_sandbox/stats")).json()
            assert stats["faults"] == {"reset": 1, "slow": 1} and stats["requests"] == 5
            log = (await client.get("/_sandbox/requests", params={"since": 3})).json()
            assert [r["number"] for r in log] == [4, 5]
            assert log[0]["headers"]["authorization"] == "Bearer sandbox-token"
            assert (await client.post("/_sandbox/reset-stats")).status_code == 200
            assert (await client.get("/_sandbox/stats")).json()["requests"] == 0
        assert sandbox.stats is sandbox.state.stats and sandbox.tenant is sandbox.state.tenant
        port = int(sandbox.base_url.rsplit(":", 1)[1])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_run_server_with_rate_limits_from_a_sync_client() -> None:
    with (
        run_server(quiet_config(qps_limit=1.0, daily_quota=10)) as sandbox,
        httpx.Client(base_url=sandbox.base_url, headers=bearer(sandbox.access_token)) as client,
    ):
        assert client.get("/pubapi/v1/userinfo").status_code == 200
        throttled = client.get("/pubapi/v1/userinfo")
        assert throttled.status_code == 403
        assert throttled.headers["X-Mashery-Error-Code"] == "ERR_403_DEVELOPER_OVER_QPS"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_command_line_announces_serves_and_prints_counters_on_exit(tmp_path: Path, stop: signal.Signals) -> None:
    ready = tmp_path / "ready.json"
    args = ["--port", "0", "--users", "1000", "--qps-limit", "0", "--ready-file", str(ready)]
    args += ["--fault-schedule", "2:503"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "egnyte_sandbox", *args], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()  # printed once the server accepts connections
        assert banner.startswith("Egnyte sandbox at http://127.0.0.1:") and "token: sandbox-token" in banner
        info = json.loads(ready.read_text())
        assert info["access_token"] == "sandbox-token" and banner.split()[3] == info["base_url"]
        with httpx.Client(base_url=info["base_url"], headers=bearer(info["access_token"])) as client:
            assert client.get("/pubapi/v2/users").json()["totalResults"] == 1000
            assert client.get("/pubapi/v2/users").status_code == 503
        proc.send_signal(stop)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert "requests: 2" in out and "'503': 1" in out


def test_command_line_rejects_a_bad_switch_value() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "egnyte_sandbox", "--fault-kinds", "teapot"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=20,
    )
    assert result.returncode == 2 and "unknown fault kinds" in result.stderr
