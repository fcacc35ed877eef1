"""The setup tests against a sandbox served over HTTP: all pass on a normal tenant (reporting the token's limits) in
a few calls, and each failure says the right thing: an invalid configuration, an unreachable host, a host that is
not Egnyte, a wrong token, a standard user's token. Run through the SDK's own `fivetran configuration --test` code.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fivetran_connector_sdk import Logging
from fivetran_connector_sdk_cli import configuration_command
from fivetran_connector_sdk_common import constants

from egnyte_async import setup_checks
from egnyte_sandbox import RunningSandbox, SandboxConfig, run_server

ROOT = Path(__file__).resolve().parents[2]
STANDARD_TOKEN = "sandbox-standard-token"
#: Calls a whole passing run may make: userinfo and one page of each of the four tables.
MOST_CALLS = 5


@pytest.fixture(autouse=True)
def _fresh_probes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # As `fivetran configuration` sets them: local (readable) log lines, at INFO.
    monkeypatch.setattr(constants, "DEBUGGING", True)
    monkeypatch.setattr(Logging, "LOG_LEVEL", Logging.Level.INFO)
    setup_checks.forget_probes()
    yield
    setup_checks.forget_probes()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with run_server(SandboxConfig(standard_token=STANDARD_TOKEN, qps_limit=2.0, daily_quota=1000)) as running:
        yield running


def configuration(sandbox: RunningSandbox, **overrides: str) -> dict[str, str]:
    values = {"domain": "sandbox", "base_url": sandbox.base_url, "api_token": sandbox.access_token}
    values.update(overrides)
    return values


def run_setup_tests(configuration: dict[str, Any], folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """What `fivetran configuration --test` does once it has found connector.py: every setup test in turn."""
    import connector

    path = folder / "configuration.json"
    path.write_text(json.dumps(configuration))
    capsys.readouterr()
    form = connector.connector.get_configuration_form()
    code = configuration_command.run_configuration_tests(connector.connector, form, str(path))
    return code, capsys.readouterr().out


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_every_setup_test_passes_on_a_normal_tenant_in_a_few_calls_and_reports_the_limits(
    sandbox: RunningSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sandbox.stats.api_requests
    started = time.monotonic()
    code, out = run_setup_tests(configuration(sandbox), tmp_path, capsys)
    assert code == 0, out
    for name in ("configuration_is_valid", "egnyte_answers", "token_is_accepted", "token_is_an_administrators",
                 "enabled_tables_are_readable", "request_limits"):  # fmt: skip
        assert f"[{name} - " in out and "]: PASSED" in out
    assert "All tests passed!" in out
    assert "Egnyte accepts the token: it belongs to admin" in out
    assert "Every enabled table can be read: users (50 users), groups (5 groups), notes (" in out
    assert "bookmarks (as admin)" in out
    assert "Egnyte's limits for this token: 2 calls a second; 1,000 calls a day" in out
    assert sandbox.stats.api_requests - before <= MOST_CALLS
    assert time.monotonic() - started < 10


def test_an_invalid_configuration_fails_first_with_every_problem(
    sandbox: RunningSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sandbox.stats.requests
    code, out = run_setup_tests(configuration(sandbox, retry_attempts="lots", enable_users="maybe"), tmp_path, capsys)
    assert code == 1
    assert "[configuration_is_valid - The configuration is valid]: The configuration is not valid." in out
    assert "retry_attempts: got 'lots'; must be a whole number from 0 to 10" in out
    assert "enable_users: got 'maybe'; must be true/false" in out
    assert "Remaining tests skipped" in out
    assert sandbox.stats.requests == before  # nothing was asked of Egnyte


def test_an_unreachable_host_names_the_host_and_says_to_check_domain_and_base_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    code, out = run_setup_tests({"domain": "acme", "base_url": url, "api_token": "t"}, tmp_path, capsys)
    assert code == 1
    failure = "[egnyte_answers - Egnyte answers at the domain's address]: Could not connect to Egnyte: nothing answers"
    assert f"{failure} at {url}" in out
    assert "Check domain ('acme') and base_url" in out
    assert time.monotonic() - started < 5


def test_a_domain_whose_name_does_not_resolve() -> None:
    outcome = setup_checks.check_host({"domain": "no-such-tenant.invalid", "api_token": "t"})
    assert not outcome.passed
    assert outcome.message.startswith("Could not connect to Egnyte: the name no-such-tenant.invalid does not resolve")
    assert "Check domain ('no-such-tenant.invalid') and base_url" in outcome.message


def test_a_host_that_does_not_serve_egnytes_api(sandbox: RunningSandbox) -> None:
    outcome = setup_checks.check_host(configuration(sandbox, base_url=sandbox.base_url + "/elsewhere"))
    assert not outcome.passed
    assert f"{sandbox.base_url}/elsewhere answered 404" in outcome.message
    assert "does not serve Egnyte's public API. Check domain and base_url" in outcome.message


def test_a_wrong_token_passes_the_host_test_and_fails_the_token_test(
    sandbox: RunningSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_setup_tests(configuration(sandbox, api_token="not-the-token"), tmp_path, capsys)
    assert code == 1
    assert "[egnyte_answers - Egnyte answers at the domain's address]: PASSED" in out
    assert "[token_is_accepted - Egnyte accepts the token]: Egnyte rejected the access token (401" in out
    assert "Generate a new api_token in Egnyte" in out and "client_id, client_secret and refresh_token" in out


def test_the_oauth_trio_renews_a_missing_token(sandbox: RunningSandbox) -> None:
    trio = {"client_id": "sandbox-client", "client_secret": "sandbox-secret", "refresh_token": "sandbox-refresh"}
    settings = configuration(sandbox, api_token="", **trio)
    assert setup_checks.check_token(settings).passed
    refused = setup_checks.check_token(configuration(sandbox, api_token="", **{**trio, "client_secret": "no"}))
    assert not refused.passed and "check client_id, client_secret and refresh_token" in refused.message


def test_a_standard_users_token_is_told_it_needs_an_administrator(
    sandbox: RunningSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_setup_tests(configuration(sandbox, api_token=STANDARD_TOKEN), tmp_path, capsys)
    assert code == 1
    assert "[token_is_accepted - Egnyte accepts the token]: PASSED" in out
    line = next(line for line in out.splitlines() if "[token_is_an_administrators - " in line)
    assert ", a standard user, not an administrator." in line
    assert "Generate the token while signed in as an administrator" in line
    # The tables test says the same of every table, once.
    tables = setup_checks.check_tables(configuration(sandbox, api_token=STANDARD_TOKEN))
    assert not tables.passed
    assert tables.message.startswith(
        "users, groups, notes and bookmarks cannot be read: Egnyte denied the listing (403)."
    )
    assert "set enable_users, enable_groups, enable_notes and enable_bookmarks to false" in tables.message


def test_without_a_user_type_the_users_listing_tells_an_administrator() -> None:
    config = SandboxConfig(standard_token=STANDARD_TOKEN, userinfo_user_type=False, qps_limit=None)
    with run_server(config) as sandbox:
        admin = setup_checks.check_administrator(configuration(sandbox))
        assert admin.passed and admin.message.startswith("The token is an administrator's: admin")
        standard = setup_checks.check_administrator(configuration(sandbox, api_token=STANDARD_TOKEN))
        assert not standard.passed and "not an administrator" in standard.message
        assert "a standard user" not in standard.message  # Egnyte did not say the type


def test_bookmarks_alone_still_need_an_administrator(sandbox: RunningSandbox) -> None:
    """The sync lists the users to know whose bookmarks to read: a standard user's token cannot."""
    enabled = {"enable_users": "false", "enable_groups": "false", "enable_notes": "false"}
    outcome = setup_checks.check_tables(configuration(sandbox, api_token=STANDARD_TOKEN, **enabled))
    assert not outcome.passed and outcome.message.startswith("bookmarks cannot be read: Egnyte denied the listing")
    admin = setup_checks.check_administrator(configuration(sandbox, api_token=STANDARD_TOKEN, **enabled))
    assert not admin.passed and "which the enabled tables need (bookmarks)" in admin.message
    assert setup_checks.check_tables(configuration(sandbox, **enabled)).passed


