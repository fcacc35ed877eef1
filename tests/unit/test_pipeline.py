"""The drain loop's own rules, without a server: it refuses what it does not know, and writes a state only after
its rows."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from egnyte_async.items import Batch, Completed, Finished, Refreshed, Rows
from egnyte_async.pipeline import Sync, Tuning
from egnyte_async.settings import Settings
from egnyte_async.streams.scan_state import ScanState
from tests.logs import RecordingLog

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def upsert(self, table: str, data: dict[str, Any]) -> None:
        self.calls.append(("upsert", data["id"]))

    def delete(self, table: str, keys: dict[str, Any]) -> None:
        self.calls.append(("delete", keys.get("id", keys.get("user_id"))))

    def checkpoint(self, state: dict[str, Any]) -> None:
        self.calls.append(("checkpoint", state["streams"].get("users")))


def sync(operations: Recorder) -> Sync:
    settings = Settings(domain="acme", base_url="https://acme.egnyte.com", api_token="t", streams=("users",))
    return Sync(settings, None, operations, RecordingLog(), now=NOW)


def test_an_item_of_an_unknown_kind_is_an_error_not_a_silent_skip():
    with pytest.raises(TypeError, match="unknown queue item"):
        sync(Recorder())._handle(("users", []))  # type: ignore[arg-type]


def test_a_stream_state_is_checkpointed_only_after_its_rows():
    operations = Recorder()
    drain = sync(operations)
    rows = [("users", {"id": 1}), ("users", {"id": 2})]
    assert drain._handle(Rows("users", Batch(rows, ScanState(None), 2))) is None
    assert drain._handle(Finished("users")) is None
    assert operations.calls == [("upsert", 1), ("upsert", 2), ("checkpoint", {})]
    assert drain.report.finished == ["users"] and drain.report.rows_by_table == {"users": 2}


def test_a_batchs_deletions_are_applied_after_its_rows_and_before_its_state():
    operations = Recorder()
    drain = sync(operations)
    batch = Batch([("users", {"id": 3})], ScanState(None), deletes=(("users", {"id": 1}), ("users", {"id": 2})))
    drain._handle(Rows("users", batch))
    drain._handle(Finished("users"))
    assert operations.calls == [("upsert", 3), ("delete", 1), ("delete", 2), ("checkpoint", {})]
    assert drain.report.deleted_by_table == {"users": 2} and drain.report.rows_by_table == {"users": 1}


def test_long_texts_checkpoint_by_their_size_not_only_by_their_count():
    operations = Recorder()
    settings = Settings(domain="acme", base_url="https://acme.egnyte.com", api_token="t", streams=("users",))
    drain = Sync(settings, None, operations, RecordingLog(), tuning=Tuning(checkpoint_chars=1000), now=NOW)
    for user_id in range(1, 5):
        drain._handle(Rows("users", Batch([("users", {"id": user_id, "note": "x" * 400})], ScanState(None))))
    # 400 characters a row: the checkpoint comes once 1,000 are held, after the third row, not after 10,000 rows.
    assert operations.calls == [("upsert", 1), ("upsert", 2), ("upsert", 3), ("checkpoint", {}), ("upsert", 4)]


def test_a_batch_weighs_the_text_of_its_rows_and_of_their_extra_column():
    rows = [("notes", {"id": "n", "note_text": "abc", "count": 5, "extra": {"odd": "de", "n": 1}})]
    assert Batch(rows, ScanState(None)).size == len("n") + len("abc") + len("de")


def test_a_scan_that_meets_nothing_deletes_nothing_and_says_why():
    operations = Recorder()
    log = RecordingLog()
    settings = Settings(domain="acme", base_url="https://acme.egnyte.com", api_token="t", streams=("users",))
    drain = Sync(settings, None, operations, log, now=NOW)
    rows = [("users", {"id": 1}), ("users", {"id": 2})]
    drain._handle(Rows("users", Batch(rows, ScanState(None), marks=(Refreshed(1), Refreshed(2), Completed()))))
    drain._handle(Rows("users", Batch([], ScanState(None), marks=(Completed(),))))  # an empty listing
    assert not [call for call in operations.calls if call[0] == "delete"]
    assert any("without meeting any of the 2 records" in line for line in log.texts("warning"))
    drain._handle(Rows("users", Batch(rows[:1], ScanState(None), marks=(Refreshed(1), Completed()))))
    assert ("delete", 2) in operations.calls  # a scan that meets some records does delete the others


def test_the_schema_declares_the_tables_of_the_enabled_streams_only():
    import connector

    configuration = {"domain": "acme", "api_token": "t"}
    assert [table["table"] for table in connector.schema(configuration)] == [
        "users", "groups", "group_members", "notes", "bookmarks"
    ]  # fmt: skip
    enabled = connector.schema({**configuration, "enable_events": "true", "enable_users": "false"})
    assert [table["table"] for table in enabled] == ["groups", "group_members", "notes", "bookmarks", "events"]
    assert len(connector.schema({"domain": "no such domain!"})) == 6  # unreadable: every table, update() explains


def test_a_deleted_users_memberships_are_deleted_with_the_user_even_if_their_groups_are_not_read_again():
    operations = Recorder()
    settings = Settings(domain="acme", base_url="https://acme.egnyte.com", api_token="t", streams=("users", "groups"))
    drain = Sync(settings, None, operations, RecordingLog(), now=NOW)
    drain.ledgers["groups"].refresh("g1", frozenset({1, 2}))
    users = [("users", {"id": 1}), ("users", {"id": 2})]
    drain._handle(Rows("users", Batch(users, ScanState(None), marks=(Refreshed(1), Refreshed(2), Completed()))))
    drain._handle(Rows("users", Batch(users[:1], ScanState(None), marks=(Refreshed(1), Completed()))))
    assert drain.report.deleted_by_table == {"users": 1, "group_members": 1}
    assert drain.ledgers["groups"].known == {"g1": frozenset({1})}
