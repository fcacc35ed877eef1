"""The bookmarks stream against respx: which users are asked, how each refusal is treated, and how a user is named
to Egnyte when acting as them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx

from egnyte_async.errors import PermissionDeniedError
from egnyte_async.items import Batch, Completed, Kept, Refreshed
from egnyte_async.ledger import Ledger
from egnyte_async.pagination import PageCap, Position
from egnyte_async.settings import Settings
from egnyte_async.streams.bookmarks import LEDGER as BOOKMARKS_LEDGER
from egnyte_async.streams.bookmarks import (
    BookmarksState,
    Freshness,
    produce,
    read_state,
    refresh_due,
    refresh_phase,
)
from egnyte_async.streams.context import StreamContext
from tests.clients import BASE, NOW, USERS, new_client
from tests.logs import RecordingLog

BOOKMARKS = f"{BASE}/pubapi/v1/bookmarks"
Answer = Callable[[str], httpx.Response]


def user(number: int, name: str, active: Any = True, email: str | None = None) -> dict[str, Any]:
    return {"id": 1000 + number, "userName": name, "email": email or f"{name}@acme.com", "active": active}


def bookmarks_of(owner_id: int, request: httpx.Request) -> httpx.Response:
    """The page asked for of the owner's two bookmarks, whose ids tell their owner."""
    items = [
        {"id": owner_id * 10 + k, "path": f"/Shared/b{k}", "folder_id": "f", "creation_date": None} for k in (1, 2)
    ]
    offset, count = int(request.url.params["offset"]), int(request.url.params["count"])
    page = items[offset : offset + count]
    return httpx.Response(200, json={"offset": offset, "count": len(page), "bookmarks": page})


def not_active(name: str) -> httpx.Response:
    return httpx.Response(400, json={"errors": [{"code": "400", "description": f"User {name} is not active."}]})


def not_found(name: str) -> httpx.Response:
    return httpx.Response(404, json={"errors": [{"code": "404", "description": f"User {name} not found."}]})


def denied(name: str) -> httpx.Response:
    return httpx.Response(403, json={"errors": [{"code": "403", "description": "Not authorized to act as users."}]})


class Tenant:
    """Answers each bookmarks call by whom it acts as (the `X-Egnyte-Act-As` or `X-Egnyte-Act-As-Email` header),
    recording every call's headers."""

    def __init__(self, users: list[dict[str, Any]], answers: dict[str, Answer]) -> None:
        self.users = users
        self.answers = answers
        self.asked: list[dict[str, str]] = []

    def bookmarks(self, request: httpx.Request) -> httpx.Response:
        headers = {name: request.headers[name] for name in ("X-Egnyte-Act-As", "X-Egnyte-Act-As-Email")
                   if name in request.headers}  # fmt: skip
        self.asked.append(headers)
        name = headers.get("X-Egnyte-Act-As") or headers.get("X-Egnyte-Act-As-Email", "")
        who = next((u for u in self.users if name in (u["userName"], u["email"])), None)
        if who is None:
            return not_found(name)
        answer = self.answers.get(who["userName"])
        return answer(who["userName"]) if answer else bookmarks_of(who["id"], request)

    def acted_as(self) -> list[str]:
        """Whom the calls acted as, each once, in the order first asked (a listing may take several calls)."""
        return list(dict.fromkeys(next(iter(headers.values())) for headers in self.asked))

    def headers_sent(self) -> list[dict[str, str]]:
        """The act-as headers of the calls, each set once, in the order first sent."""
        return [dict(pairs) for pairs in dict.fromkeys(tuple(headers.items()) for headers in self.asked)]


async def sync(fake_clock, tenant: Tenant, log: RecordingLog) -> list[Batch]:
    listing = {"startIndex": 1, "totalResults": len(tenant.users), "resources": tenant.users}
    respx.get(USERS).mock(return_value=httpx.Response(200, json=listing))
    respx.get(BOOKMARKS).mock(side_effect=tenant.bookmarks)
    async with new_client(fake_clock) as client:
        ctx = StreamContext(client, log, client.settings, NOW, window=2)
        return [batch async for batch in produce(ctx, BookmarksState())]


def rows(batches: list[Batch]) -> dict[int, str]:
    """Bookmark id -> creator, of every row written."""
    return {row["id"]: row["creator"] for batch in batches for table, row in batch.rows if table == "bookmarks"}


# ---- refusals ------------------------------------------------------------------------------------------------------


