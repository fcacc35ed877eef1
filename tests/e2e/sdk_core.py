"""Running the connector through the SDK's real core into DuckDB, and reading the warehouse back as rows."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from fivetran_connector_sdk import Logging
from harness import utc_text

from egnyte_async.catalog import all_tables


def run_core(project: Path, configuration: dict[str, str], state: dict | None = None) -> dict:
    """One sync through `core_adapter.run`, as `fivetran debug` runs it, minus the CLI's network checks."""
    from fivetran_connector_sdk_cli import core_adapter

    import connector

    if Logging.LOG_LEVEL is None:
        Logging.LOG_LEVEL = Logging.Level.WARNING
    return core_adapter.run(connector.connector, str(project), configuration, state or {})


def saved_state(project: Path) -> dict:
    return json.loads((project / "files" / "state.json").read_text())


def _normalize(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return utc_text(value)
    if kind == "UTC_DATETIME":
        raise AssertionError(f"a UTC_DATETIME column read back as {value!r}, not as a datetime")
    if kind == "JSON":
        return json.loads(value) if isinstance(value, str) else value
    return value


def warehouse_rows(project: Path) -> dict[str, dict[tuple, dict]]:
    """Every live row of every declared table, keyed by primary key, values as the mapper produces them."""
    con = duckdb.connect(str(project / "files" / "warehouse.db"), read_only=True)
    try:
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'tester'"
            ).fetchall()
        }
        out: dict[str, dict[tuple, dict]] = {}
        for spec in all_tables():
            table = spec.name
            out[table] = {}
            if table not in tables:
                continue
            # A declared table that never got a row (the opt-in events table) has no _fivetran_deleted column.
            columns = {name for (name,) in con.execute(
                "select column_name from information_schema.columns where table_schema = 'tester' and table_name = ?",
                [table],
            ).fetchall()}  # fmt: skip
            live = " where not _fivetran_deleted" if "_fivetran_deleted" in columns else ""
            cursor = con.execute(f'select * from tester."{table}"{live}')
            names = [column[0] for column in cursor.description]
            for values in cursor.fetchall():
                stored = dict(zip(names, values, strict=True))
                row = {column: _normalize(stored.get(column), kind) for column, kind in spec.columns.items()}
                out[table][spec.key_of(row)] = row
        return out
    finally:
        con.close()


def deleted_keys(project: Path) -> dict[str, set[tuple]]:
    """The primary keys of the rows marked deleted (`_fivetran_deleted`), per table."""
    con = duckdb.connect(str(project / "files" / "warehouse.db"), read_only=True)
    try:
        out: dict[str, set[tuple]] = {}
        for spec in all_tables():
            keys = ", ".join(spec.primary_key)
            try:
                rows = con.execute(f'select {keys} from tester."{spec.name}" where _fivetran_deleted').fetchall()
            except (duckdb.CatalogException, duckdb.BinderException):  # no such table, or never a row
                rows = []
            out[spec.name] = {tuple(row) for row in rows}
        return out
    finally:
        con.close()


def duplicate_keys(project: Path) -> dict[str, int]:
    """Rows sharing a primary key, per table: must always be zero."""
    con = duckdb.connect(str(project / "files" / "warehouse.db"), read_only=True)
    try:
        found = {}
        for spec in all_tables():
            table = spec.name
            keys = ", ".join(spec.primary_key)
            try:
                (count,) = con.execute(
                    f'select count(*) from (select {keys} from tester."{table}" group by {keys} having count(*) > 1)'
                ).fetchone()
            except duckdb.CatalogException:
                continue
            found[table] = count
        return found
    finally:
        con.close()
