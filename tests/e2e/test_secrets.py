"""No secret ever leaves the connector: not in a log line, an error, the state, a row, nor in the locals of a failed
sync's traceback (which the SDK's crash report dumps, redacting only the configuration's own values)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faultkit import VirtualTime, refresh_credentials, run, sandbox_app
from harness import RecordingOperations

from egnyte_async.pipeline import SyncFailedError
from egnyte_sandbox import FaultPlan
from tests.logs import RecordingLog

TESTS = Path(__file__).resolve().parent.parent
TENANT = {"users": 20, "groups": 4, "members_per_group": 2, "notes": 10, "bookmarks_per_user": 1}


def exception_chain(error: BaseException) -> list[BaseException]:
    """The error and every exception it was raised from or while handling, as the SDK's crash report walks them."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def traceback_locals(error: BaseException) -> list[tuple[str, str, str]]:
    """(file:function, local name, repr) for every local of every frame of every exception in the chain."""
    found = []
    for exc in exception_chain(error):
        tb = exc.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            where = f"{frame.f_code.co_filename}:{frame.f_code.co_name}"
            for name, value in frame.f_locals.items():
                found.append((where, name, repr(value)))
            tb = tb.tb_next
    return found


def is_test_code(where: str) -> bool:
    return str(TESTS) in where


def test_a_failing_sync_with_refreshed_tokens_leaks_no_secret_anywhere():
    time = VirtualTime()
    plan = FaultPlan(rate=1.0, kinds=("503",), paths=("/pubapi/v2/users",))
    app = sandbox_app(time, TENANT, faults=plan)
    tokens = app.state.sandbox.tokens
    issued: list[str] = []
    issue = tokens.issue

    def recording_issue(username):
        token = issue(username)
        issued.append(token.value)
        return token

    tokens.issue = recording_issue
    credentials = refresh_credentials(app)
    operations = RecordingOperations()
    log = RecordingLog()
    with pytest.raises(SyncFailedError) as failed:
        run(
            app, None, operations, time, token=None, log=log, streams=("users",), retry_attempts=2,
            enable_debug_logging=True, **credentials,
        )  # fmt: skip
    assert issued, "no token was refreshed: the test proves nothing"
    configured = [credentials["client_secret"], credentials["refresh_token"]]
    secrets = [*issued, *configured]

    places = {
        "log": "\n".join(log.texts()),
        "error": str(failed.value),
        "state": json.dumps(operations.states),
        "rows": repr(operations.committed) + repr(operations.pending),
    }
    leaks = [(place, secret) for place, text in places.items() for secret in secrets if secret in text]
    assert not leaks, leaks
    # Every frame, the library's included; the test's own frames hold the configuration, as the SDK's do (it
    # redacts the configuration's values): there only the tokens Egnyte issued must not appear.
    frame_leaks = [
        (where, name, secret)
        for where, name, shown in traceback_locals(failed.value)
        if not where.startswith(__file__)
        for secret in (issued if is_test_code(where) else secrets)
        if secret in shown
    ]
    assert not frame_leaks, frame_leaks