@respx.mock
async def test_deactivated_and_deleted_users_listed_first_are_skipped_and_do_not_fail_the_sync(fake_clock):
    """Three users whose bookmarks cannot be listed, first in the listing (so their answers come first): one
    deactivated since the listing (400 "not active"), one deleted since (404), one the listing already says is
    deactivated. None is evidence that the token lacks the right: each is skipped, the others are listed."""
    users = [
        user(1, "gone.quiet"),
        user(2, "gone.away"),
        user(3, "long.gone", active=False),
        user(4, "still.here"),
        user(5, "also.here"),
    ]
    tenant = Tenant(users, {"gone.quiet": not_active, "gone.away": not_found, "long.gone": not_active})
    log = RecordingLog()
    batches = await sync(fake_clock, tenant, log)

    assert rows(batches) == {10041: "still.here", 10042: "still.here", 10051: "also.here", 10052: "also.here"}
    warnings = log.texts("warning")
    assert len(warnings) == 2
    assert "gone.quiet" in warnings[0] and "is not active" in warnings[0]
    assert "gone.away" in warnings[1] and "404" in warnings[1]
    assert "long.gone" not in tenant.acted_as()  # a deactivated user is not even asked: a call saved
    summary = [text for text in log.texts("info") if "deactivated" in text]
    assert summary == [
        "bookmarks: not listed for 1 deactivated user(s) (Egnyte cannot act as them; their bookmarks synced earlier "
        "are kept): long.gone"
    ]
    assert batches[-1].state.scan is None  # the scan of the users is done


@pytest.mark.parametrize("inactive", [False, "false", "False", 0])
@respx.mock
async def test_a_user_the_listing_says_is_deactivated_is_not_asked(fake_clock, inactive):
    users = [user(1, "admin"), user(2, "sleeper", active=inactive), user(3, "awake", active="true")]
    tenant = Tenant(users, {})
    log = RecordingLog()
    batches = await sync(fake_clock, tenant, log)
    assert tenant.acted_as() == ["admin", "awake"]
    assert set(rows(batches).values()) == {"admin", "awake"}
    assert not log.texts("warning")


@respx.mock
async def test_403s_for_the_first_users_asked_fail_the_stream_saying_an_administrators_token_is_needed(fake_clock):
    users = [user(n, f"user{n}") for n in range(1, 6)]
    tenant = Tenant(users, {u["userName"]: denied for u in users})
    with pytest.raises(PermissionDeniedError, match="needs an administrator's token") as raised:
        await sync(fake_clock, tenant, RecordingLog())
    assert "user1, user2, user3" in str(raised.value)


@respx.mock
async def test_403s_mixed_with_deactivated_and_deleted_users_still_fail_when_no_user_could_be_listed(fake_clock):
    users = [user(1, "u1"), user(2, "u2"), user(3, "u3", active=False), user(4, "u4"), user(5, "u5")]
    answers = {"u1": denied, "u2": not_found, "u4": denied, "u5": denied}
    with pytest.raises(PermissionDeniedError, match="u1, u4, u5"):
        await sync(fake_clock, Tenant(users, answers), RecordingLog())


@respx.mock
async def test_a_403_once_a_listing_succeeded_only_skips_that_user(fake_clock):
    users = [user(1, "first"), user(2, "u2"), user(3, "u3"), user(4, "u4"), user(5, "last")]
    log = RecordingLog()
    batches = await sync(fake_clock, Tenant(users, {"u2": denied, "u3": denied, "u4": denied}), log)
    assert set(rows(batches).values()) == {"first", "last"}
    assert [name for name in ("u2", "u3", "u4") if any(name in text for text in log.texts("warning"))] == [
        "u2",
        "u3",
        "u4",
    ]


@respx.mock
async def test_a_403_before_any_success_keeps_the_position_before_that_user(fake_clock):
    """Until one listing succeeds a 403 may mean the token lacks the right: the state does not move past the
    refused user then, so a sync that fails on the next refusals retries them."""
    users = [user(1, "u1"), user(2, "u2"), user(3, "u3")]
    log = RecordingLog()
    batches = await sync(fake_clock, Tenant(users, {"u1": denied}), log)
    assert [batch.state.after_user_id for batch in batches] == [1002, 1003, None]
    assert set(rows(batches).values()) == {"u2", "u3"}
    assert any("u1" in text for text in log.texts("warning"))


# ---- names that cannot go into a header ----------------------------------------------------------------------------