def test_a_new_stream_gets_its_check_by_one_entry(monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox) -> None:
    async def read_events(probe: setup_checks.Probe, client: Any) -> str:
        return "a check of its own"

    monkeypatch.setitem(setup_checks.TABLE_CHECKS, "users", setup_checks.TableCheck(False, read_events))
    outcome = setup_checks.check_tables(configuration(sandbox, enable_groups="false", enable_notes="false",
                                                      enable_bookmarks="false"))  # fmt: skip
    assert outcome.passed and "users (a check of its own)" in outcome.message


def test_a_spent_quota_says_to_wait(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with run_server(SandboxConfig(daily_quota=1, qps_limit=None)) as sandbox:
        code, out = run_setup_tests(configuration(sandbox), tmp_path, capsys)
    assert code == 1
    assert "Egnyte says this token's daily request quota is spent" in out and "test again later" in out


def fivetran_configuration_test(configuration: dict[str, str], folder: Path) -> subprocess.CompletedProcess[str]:
    """The real command, `fivetran configuration --test`, on a project holding connector.py and this configuration."""
    project = folder / "project"
    project.mkdir()
    (folder / "home").mkdir()
    shutil.copy2(ROOT / "connector.py", project / "connector.py")
    (project / "configuration.json").write_text(json.dumps(configuration))
    fivetran = Path(sys.executable).parent / "fivetran"
    env = {
        **os.environ,
        "HOME": str(folder / "home"),  # the SDK's key and update check go there, not to the user's home
        "PYTHONPATH": str(ROOT),
        "DO_NOT_TRACK": "1",
        "PATH": f"{fivetran.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return subprocess.run(
        [str(fivetran), "configuration", "--test", str(project)], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_fivetran_configuration_test_command_passes_against_the_sandbox(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    done = fivetran_configuration_test(configuration(sandbox), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[request_limits - Egnyte's request limits for this token]: PASSED" in done.stdout
    assert "All tests passed!" in done.stdout


def test_the_fivetran_configuration_test_command_fails_on_a_wrong_token(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    done = fivetran_configuration_test(configuration(sandbox, api_token="expired"), tmp_path)
    assert done.returncode == 1
    assert "[token_is_accepted - Egnyte accepts the token]: Egnyte rejected the access token (401" in done.stdout


def test_the_events_feed_is_checked_when_the_events_table_is_enabled() -> None:
    with run_server(SandboxConfig(qps_limit=None, daily_quota=None)) as feed:
        passed = setup_checks.check_tables(configuration(feed, enable_events="true"))
    assert passed.passed and "events (the feed is at event" in passed.message
    setup_checks.forget_probes()
    with run_server(SandboxConfig(qps_limit=None, daily_quota=None, events_available=False)) as without:
        refused = setup_checks.check_tables(configuration(without, enable_events="true"))
        assert setup_checks.check_tables(configuration(without)).passed  # not asked when the table is off
    assert not refused.passed
    assert refused.message.startswith("events cannot be read: Egnyte refused its events feed (403)")
    assert "set enable_events to false" in refused.message
