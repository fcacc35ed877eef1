"""The order of a sync's work: every listing before any fan-out, and among the fan-outs the signaled changes before
the refreshes; whatever ends a stream, nobody waits for it."""

from __future__ import annotations

import anyio

from egnyte_async.streams.phases import (
    BOOKMARK_REFRESH,
    MEMBERSHIP_REFRESH,
    SIGNALED,
    FanOutTiers,
    ListingsBarrier,
)


async def test_the_fan_outs_start_once_every_listing_is_over_whatever_ended_it():
    barrier = ListingsBarrier(["users", "groups", "bookmarks"])
    order: list[str] = []

    async def fan_out(name: str) -> None:
        await barrier.fan_out(name)
        order.append(f"{name} fans out")

    async with anyio.create_task_group() as group:
        group.start_soon(fan_out, "groups")
        group.start_soon(fan_out, "bookmarks")
        await anyio.wait_all_tasks_blocked()
        assert order == [] and not barrier.is_open
        order.append("users over")
        barrier.listing_over("users")  # the users stream ended (finished, stopped or failed)
    assert order == ["users over", "groups fans out", "bookmarks fans out"]
    assert barrier.is_open
    assert ListingsBarrier([]).is_open  # no stream: nothing to wait for


async def test_a_refresh_waits_for_every_fan_outs_signaled_work_and_a_stream_that_ends_holds_nobody():
    tiers = FanOutTiers(["groups", "bookmarks"])
    order: list[str] = []

    async def groups() -> None:
        order.append("new groups")
        await tiers.reach("groups", MEMBERSHIP_REFRESH)
        order.append("membership refresh")
        await anyio.sleep(0)
        tiers.leave("groups")

    async def bookmarks() -> None:
        await anyio.sleep(0)
        await anyio.sleep(0)
        order.append("active users")
        await tiers.reach("bookmarks", BOOKMARK_REFRESH)
        order.append("bookmarks refresh")

    async with anyio.create_task_group() as group:
        group.start_soon(groups)
        group.start_soon(bookmarks)
    assert order == ["new groups", "active users", "membership refresh", "bookmarks refresh"]


async def test_a_tier_of_streams_that_are_not_fan_outs_never_waits():
    tiers = FanOutTiers([])
    with anyio.fail_after(1):
        await tiers.reach("users", BOOKMARK_REFRESH)
    lone = FanOutTiers(["groups"])
    with anyio.fail_after(1):
        await lone.reach("groups", MEMBERSHIP_REFRESH)
    assert SIGNALED < MEMBERSHIP_REFRESH < BOOKMARK_REFRESH