@respx.mock
async def test_a_user_named_in_non_ascii_is_acted_as_by_email_or_skipped_with_a_warning(fake_clock):
    users = [
        user(1, "admin"),
        user(2, "jmüller2", email="jmuller2@acme.com"),
        user(3, "山田3", email="山田3@acme.com"),
        user(4, "zoë4", email=None),
        user(5, "plain5"),
    ]
    users[3]["email"] = None
    tenant = Tenant(users, {})
    log = RecordingLog()
    batches = await sync(fake_clock, tenant, log)

    assert tenant.headers_sent() == [
        {"X-Egnyte-Act-As": "admin"},
        {"X-Egnyte-Act-As-Email": "jmuller2@acme.com"},
        {"X-Egnyte-Act-As": "plain5"},
    ]
    assert rows(batches) == {
        10011: "admin",
        10012: "admin",
        10021: "jmüller2",
        10022: "jmüller2",
        10051: "plain5",
        10052: "plain5",
    }
    warnings = log.texts("warning")
    assert len(warnings) == 2
    assert "'山田3'" in warnings[0] and "ASCII" in warnings[0]
    assert "'zoë4'" in warnings[1] and "ASCII" in warnings[1]


# ---- whose bookmarks can have changed ---------------------------------------------------------------------------

PREVIOUS_SCAN = "2026-11-27T06:00:00.000Z"
TODAY = 20_785  # NOW's day since the epoch


async def incremental_sync(
    fake_clock, users: list[dict[str, Any]], state: BookmarksState, ledger: Ledger | None, refresh_days: int = 365
) -> tuple[list[Batch], Tenant, RecordingLog]:
    tenant, log = Tenant(users, {}), RecordingLog()
    listing = {"startIndex": 1, "totalResults": len(users), "resources": users}
    respx.get(USERS).mock(return_value=httpx.Response(200, json=listing))
    respx.get(BOOKMARKS).mock(side_effect=tenant.bookmarks)
    async with new_client(fake_clock) as client:
        settings = dataclasses.replace(client.settings, bookmarks_refresh_days=refresh_days)
        ledgers = {"bookmarks": ledger} if ledger is not None else {}
        ctx = StreamContext(client, log, settings, NOW, window=2, ledgers=ledgers)
        return [batch async for batch in produce(ctx, state)], tenant, log


def marks(batches: list[Batch]) -> list[Any]:
    return [mark for batch in batches for mark in batch.marks]


@respx.mock
async def test_only_users_new_active_or_without_a_last_active_date_are_asked_the_others_are_kept(fake_clock):
    users = [
        {**user(1, "quiet"), "lastActiveDate": "2026-11-20T10:00:00.000+0000"},
        {**user(2, "busy"), "lastActiveDate": "2026-11-27T05:30:00.000+0000"},  # within the hour's margin
        {**user(3, "never"), "lastActiveDate": None},
        {**user(4, "newcomer"), "lastActiveDate": "2026-11-01T10:00:00.000+0000"},
        {**user(5, "dated"), "lastActiveDate": "2026-11-27"},  # a plain date: any moment of that day
        {**user(6, "old.date"), "lastActiveDate": "2026-11-26"},
        {**user(7, "odd"), "lastActiveDate": "sometime"},
        {**user(8, "asleep", active=False), "lastActiveDate": "2026-11-28T01:00:00Z"},
    ]
    ledger = Ledger(BOOKMARKS_LEDGER, scopes=[1001, 1002, 1003, 1005, 1006, 1007, 1008])
    # Neither quiet user is due for the periodic refresh (every 365 days) on the days since the last scan.
    assert not any(refresh_due(owner, 365, TODAY - 1, TODAY) for owner in (1001, 1006))
    state = BookmarksState(previous_scan_started=PREVIOUS_SCAN)
    batches, tenant, log = await incremental_sync(fake_clock, users, state, ledger)

    assert tenant.acted_as() == ["busy", "never", "newcomer", "dated", "odd"]
    assert marks(batches) == [
        Kept(1001),
        Refreshed(1002, frozenset({10021, 10022})),
        Refreshed(1003, frozenset({10031, 10032})),
        Refreshed(1004, frozenset({10041, 10042})),
        Refreshed(1005, frozenset({10051, 10052})),
        Kept(1006),
        Refreshed(1007, frozenset({10071, 10072})),
        Kept(1008),  # deactivated: not asked, kept, as before
        Completed(),
    ]
    assert batches[-1].state.previous_scan_started == "2026-11-28T00:00:00.000Z"  # this scan's start: NOW
    assert batches[-1].state.scan is None and batches[-1].state.scan_started is None
    assert all(batch.state.scan_started == "2026-11-28T00:00:00.000Z" for batch in batches[:-1])
    assert all(batch.state.previous_scan_started == PREVIOUS_SCAN for batch in batches[:-1])
    summary = [text for text in log.texts("info") if "asked for the bookmarks of" in text]
    assert summary == [
        "bookmarks: asked for the bookmarks of 5 user(s) (1 new, 2 without lastActiveDate, 2 active since the last "
        f"scan began); 2 user(s) not active since {PREVIOUS_SCAN} and not due for the periodic refresh were not asked "
        "(their bookmarks stay as synced)"
    ]
    assert not any("gives no lastActiveDate" in text for text in log.texts("info"))  # null is not absent


