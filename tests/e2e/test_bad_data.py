"""Odd records served among good ones: no id, ids of the wrong type or shape, an item that is not an object, a
date in no known format, an enormous field. Each is handled with a warning naming it; the record is kept where it
can be; every other record lands as it is; and the real SDK core takes the rows without a crash.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from faultkit import TimeoutASGITransport, VirtualTime, run, sandbox_app
from harness import SANDBOX_NOW, RecordingOperations, expected_rows
from sdk_core import duplicate_keys, run_core, warehouse_rows

from egnyte_async.mapping import MAX_TEXT_LENGTH
from egnyte_async.streams.notes import NOTES
from tests.logs import RecordingLog

TENANT = {"users": 40, "groups": 8, "members_per_group": 3, "notes": 120, "bookmarks_per_user": 2}
STREAMS = ("users", "groups", "notes", "bookmarks")
ENORMOUS = "é" * (3 * MAX_TEXT_LENGTH)
PAGE = 10


class OddRecords:
    """The sandbox behind an ASGI middleware that edits chosen records in every listing and detail it serves.

    Edits are keyed by the record's real id, so a record is the same odd record whichever page serves it.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state = app.state
        tenant = app.state.sandbox.tenant
        users = list(tenant.iter_users())
        groups = list(tenant.iter_groups())
        window_start = SANDBOX_NOW.replace(year=SANDBOX_NOW.year - 1)
        notes = [n for n in tenant.iter_notes() if n["creation_time"] >= window_start.strftime("%Y-%m-%dT")]
        self.users = {u["id"]: u for u in users}
        self.u = [u["id"] for u in users]  # by listing position, from 0
        # Position 9 ends the first page (pages of 10 overlap by one): its odd id is also the next page's first.
        self.user_edits = {
            self.u[2]: ("skip", lambda u: u.pop("id")),
            self.u[4]: ("skip", lambda u: u.update(id="abc")),
            self.u[9]: ("skip", lambda u: u.update(id=[1, 2])),
            self.u[27]: ("skip", lambda u: u.update(id={"value": 9})),
            self.u[16]: ("skip", lambda u: u.update(id=1.5)),
            self.u[18]: ("skip", lambda u: u.update(id=True)),
            self.u[10]: ("keep", lambda u: u.update(createdDate="yesterday around noon")),
            self.u[12]: ("keep", lambda u: u["name"].update(formatted=ENORMOUS)),
            self.u[14]: ("keep", lambda u: u.update(id=str(u["id"]))),
        }
        self.not_an_object = self.u[20]
        self.n = [n["id"] for n in notes]
        self.note_edits = {
            self.n[1]: ("skip", lambda n: n.pop("id")),
            self.n[3]: ("skip", lambda n: n.update(id=["a", "b"])),
            self.n[5]: ("keep", lambda n: n.update(id=12345)),
            self.n[7]: ("keep", lambda n: n.update(creation_time="31/12/2025 14h00")),
            self.n[11]: ("keep", lambda n: n.update(message=ENORMOUS)),
        }
        self.not_an_object_name = users[20]["userName"]
        with_two = [u["userName"] for u in users[1:] if len(tenant.bookmarks_of(u["userName"])) >= 2]
        own = [b["id"] for b in tenant.bookmarks_of(with_two[0])]
        other = [b["id"] for b in tenant.bookmarks_of(with_two[1])]
        self.bookmark_edits = {
            own[0]: ("skip", lambda b: b.update(id=1.5)),
            own[1]: ("keep", lambda b: b.update(path=ENORMOUS)),
            other[0]: ("keep", lambda b: b.update(id=str(b["id"]))),
            other[1]: ("skip", lambda b: b.pop("id")),
        }
        self.g = [g["id"] for g in groups]
        self.group_edits = {
            self.g[1]: ("skip", lambda g: g.pop("id")),
            self.g[3]: ("skip", lambda g: g.update(id=["x"])),
        }
        self.member_group = self.g[4]

    def edited(self, items: list, edits: dict, replace: Any = None) -> list:
        out = []
        for item in items:
            key = item.get("id")
            if replace is not None and key == replace:
                out.append("not a record")
                continue
            if key in edits:
                item = json.loads(json.dumps(item))
                edits[key][1](item)
            out.append(item)
        return out

    def edit(self, path: str, body: Any) -> Any:
        if path == "/pubapi/v2/users":
            body["resources"] = self.edited(body["resources"], self.user_edits, self.not_an_object)
        elif path == "/pubapi/v2/groups":
            body["resources"] = self.edited(body["resources"], self.group_edits)
        elif path == f"/pubapi/v2/groups/{self.member_group}":
            body["members"][0]["value"] = "abc"
            body["members"].append({"username": "ghost"})
        elif path == "/pubapi/v1/notes":
            body["notes"] = self.edited(body["notes"], self.note_edits)
        elif path == "/pubapi/v1/bookmarks":
            body["bookmarks"] = self.edited(body["bookmarks"], self.bookmark_edits)
        return body

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] == "/pubapi/v1/userinfo":
            await self.app(scope, receive, send)
            return
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        data = b"".join(chunks)
        if start.get("status") == 200:
            data = json.dumps(self.edit(scope["path"], json.loads(data))).encode()
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})


