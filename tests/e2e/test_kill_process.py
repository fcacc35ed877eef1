"""A real kill -9: a child process syncs through the SDK's real core into DuckDB and sends itself SIGKILL from
inside its n-th `op.upsert`; a second child resumes from `files/state.json` to the end. The warehouse then holds
every record of the tenant once: no gap, no duplicate primary key.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import duckdb
from harness import all_notes, assert_matches, expected_rows
from sdk_core import warehouse_rows

from egnyte_async.catalog import all_tables
from egnyte_async.dates import parse_egnyte_datetime
from egnyte_sandbox import SandboxConfig, run_server

ROOT = Path(__file__).resolve().parents[2]
TENANT = {"users": 60, "groups": 8, "members_per_group": 4, "notes": 200, "bookmarks_per_user": 2}
KILL_AT_UPSERT = 180
INITIAL_SYNC_DAYS = 365

CHILD = textwrap.dedent(
    """
    import dataclasses, json, os, signal, sys
    from pathlib import Path

    project, configuration, kill_at = Path(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
    from fivetran_connector_sdk import Logging
    Logging.LOG_LEVEL = Logging.Level.INFO
    from fivetran_connector_sdk_cli import core_adapter
    import connector

    # Checkpoint every 40 rows (instead of 10,000), so that the kill lands between checkpoints.
    from egnyte_async.pipeline import Sync, Tuning
    connector.Sync = lambda *args, **kwargs: Sync(*args, tuning=Tuning(checkpoint_rows=40), **kwargs)

    class KillingOp:
        upserts = 0

        def __getattr__(self, name):
            return getattr(real, name)

        def upsert(self, table, data):
            KillingOp.upserts += 1
            if KillingOp.upserts == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return real.upsert(table, data)

    real = connector.op
    connector.op = KillingOp()
    state_file = project / "files" / "state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    core_adapter.run(connector.connector, str(project), configuration, state)
    """
)


def run_child(project: Path, home: Path, configuration: dict, kill_at: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(ROOT), "DO_NOT_TRACK": "1"}
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(project), json.dumps(configuration), str(kill_at)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ids_and_duplicates(project: Path) -> tuple[dict[str, set[tuple]], dict[str, int]]:
    """The primary keys of every live row, per table, and how many rows share a key with another."""
    con = duckdb.connect(str(project / "files" / "warehouse.db"), read_only=True)
    try:
        ids, duplicates = {}, {}
        columns = con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = 'tester'"
        ).fetchall()
        for table, spec in ((table.name, table) for table in all_tables()):
            present = {column for name, column in columns if name == table}
            if not present:
                ids[table], duplicates[table] = set(), 0
                continue
            keys = ", ".join(f"CAST({column} AS VARCHAR)" for column in spec.primary_key)
            live = " where not _fivetran_deleted" if "_fivetran_deleted" in present else ""
            rows = con.execute(f'select {keys} from tester."{table}"{live}').fetchall()
            ids[table] = set(rows)
            duplicates[table] = len(rows) - len(ids[table])
        return ids, duplicates
    finally:
        con.close()


def test_a_sync_killed_with_sigkill_resumes_to_exactly_the_tenant(tmp_path):
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    with run_server(SandboxConfig(**TENANT, qps_limit=None, daily_quota=None)) as sandbox:
        configuration = {
            "domain": "sandbox",
            "api_token": sandbox.access_token,
            "base_url": sandbox.base_url,
            "max_records_per_page": "25",
            "requests_per_second": "1000",
            "daily_request_limit": "100000",
            "sync_frequency_hours": "24",
            "initial_sync_days": str(INITIAL_SYNC_DAYS),
        }
        killed = run_child(project, home, configuration, KILL_AT_UPSERT)
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
        assert "SYNC SUCCEEDED" not in killed.stdout + killed.stderr
        saved = json.loads((project / "files" / "state.json").read_text())
        assert saved["streams"], "no checkpoint before the kill: the test proves nothing"
        ids_after_kill, _ = ids_and_duplicates(project)
        rows_after_kill = sum(len(keys) for keys in ids_after_kill.values())
        assert 0 < rows_after_kill < KILL_AT_UPSERT  # what was upserted after the last checkpoint died with it

        resumed = run_child(project, home, configuration, kill_at=0)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        tenant = sandbox.tenant

    state = json.loads((project / "files" / "state.json").read_text())
    end = parse_egnyte_datetime(state["streams"]["notes"]["cursor"])
    # Notes of the scanned window must all be there; a note within a day of the window's start may be (the start
    # depends on the second the first child began).
    expected = expected_rows(tenant, end, initial_sync_days=INITIAL_SYNC_DAYS - 1)
    ids, duplicates = ids_and_duplicates(project)
    assert duplicates == dict.fromkeys((table.name for table in all_tables()), 0)
    for table, rows in expected.items():
        wanted = {tuple(str(value) for value in key) for key in rows}
        missing = wanted - ids[table]
        assert not missing, f"{table}: {len(missing)} rows missing after the resume, e.g. {sorted(missing)[:3]}"
    rows = warehouse_rows(project)
    start = end - timedelta(days=INITIAL_SYNC_DAYS, seconds=1)
    assert all(parse_egnyte_datetime(row["created_date"]) >= start for row in rows["notes"].values())
    compared = assert_matches(rows.__getitem__, expected, allowed_extra={"notes": all_notes(tenant)})
    assert compared > rows_after_kill
