"""The bookmarks stream against respx: which users are asked, how each refusal is treated, and how a user is named
to Egnyte when acting as them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from egnyte_async.errors import PermissionDeniedError
from egnyte_async.items import Batch
from egnyte_async.streams.bookmarks import BookmarksState, produce
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