@respx.mock
async def test_without_a_complete_scan_or_a_ledger_every_user_is_asked(fake_clock):
    users = [{**user(k, f"u{k}"), "lastActiveDate": "2020-01-01T00:00:00Z"} for k in range(1, 4)]
    ledger = Ledger(BOOKMARKS_LEDGER, scopes=[1001, 1002, 1003])
    _, tenant, _ = await incremental_sync(fake_clock, users, BookmarksState(), ledger)  # no previous scan
    assert tenant.acted_as() == ["u1", "u2", "u3"]
    respx.reset()
    state = BookmarksState(previous_scan_started=PREVIOUS_SCAN)
    _, tenant, _ = await incremental_sync(fake_clock, users, state, None)  # the drain's ledger not given
    assert tenant.acted_as() == ["u1", "u2", "u3"]


@respx.mock
async def test_a_listing_without_last_active_dates_lists_everyone_and_says_so_once(fake_clock):
    users = [user(k, f"u{k}") for k in range(1, 5)]
    ledger = Ledger(BOOKMARKS_LEDGER, scopes=[1001, 1002, 1003, 1004])
    state = BookmarksState(previous_scan_started=PREVIOUS_SCAN)
    _, tenant, log = await incremental_sync(fake_clock, users, state, ledger)
    assert tenant.acted_as() == ["u1", "u2", "u3", "u4"]
    said = [text for text in log.texts("info") if "gives no lastActiveDate" in text]
    assert said == [
        "bookmarks: the users listing gives no lastActiveDate, so nothing tells whose bookmarks can have changed: "
        "every user's bookmarks are listed"
    ]


@respx.mock
async def test_a_scan_resumed_from_a_state_without_its_start_completes_without_one(fake_clock):
    """A scan the previous release began: nothing tells when its first listings were made, so the next scan lists
    everyone again."""
    users = [{**user(k, f"u{k}"), "lastActiveDate": "2020-01-01T00:00:00Z"} for k in range(1, 3)]
    resumed = BookmarksState(scan=Position(1), previous_scan_started=None)
    batches, _, _ = await incremental_sync(fake_clock, users, resumed, Ledger(BOOKMARKS_LEDGER))
    assert batches[-1].state.previous_scan_started is None
    assert "scan_started" not in batches[0].state.to_state()


@pytest.mark.parametrize("days", [1, 2, 7, 30])
def test_each_user_is_due_on_exactly_one_day_in_n_and_the_days_are_spread(days):
    owners = range(12_824_001_000, 12_824_001_000 + 700 * 1024, 1024)
    for owner in owners[:50]:
        due = [day for day in range(TODAY, TODAY + days) if refresh_due(owner, days, day - 1, day)]
        assert len(due) == 1
        assert (due[0] + refresh_phase(owner, days)) % days == 0
    per_day = [sum(refresh_due(owner, days, day - 1, day) for owner in owners) for day in range(TODAY, TODAY + days)]
    assert sum(per_day) == len(owners)
    assert max(per_day) <= 1.5 * len(owners) / days + 5


def test_the_refresh_counts_every_day_since_the_last_scan():
    assert NOW.timestamp() // 86_400 == TODAY
    owner = 12_824_001_555
    assert not refresh_due(owner, 7, TODAY, TODAY)  # a second scan the same day: nobody is due again
    assert refresh_due(owner, 7, TODAY - 7, TODAY)  # a week since: everyone is
    due_day = next(day for day in range(TODAY, TODAY + 7) if refresh_due(owner, 7, day - 1, day))
    assert refresh_due(owner, 7, due_day - 3, due_day + 2)
    assert not refresh_due(owner, 7, due_day, due_day + 6)