def check_outcome(odd: OddRecords, table_of, warnings: list[str]) -> None:
    """What the destination and the log must show, whether rows went through the recorder or the real SDK."""
    tenant = odd.app.state.sandbox.tenant
    expected = expected_rows(tenant, SANDBOX_NOW)

    def skipped(edits):
        return {key for key, (fate, _) in edits.items() if fate == "skip"}

    # Every record left alone is there, exactly as the tenant has it.
    # (The bookmarks of the user served as "not a record" cannot be listed: nobody knows their name.)
    untouched = {
        "users": set(odd.u) - set(odd.user_edits) - {odd.not_an_object},
        "notes": {key[0] for key in expected["notes"]} - set(odd.note_edits),
        "bookmarks": {key[0] for key, row in expected["bookmarks"].items() if row["creator"] != odd.not_an_object_name}
        - set(odd.bookmark_edits),
        "groups": set(odd.g) - set(odd.group_edits) - {odd.member_group},
    }
    for table, keys in untouched.items():
        got = table_of(table)
        for key in keys:
            assert got.get((key,)) == expected[table][(key,)], f"{table} {key}"
    members = table_of("group_members")
    for (group_id, user_id), row in expected["group_members"].items():
        if group_id in untouched["groups"] and group_id != odd.member_group:
            assert members.get((group_id, user_id)) == row

    # The odd ones: skipped, each with a warning that names it ...
    users = table_of("users")
    assert {key for key in skipped(odd.user_edits)} & {k[0] for k in users} == set()
    assert len(users) == len(odd.u) - len(skipped(odd.user_edits)) - 1
    for needle in ("users record has no id", "id 'abc'", "id [1, 2]", "id {'value': 9}", "id 1.5", "id True"):
        assert any(needle in text for text in warnings), needle
    assert any("not JSON objects" in text and "'not a record'" in text for text in warnings)
    notes = table_of("notes")
    assert any("notes record has no id" in text for text in warnings)
    assert any("id ['a', 'b']" in text for text in warnings)
    assert not (skipped(odd.note_edits) & {k[0] for k in notes})
    bookmarks = table_of("bookmarks")
    assert not (skipped(odd.bookmark_edits) & {k[0] for k in bookmarks})
    assert any("bookmarks record has no id" in text for text in warnings)
    groups = table_of("groups")
    assert set(odd.g[1:2] + odd.g[3:4]) & {k[0] for k in groups} == set()
    assert any("without a usable id" in text and "['x']" in text for text in warnings)
    assert any(f"group '{odd.member_group}': member skipped" in text and "'abc'" in text for text in warnings)

    # ... or kept, with what could not be read set aside and said.
    odd_date = users[(odd.u[10],)]
    assert odd_date["created_date"] is None
    assert odd_date["extra"]["unparsed_created_date"] == "yesterday around noon"
    assert any("'yesterday around noon' is not a date" in text for text in warnings)
    big = users[(odd.u[12],)]
    assert big["display_name"] == ENORMOUS[:MAX_TEXT_LENGTH]
    assert big["extra"]["truncated_display_name"] == len(ENORMOUS)
    assert any(f"users record {odd.u[12]}: display_name holds 3,000,000 characters" in text for text in warnings)
    assert (odd.u[14],) in users  # an id given as a string of digits is still the same LONG key
    assert ("12345",) in notes
    note_date = notes[(odd.n[7],)]
    assert note_date["created_date"] is None and note_date["extra"]["unparsed_created_date"] == "31/12/2025 14h00"
    assert notes[(odd.n[11],)]["note_text"] == ENORMOUS[:MAX_TEXT_LENGTH]
    kept_bookmark = [key for key, (fate, _) in odd.bookmark_edits.items() if fate == "keep"]
    assert bookmarks[(kept_bookmark[0],)]["path"] == ENORMOUS[:MAX_TEXT_LENGTH]
    assert (kept_bookmark[1],) in bookmarks


