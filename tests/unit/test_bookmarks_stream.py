"""The bookmarks stream against respx: which users are asked, how each refusal is treated, and how a user is named
to Egnyte when acting as them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx

from egnyte_async.errors import PermissionDeniedError
from egnyte_async.items import Batch, Present, Refreshed
from egnyte_async.ledger import Ledger
from egnyte_async.pagination import PageCap
from egnyte_async.settings import Settings
from egnyte_async.streams.bookmarks import LEDGER as BOOKMARKS_LEDGER
from egnyte_async.streams.bookmarks import BookmarksState, Freshness, produce, read_state
from egnyte_async.streams.context import StreamContext
from egnyte_async.streams.passes import DoneSoFar
from egnyte_async.streams.roster import Roster, RosterUser
from egnyte_async.streams.turns import due_between, refresh_slots, slot_of, tick_of
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


def bookmarks_only(client: Any, log: RecordingLog, now: datetime, ledgers: dict, **settings: Any) -> StreamContext:
    """The stream alone (the users table not synced): it scans the users itself, then lists bookmarks."""
    chosen = dataclasses.replace(client.settings, streams=("bookmarks",), **settings)
    return StreamContext(client, log, chosen, now, window=2, ledgers=ledgers, roster=Roster(keep_users=True))


async def sync(fake_clock, tenant: Tenant, log: RecordingLog) -> list[Batch]:
    listing = {"startIndex": 1, "totalResults": len(tenant.users), "resources": tenant.users}
    respx.get(USERS).mock(return_value=httpx.Response(200, json=listing))
    respx.get(BOOKMARKS).mock(side_effect=tenant.bookmarks)
    async with new_client(fake_clock) as client:
        ctx = bookmarks_only(client, log, NOW, {})
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
    assert batches[-1].state.pass_started is None  # the pass is done


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
    passes = [batch.state.done.as_set() for batch in batches if batch.state.pass_started is not None]
    assert passes[-2:] == [{1002}, {1002, 1003}] and all(1001 not in done for done in passes)
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

PREVIOUS_PASS = "2026-11-27T06:00:00.000Z"


async def incremental_sync(
    fake_clock, users: list[dict[str, Any]], state: BookmarksState, ledger: Ledger | None, refresh_days: int = 365
) -> tuple[list[Batch], Tenant, RecordingLog]:
    tenant, log = Tenant(users, {}), RecordingLog()
    listing = {"startIndex": 1, "totalResults": len(users), "resources": users}
    respx.get(USERS).mock(return_value=httpx.Response(200, json=listing))
    respx.get(BOOKMARKS).mock(side_effect=tenant.bookmarks)
    async with new_client(fake_clock) as client:
        ledgers = {"bookmarks": ledger} if ledger is not None else {}
        ctx = bookmarks_only(client, log, NOW, ledgers, bookmarks_refresh_days=refresh_days)
        return [batch async for batch in produce(ctx, state)], tenant, log


def marks(batches: list[Batch]) -> list[Any]:
    return [mark for batch in batches for mark in batch.marks]


def refresh_due_now(owner: int, days: int, previous: str = PREVIOUS_PASS) -> bool:
    previous_tick = tick_of(datetime.fromisoformat(previous.replace("Z", "+00:00")), 4)
    return due_between(str(owner), refresh_slots(days * 24, 4), previous_tick, tick_of(NOW, 4))


@respx.mock
async def test_only_users_new_active_or_without_a_last_active_date_are_asked_new_ones_first(fake_clock):
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
    assert not any(refresh_due_now(owner, 365) for owner in (1001, 1003, 1006))  # no quiet user's turn
    state = BookmarksState(previous_pass_started=PREVIOUS_PASS)
    batches, tenant, log = await incremental_sync(fake_clock, users, state, ledger)

    # New, active, then unreadable; a null lastActiveDate is a user who never signed in: not asked.
    assert tenant.acted_as() == ["newcomer", "busy", "dated", "odd"]
    assert marks(batches) == [
        Present(frozenset(range(1001, 1009))),  # every user the scan met, the deactivated too: nobody is gone
        Refreshed(1004, frozenset({10041, 10042})),
        Refreshed(1002, frozenset({10021, 10022})),
        Refreshed(1005, frozenset({10051, 10052})),
        Refreshed(1007, frozenset({10071, 10072})),
    ]
    assert batches[-1].state.previous_pass_started == "2026-11-28T00:00:00.000Z"  # this pass's start: NOW
    assert batches[-1].state.pass_started is None and len(batches[-1].state.done) == 0
    listing = [batch.state for batch in batches[:-1] if batch.state.pass_started is not None]
    assert listing and all(state.pass_started == "2026-11-28T00:00:00.000Z" for state in listing)
    assert all(state.previous_pass_started == PREVIOUS_PASS for state in listing)
    summary = [text for text in log.texts("info") if "asked for the bookmarks of" in text]
    assert summary == [
        "bookmarks: asked for the bookmarks of 4 user(s) (1 new, 2 active since the last pass began, 1 without "
        f"lastActiveDate); 3 user(s) not active since {PREVIOUS_PASS} and not due for the periodic refresh were not "
        "asked (their bookmarks stay as synced)"
    ]
    assert not any("gives no lastActiveDate" in text for text in log.texts("info"))  # null is not absent


@respx.mock
async def test_without_a_complete_pass_or_a_ledger_every_user_is_asked(fake_clock):
    users = [{**user(k, f"u{k}"), "lastActiveDate": "2020-01-01T00:00:00Z"} for k in range(1, 4)]
    ledger = Ledger(BOOKMARKS_LEDGER, scopes=[1001, 1002, 1003])
    _, tenant, _ = await incremental_sync(fake_clock, users, BookmarksState(), ledger)  # no previous pass
    assert tenant.acted_as() == ["u1", "u2", "u3"]
    respx.reset()
    state = BookmarksState(previous_pass_started=PREVIOUS_PASS)
    _, tenant, _ = await incremental_sync(fake_clock, users, state, None)  # the drain's ledger not given
    assert tenant.acted_as() == ["u1", "u2", "u3"]


@respx.mock
async def test_a_listing_without_last_active_dates_lists_everyone_and_says_so_once(fake_clock):
    users = [user(k, f"u{k}") for k in range(1, 5)]
    ledger = Ledger(BOOKMARKS_LEDGER, scopes=[1001, 1002, 1003, 1004])
    state = BookmarksState(previous_pass_started=PREVIOUS_PASS)
    _, tenant, log = await incremental_sync(fake_clock, users, state, ledger)
    assert tenant.acted_as() == ["u1", "u2", "u3", "u4"]
    said = [text for text in log.texts("info") if "gives no lastActiveDate" in text]
    assert said == [
        "bookmarks: the users listing gives no lastActiveDate, so nothing tells whose bookmarks can have changed: "
        "every user's bookmarks are listed"
    ]


@respx.mock
async def test_a_pass_under_way_lists_only_the_users_it_has_not_listed_yet(fake_clock):
    users = [{**user(k, f"u{k}"), "lastActiveDate": "2026-11-27T23:00:00Z"} for k in range(1, 5)]
    ledger = Ledger(BOOKMARKS_LEDGER, scopes=[1001, 1002, 1003, 1004])
    under_way = BookmarksState(
        0, PageCap().to_state(), "2026-11-27T20:00:00.000Z", DoneSoFar.of([1001, 1003]), PREVIOUS_PASS
    )
    batches, tenant, _ = await incremental_sync(fake_clock, users, under_way, ledger)
    assert tenant.acted_as() == ["u2", "u4"]
    assert batches[-1].state.previous_pass_started == "2026-11-27T20:00:00.000Z"  # the pass's own start


@pytest.mark.parametrize("days", [1, 2, 7, 30])
def test_each_user_is_due_once_in_a_period_of_passes_and_the_turns_are_spread(days):
    owners = range(12_824_001_000, 12_824_001_000 + 700 * 1024, 1024)
    slots = refresh_slots(days * 24, 4)
    first = tick_of(NOW, 4)
    for owner in owners[:50]:
        due = [tick for tick in range(first, first + slots) if due_between(str(owner), slots, tick - 1, tick)]
        assert due == [tick for tick in range(first, first + slots) if tick % slots == slot_of(str(owner), slots)]
        assert len(due) == 1
    per_pass = [sum(due_between(str(o), slots, t - 1, t) for o in owners) for t in range(first, first + slots)]
    assert sum(per_pass) == len(owners)
    assert max(per_pass) <= 1.5 * len(owners) / slots + 5


def freshness(hours: float, previous: datetime | str | None, known: list[int], days: int = 7) -> Freshness:
    """The pass starting at NOW after one that began at `previous` (the refresh's ticks the same)."""
    settings = Settings(domain="acme", base_url=BASE, sync_frequency_hours=hours, bookmarks_refresh_days=days)
    ctx = SimpleNamespace(settings=settings, now=NOW, ledgers={"bookmarks": Ledger(BOOKMARKS_LEDGER, known)})
    text = previous.isoformat() if isinstance(previous, datetime) else previous
    previous_tick = tick_of(previous, hours) if isinstance(previous, datetime) else None
    return Freshness.of(ctx, text, tick_of(NOW, hours), previous_tick)  # type: ignore[arg-type]


def quiet(owner: int) -> RosterUser:
    return RosterUser(str(owner), owner, f"u{owner}", f"u{owner}", False, datetime(2020, 1, 1, tzinfo=NOW.tzinfo), True)


@pytest.mark.parametrize("hours", [4, 24, 72])
def test_the_refresh_takes_the_turns_since_the_last_pass_and_everyone_after_a_period(hours):
    owners = list(range(12_824_001_000, 12_824_001_000 + 700 * 1024, 1024))
    slots = refresh_slots(7 * 24, hours)
    late = freshness(hours, NOW - timedelta(days=10), owners)  # more than a period: everyone
    assert all(late.why_listed(quiet(owner)) == "refresh" for owner in owners)
    one = freshness(hours, NOW - timedelta(hours=hours), owners)  # the sync before: this tick's share
    due = {owner for owner in owners if one.why_listed(quiet(owner)) == "refresh"}
    assert due == {owner for owner in owners if slot_of(str(owner), slots) == tick_of(NOW, hours) % slots}
    same_tick = freshness(hours, NOW, owners)
    assert slots == 1 or not any(same_tick.why_listed(quiet(owner)) for owner in owners)


def test_a_last_pass_that_began_after_now_looks_for_activity_from_now():
    """The clock was set back since the last pass began: users active since now, less the margin, are listed."""
    ahead = freshness(4, NOW + timedelta(days=3), [1001], days=365)
    recent = quiet(1001)._replace(last_active=NOW - timedelta(minutes=5))
    assert ahead.why_listed(recent) == "active"


@pytest.mark.parametrize("key", ["pass_started", "previous_pass_started"])
@pytest.mark.parametrize("garbage", ["yesterday", 1764237600, "0001-01-01T00:00:00Z", ["2026-11-27"]])
def test_an_unreadable_pass_start_is_reported_and_read_as_none(key, garbage):
    log = RecordingLog()
    state = read_state({"pass_started": "2026-11-28T00:00:00.000Z", "done": "i1:eNpjAAAAAQAB", key: garbage}, log)
    assert getattr(state, key) is None
    assert [line for line in log.texts("warning") if f"bookmarks: the saved '{key}' is unreadable" in line]