def test_the_scans_starts_are_saved_and_read_back():
    state = BookmarksState(Position(41, (1040,)), 1040, 1, PageCap().to_state(), "2026-11-28T00:00:00.000Z",
                           "2026-11-27T00:00:00.000Z")  # fmt: skip
    saved = state.to_state()
    assert saved["scan_started"] == "2026-11-28T00:00:00.000Z"
    assert saved["previous_scan_started"] == "2026-11-27T00:00:00.000Z"
    log = RecordingLog()
    assert read_state(saved, log) == state and log.lines == []
    assert "active since 2026-11-27T00:00:00.000Z" in state.describe()
    between = BookmarksState(previous_scan_started="2026-11-27T00:00:00.000Z")
    assert read_state(between.to_state(), log) == between


@pytest.mark.parametrize("key", ["scan_started", "previous_scan_started"])
@pytest.mark.parametrize("garbage", ["yesterday", 1764237600, "0001-01-01T00:00:00Z", ["2026-11-27"]])
def test_an_unreadable_scan_start_is_reported_and_read_as_none(key, garbage):
    log = RecordingLog()
    state = read_state({"scan": {"index": 1, "tail": []}, key: garbage}, log)
    assert getattr(state, key) is None
    assert [line for line in log.texts("warning") if f"bookmarks: the saved '{key}' is unreadable" in line]


@pytest.mark.parametrize(("hours", "days_counted"), [(4, 1), (24, 1), (48, 2), (72, 3)])
def test_the_refresh_counts_the_days_since_the_last_scan_but_no_more_than_between_two_syncs(hours, days_counted):
    """A scan that began ten days after the last (a large tenant under a tight quota) lists the share of the days
    between two syncs, not everyone."""
    owners = range(12_824_001_000, 12_824_001_000 + 700 * 1024, 1024)
    settings = Settings(domain="acme", base_url=BASE, sync_frequency_hours=hours, bookmarks_refresh_days=7)
    ctx = SimpleNamespace(settings=settings, now=NOW, ledgers={"bookmarks": Ledger(BOOKMARKS_LEDGER, owners)})
    state = BookmarksState(previous_scan_started=(NOW - timedelta(days=10)).isoformat())
    freshness = Freshness.of(ctx, state)  # type: ignore[arg-type]
    due = {owner for owner in owners if freshness.why_listed({"lastActiveDate": "2020-01-01"}, owner) == "refresh"}
    days = range(TODAY - days_counted + 1, TODAY + 1)
    assert due == {owner for owner in owners if any((day + refresh_phase(owner, 7)) % 7 == 0 for day in days)}
    same_day = Freshness.of(ctx, BookmarksState(previous_scan_started=NOW.isoformat()))  # type: ignore[arg-type]
    assert not any(same_day.why_listed({"lastActiveDate": "2020-01-01"}, owner) for owner in owners)


def test_a_last_scan_that_began_after_now_looks_for_activity_from_now():
    """The clock was set back since the last scan began: users active since now, less the margin, are listed."""
    settings = Settings(domain="acme", base_url=BASE, bookmarks_refresh_days=365)
    ctx = SimpleNamespace(settings=settings, now=NOW, ledgers={"bookmarks": Ledger(BOOKMARKS_LEDGER, [1001])})
    state = BookmarksState(previous_scan_started=(NOW + timedelta(days=3)).isoformat())
    freshness = Freshness.of(ctx, state)  # type: ignore[arg-type]
    assert freshness.why_listed({"lastActiveDate": (NOW - timedelta(minutes=5)).isoformat()}, 1001) == "active"


@pytest.mark.parametrize(
    ("last_active", "listed"),
    [
        ("2026-11-27", True),  # a plain date: any moment of that day, so at its end
        ("2026-11-26", False),
        (str(int((NOW - timedelta(hours=10)).timestamp())), True),  # epoch seconds as text, not a plain date
        (str(int((NOW - timedelta(hours=30)).timestamp())), False),  # a day earlier would be active
        ("Fri, 27 Nov 2026 05:30:00 GMT", True),
        (int((NOW - timedelta(days=2)).timestamp() * 1000), False),
    ],
)
def test_each_form_of_last_active_date_is_read(last_active, listed):
    settings = Settings(domain="acme", base_url=BASE, bookmarks_refresh_days=365)
    ctx = SimpleNamespace(settings=settings, now=NOW, ledgers={"bookmarks": Ledger(BOOKMARKS_LEDGER, [1001])})
    freshness = Freshness.of(ctx, BookmarksState(previous_scan_started=PREVIOUS_SCAN))  # type: ignore[arg-type]
    assert not refresh_due(1001, 365, TODAY - 1, TODAY)
    assert (freshness.why_listed({"lastActiveDate": last_active}, 1001) == "active") is listed