def test_odd_records_are_reported_kept_where_possible_and_never_crash_the_sync():
    time = VirtualTime()
    odd = OddRecords(sandbox_app(time, TENANT))
    operations = RecordingOperations()
    log = RecordingLog()
    report = run(odd, None, operations, time, log=log, max_records_per_page=PAGE)
    assert sorted(report.finished) == sorted(STREAMS)
    check_outcome(odd, operations.table, log.texts("warning"))


def test_odd_records_go_through_the_real_sdk_core_into_duckdb(tmp_path, monkeypatch):
    """The same records through `core_adapter.run` and DuckDB: the SDK validates and encodes every row."""
    import connector
    from egnyte_async.pipeline import Sync

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    time = VirtualTime()
    odd = OddRecords(sandbox_app(time, TENANT))
    warnings: list[str] = []
    real_warning = connector.log.warning

    def recording_warning(message: str) -> None:
        warnings.append(message)
        real_warning(message)

    monkeypatch.setattr(connector.log, "warning", recording_warning)
    monkeypatch.setattr(
        connector,
        "Sync",
        functools.partial(Sync, transport=TimeoutASGITransport(odd, time), now=SANDBOX_NOW, clock=time),
    )
    configuration = {
        "domain": "sandbox",
        "api_token": "sandbox-token",
        "base_url": "http://127.0.0.1:9",  # never dialled: the transport serves the in-process sandbox
        "max_records_per_page": str(PAGE),
        "requests_per_second": "1000",
        "initial_sync_days": "365",
        "sync_frequency_hours": "24",
    }
    project = tmp_path / "project"
    project.mkdir()
    result = run_core(project, configuration)
    assert result["Upserts"] > 0
    rows = warehouse_rows(project)
    assert all(count == 0 for count in duplicate_keys(project).values())
    check_outcome(odd, rows.__getitem__, warnings)


@pytest.mark.parametrize("value", [ENORMOUS, "a" * (MAX_TEXT_LENGTH + 1)])
def test_cap_long_values_keeps_the_record_and_says_so(value):
    from egnyte_async.mapping import cap_long_values, map_note

    heard: list[str] = []
    row = cap_long_values(NOTES, map_note({"id": "n1", "message": value, "odd": value}), heard.append)
    assert row["id"] == "n1"
    assert row["note_text"] == value[:MAX_TEXT_LENGTH] and row["extra"]["odd"] == value[:MAX_TEXT_LENGTH]
    assert row["extra"]["truncated_note_text"] == row["extra"]["truncated_odd"] == len(value)
    assert len(heard) == 2 and all("n1" in text for text in heard)
    small = map_note({"id": "n2", "message": "short"})
    assert cap_long_values(NOTES, dict(small), heard.append) == small
