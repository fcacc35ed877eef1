"""The real sink: the Connector SDK's core writing DuckDB, run in this process as `fivetran debug` would run it.

The core is driven through `core_adapter.run` (no pipreqs, no CLI), in a scratch project folder and with HOME
pointed at a scratch folder, so no user file is touched and nothing reaches the network: the core's PyPI version
check is marked as done in its own settings file beforehand.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.plan import ALL_STREAMS, Scenario


def prepare_core(workdir: Path) -> Path:
    """Points HOME at a scratch folder and returns a scratch project folder; call before importing the SDK."""
    home = workdir / "home"
    project = workdir / "project"
    home.mkdir(parents=True, exist_ok=True)
    project.mkdir(parents=True, exist_ok=True)
    os.environ["HOME"] = str(home)
    from fivetran_connector_sdk_core import settings
    from fivetran_connector_sdk_core.constants import LAST_VERSION_CHECK_FIELD, LICENSE_NOTICE_SHOWN_FIELD

    settings.update(**{LAST_VERSION_CHECK_FIELD: int(time.time()), LICENSE_NOTICE_SHOWN_FIELD: True})
    from fivetran_connector_sdk import Logging

    # The SDK's log refuses to print before a level is set; WARNING keeps the per-sync lines out of the timing.
    Logging.LOG_LEVEL = Logging.Level.WARNING
    return project


def connector_configuration(scenario: Scenario, base_url: str, access_token: str) -> dict[str, str]:
    """configuration.json for the sandbox: every value a string, as Fivetran hands it over."""
    streams = scenario.tenant.streams
    return {
        "domain": "sandbox",
        "api_token": access_token,
        "base_url": base_url,
        "requests_per_second": f"{scenario.requests_per_second:g}",
        "max_concurrent_requests": str(scenario.concurrency),
        "daily_request_limit": "10000000",
        "sync_frequency_hours": "24",
        "initial_sync_days": "365",
        **{f"enable_{name}": "true" if name in streams else "false" for name in ALL_STREAMS},
    }


def run_core(connector: Any, project: Path, configuration: dict[str, str]) -> dict[str, Any]:
    """One sync through the core into project/files/warehouse.db; returns the core's counts (upserts, checkpoints)."""
    from fivetran_connector_sdk_cli import core_adapter

    return dict(core_adapter.run(connector, str(project), configuration, {}) or {})


def generated_notes_connector(rows: int, chars: int, checkpoint_chars: int) -> Any:
    """A connector that writes `rows` notes of `chars` characters, made up as it goes, checkpointing every
    `checkpoint_chars` characters like the Egnyte connector: what the sink alone does with long texts, with no
    network and nothing held on the connector's side."""
    from fivetran_connector_sdk import Connector
    from fivetran_connector_sdk import Operations as op

    def schema(configuration: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"table": "notes", "primary_key": ["id"], "columns": {"id": "STRING", "note_text": "STRING"}}]

    def update(configuration: dict[str, Any], state: dict[str, Any]) -> None:
        held = 0
        for number in range(rows):
            text = (f"note {number} " * (chars // 6 + 1))[:chars]
            op.upsert("notes", {"id": f"n{number}", "note_text": text})
            held += chars
            if held >= checkpoint_chars:
                op.checkpoint({"written": number + 1})
                held = 0
        op.checkpoint({"written": rows})

    return Connector(update=update, schema=schema)


def replaying_connector(operations: list[tuple[str, Any, Any]]) -> Any:
    """A connector with the real schema whose update() only replays recorded upserts, deletes and checkpoints: the
    sink alone."""
    from fivetran_connector_sdk import Connector
    from fivetran_connector_sdk import Operations as op

    import connector as egnyte_connector

    def update(configuration: dict, state: dict) -> None:
        upsert: Callable[[str, dict], Any] = op.upsert
        for kind, first, second in operations:
            if kind == "upsert":
                upsert(first, second)
            elif kind == "delete":
                op.delete(first, second)
            else:
                op.checkpoint(first)

    return Connector(update=update, schema=egnyte_connector.schema)


def rows_in_warehouse(project: Path) -> dict[str, int]:
    """Live rows per table, read back after the sync: proof that the rows landed."""
    import duckdb

    connection = duckdb.connect(str(project / "files" / "warehouse.db"), read_only=True)
    try:
        tables = connection.execute(
            "select table_name from information_schema.tables where table_schema = 'tester' order by 1"
        ).fetchall()
        return {name: connection.execute(f'select count(*) from tester."{name}"').fetchone()[0] for (name,) in tables}
    finally:
        connection.close()
