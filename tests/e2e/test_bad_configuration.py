"""Bad configuration and bad credentials, through `connector.update()` as the SDK calls it: the sync fails before
a row is written (and, for the configuration, before any request), with one message that says what to fix.
"""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from fivetran_connector_sdk import Logging

from egnyte_async.errors import ConfigurationError
from egnyte_async.pipeline import SyncFailedError
from egnyte_sandbox import SandboxConfig, run_server

TENANT = {"users": 12, "groups": 2, "members_per_group": 2, "notes": 20, "bookmarks_per_user": 1}


class RecordingOp:
    """Stands for the SDK's `Operations` in connector.py."""

    def __init__(self) -> None:
        self.upserts: list[tuple[str, dict]] = []
        self.states: list[dict] = []

    def upsert(self, table: str, data: dict[str, Any]) -> None:
        self.upserts.append((table, data))

    def checkpoint(self, state: dict[str, Any]) -> None:
        self.states.append(state)


@pytest.fixture
def connector_module(monkeypatch):
    import connector

    monkeypatch.setattr(Logging, "LOG_LEVEL", Logging.Level.WARNING)
    op = RecordingOp()
    monkeypatch.setattr(connector, "op", op)
    return connector, op


@pytest.fixture(scope="module")
def sandbox():
    with run_server(SandboxConfig(**TENANT, qps_limit=None, daily_quota=None)) as server:
        yield server


def configuration(sandbox, **overrides: str) -> dict[str, str]:
    values = {
        "domain": "sandbox",
        "api_token": sandbox.access_token,
        "base_url": sandbox.base_url,
        "requests_per_second": "1000",
        "retry_attempts": "0",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def requests_made(sandbox) -> int:
    return len(sandbox.state.requests)


def assert_nothing_written(op: RecordingOp) -> None:
    assert op.upserts == []
    assert all(not state.get("streams") for state in op.states)


def test_a_bad_configuration_names_every_problem_before_any_request(connector_module, sandbox):
    connector, op = connector_module
    before = requests_made(sandbox)
    bad = configuration(
        sandbox,
        domain="",
        retry_attempts="lots",
        max_records_per_page="0",
        enable_notes="perhaps",
        client_id="only-the-id",
        daily_request_limit="-5",
    )
    with pytest.raises(ConfigurationError) as failed:
        connector.update(configuration=bad, state={})
    message = str(failed.value)
    assert message.startswith("configuration.json has 6 problems:")
    named = ("domain", "retry_attempts", "max_records_per_page", "enable_notes", "client_secret", "daily_request_limit")
    for key in named:
        assert f"  - {key}" in message or f", {key}" in message, key
    assert "lots" in message and "perhaps" in message
    assert requests_made(sandbox) == before
    assert op.upserts == [] and op.states == []


def test_a_rejected_token_fails_with_what_to_do_and_writes_nothing(connector_module, sandbox):
    connector, op = connector_module
    before = requests_made(sandbox)
    with pytest.raises(SyncFailedError) as failed:
        connector.update(configuration=configuration(sandbox, api_token="not-a-valid-token"), state={})
    message = str(failed.value)
    assert "connection check" in message and "rejected the access token" in message
    assert "Generate a new api_token, or set client_id, client_secret and refresh_token" in message
    assert "not-a-valid-token" not in message
    assert requests_made(sandbox) - before == 1  # the one check, nothing after it
    assert_nothing_written(op)


def test_refresh_credentials_that_are_refused_fail_with_what_to_check(connector_module, sandbox):
    connector, op = connector_module
    config = configuration(
        sandbox, api_token="expired-token", client_id="sandbox-client", client_secret="s3cr3t-5678", refresh_token="r"
    )
    with pytest.raises(SyncFailedError) as failed:
        connector.update(configuration=config, state={})
    message = str(failed.value)
    assert "token endpoint refused the refresh (401)" in message
    assert "check client_id, client_secret and refresh_token" in message
    assert "s3cr3t-5678" not in message
    assert_nothing_written(op)


def test_a_wrong_base_url_fails_with_what_to_check(connector_module, sandbox):
    connector, op = connector_module
    with pytest.raises(SyncFailedError) as failed:
        connector.update(configuration=configuration(sandbox, base_url=sandbox.base_url + "/not-egnyte"), state={})
    message = str(failed.value)
    assert "Egnyte answered 404" in message and "Check domain and base_url" in message
    assert_nothing_written(op)


def test_a_token_without_administrator_rights_fails_with_what_to_do(connector_module, sandbox):
    connector, op = connector_module
    user = next(u for u in sandbox.tenant.iter_users() if not sandbox.tenant.is_admin(u["userName"]))
    issued = httpx.post(
        sandbox.base_url + "/puboauth/token",
        data={
            "grant_type": "password",
            "client_id": "sandbox-client",
            "username": user["userName"],
            "password": "sandbox-password",
        },
    ).json()["access_token"]
    with pytest.raises(SyncFailedError) as failed:
        connector.update(configuration=configuration(sandbox, api_token=issued), state={})
    message = str(failed.value)
    assert "Egnyte denied access (403" in message and "needs to be an administrator" in message
    assert "or disable that table" in message
    assert_nothing_written(op)


def test_nobody_listing_at_the_address_fails_with_the_connection_error(connector_module):
    connector, op = connector_module
    with socket.socket() as placeholder:  # a port that nothing listens on
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    config = {"domain": "sandbox", "api_token": "t", "base_url": f"http://127.0.0.1:{port}", "retry_attempts": "0"}
    with pytest.raises(SyncFailedError) as failed:
        connector.update(configuration=config, state={})
    message = str(failed.value)
    assert message.startswith(
        "connection check: checking the token (userinfo): GET /pubapi/v1/userinfo failed after 1 attempt(s); "
        f"last error: could not connect to 127.0.0.1:{port} (ConnectError"
    ), message
    assert message.count("checking the token") == 1, message
    assert message.endswith("Check domain and base_url (and the network)."), message
    assert_nothing_written(op)
