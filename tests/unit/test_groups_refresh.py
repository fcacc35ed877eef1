"""The groups stream's periodic membership refresh against respx: a new group is detailed at once, every group once
in `membership_refresh_hours`, a share of them each sync; a group not detailed keeps its memberships live."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from egnyte_async.items import Batch, Completed, Kept, Refreshed
from egnyte_async.ledger import Deletion, Ledger
from egnyte_async.settings import Settings
from egnyte_async.streams.context import StreamContext
from egnyte_async.streams.groups import (
    LEDGER,
    GroupsState,
    group_slot,
    produce,
    read_state,
    refresh_due,
    refresh_slots,
    tick_of,
)
from tests.clients import BASE, NOW, new_client
from tests.logs import RecordingLog

GROUPS = f"{BASE}/pubapi/v2/groups"
HOUR = timedelta(hours=1)


class Tenant:
    """Groups `g-00`..., each with members {1, 2, 3}; records the detail calls."""

    def __init__(self, count: int) -> None:
        self.members: dict[str, set[int]] = {f"g-{k:02d}": {1, 2, 3} for k in range(count)}
        self.detailed: list[str] = []

    def listing(self, request: httpx.Request) -> httpx.Response:
        start, count = int(request.url.params["startIndex"]), int(request.url.params["count"])
        items = [{"id": group, "displayName": group.upper()} for group in sorted(self.members)]
        page = items[start - 1 : start - 1 + count]
        return httpx.Response(200, json={"startIndex": start, "totalResults": len(items), "resources": page})

    def detail(self, request: httpx.Request) -> httpx.Response:
        group = request.url.path.rsplit("/", 1)[1]
        self.detailed.append(group)
        members = [{"username": f"u{user}", "value": user} for user in sorted(self.members[group])]
        return httpx.Response(200, json={"id": group, "displayName": group.upper(), "members": members})


class Syncs:
    """Syncs of the groups stream, each applying its marks to one ledger as the drain loop would."""

    def __init__(self, tenant: Tenant, fake_clock: Any, **settings: Any) -> None:
        self.tenant = tenant
        self.clock = fake_clock
        self.settings = settings
        self.ledger = Ledger(LEDGER)
        self.state = GroupsState()
        self.deleted: list[Deletion] = []
        self.log = RecordingLog()

    async def sync(self, now: datetime) -> list[Batch]:
        respx.get(GROUPS).mock(side_effect=self.tenant.listing)
        respx.get(url__regex=re.escape(GROUPS) + r"/.+").mock(side_effect=self.tenant.detail)
        async with new_client(self.clock, **self.settings) as client:
            ctx = StreamContext(client, self.log, client.settings, now, window=2, ledgers={"groups": self.ledger})
            batches = [batch async for batch in produce(ctx, self.state)]
        for batch in batches:
            for mark in batch.marks:
                if isinstance(mark, Refreshed):
                    self.deleted.extend(self.ledger.refresh(mark.scope, mark.children))
                elif isinstance(mark, Kept):
                    self.ledger.keep(mark.scope)
                else:
                    assert isinstance(mark, Completed)
                    self.deleted.extend(self.ledger.complete())
            state = batch.state
            assert isinstance(state, GroupsState)
            self.state = read_state(state.to_state(), self.log)  # through the saved form, as between syncs
        return batches


def detailed_in(tenant: Tenant, action: Any) -> list[str]:
    before = len(tenant.detailed)
    action()
    return tenant.detailed[before:]


def test_slots_and_due_ticks():
    assert refresh_slots(24, 4) == 6
    assert refresh_slots(24, 24) == 1 and refresh_slots(1, 4) == 1 and refresh_slots(24, 0.25) == 96
    assert tick_of(NOW + 5 * HOUR, 4) == tick_of(NOW, 4) + 1
    slot = group_slot("g-01", 6)
    assert group_slot("g-01", 6) == slot  # stable, unlike hash()
    due = [tick for tick in range(60, 72) if refresh_due("g-01", 6, tick - 1, tick)]
    assert due == [tick for tick in range(60, 72) if tick % 6 == slot]
    assert refresh_due("g-01", 6, 0, 6)  # a whole period since: everyone
    assert refresh_due("g-01", 1, 5, 5)  # one slot: every sync
    assert refresh_due("g-01", 6, None, 66 + slot) and not refresh_due("g-01", 6, None, 67 + slot)
    assert refresh_due("g-01", 6, 100, 66 + slot)  # a clock set back: this tick's share


@respx.mock
async def test_every_group_is_detailed_once_a_period_a_share_each_sync_and_new_groups_at_once(fake_clock):
    tenant = Tenant(60)
    syncs = Syncs(tenant, fake_clock, sync_frequency_hours=4, membership_refresh_hours=24)
    start = datetime.fromtimestamp(tick_of(NOW, 4) * 4 * 3600, NOW.tzinfo)
    await syncs.sync(start)
    assert sorted(tenant.detailed) == sorted(tenant.members)  # the first sync: every group is new

    per_sync: list[list[str]] = []
    for k in range(1, 7):  # a period of six syncs
        if k == 3:
            tenant.members["g-99"] = {4}  # a new group: detailed by the next sync, whatever its slot
        before = len(tenant.detailed)
        await syncs.sync(start + 4 * k * HOUR)
        per_sync.append(tenant.detailed[before:])
    assert "g-99" in per_sync[2]
    assert sorted(group for share in per_sync for group in share if group != "g-99") == sorted(tenant.members)[:60]
    assert all(4 <= len(share) <= 18 for share in per_sync)  # about 60 / 6 each, never everyone
    assert syncs.deleted == []
    # Every membership is still known (kept groups stay live), and the stream said what it spared.
    assert all(syncs.ledger.known[group] == frozenset(tenant.members[group]) for group in tenant.members)
    spared = "not due were not detailed (their memberships stay as synced)"
    assert any(spared in text for text in syncs.log.texts("info"))


@respx.mock
async def test_a_kept_group_writes_no_row_and_a_removed_member_is_deleted_when_the_group_is_next_read(fake_clock):
    tenant = Tenant(12)
    syncs = Syncs(tenant, fake_clock, sync_frequency_hours=4, membership_refresh_hours=24)
    start = datetime.fromtimestamp(tick_of(NOW, 4) * 4 * 3600, NOW.tzinfo)
    await syncs.sync(start)
    target = next(group for group in sorted(tenant.members) if group_slot(group, 6) != (tick_of(start, 4) + 1) % 6)
    tenant.members[target].discard(2)

    batches = await syncs.sync(start + 4 * HOUR)
    if target not in tenant.detailed[12:]:
        written = {row["id"] for batch in batches for table, row in batch.rows if table == "groups"}
        assert target not in written  # no row with an unknown member count
        assert syncs.deleted == []  # not read: its memberships stay live
    for k in range(2, 7):
        await syncs.sync(start + 4 * k * HOUR)
    assert syncs.deleted == [("group_members", {"group_id": target, "user_id": 2})]


@respx.mock
async def test_a_late_sync_details_the_shares_of_the_syncs_it_missed(fake_clock):
    tenant = Tenant(40)
    syncs = Syncs(tenant, fake_clock, sync_frequency_hours=4, membership_refresh_hours=24)
    await syncs.sync(NOW)
    await syncs.sync(NOW + 30 * HOUR)  # more than a period later: everyone
    assert sorted(tenant.detailed[40:]) == sorted(tenant.members)


@pytest.mark.parametrize("refresh_hours", [1, 4])
@respx.mock
async def test_a_period_of_one_sync_details_every_group_every_sync(fake_clock, refresh_hours):
    tenant = Tenant(10)
    syncs = Syncs(tenant, fake_clock, sync_frequency_hours=4, membership_refresh_hours=refresh_hours)
    await syncs.sync(NOW)
    await syncs.sync(NOW)  # even in the same tick
    assert len(tenant.detailed) == 20


def test_a_previous_layout_groups_state_is_read():
    log = RecordingLog()
    state = read_state({"scan": {"index": 21, "tail": ["g-19", "g-20"]}, "after_id": "g-25"}, log)
    assert state.scan is not None and state.scan.index == 21 and state.after_id == "g-25"
    assert state.scan_tick is None and state.previous_tick is None
    assert read_state({}, log) == GroupsState()
    assert log.texts("warning") == []
    again = GroupsState(state.scan, state.after_id, 123, 122)
    assert read_state(again.to_state(), log) == again
    assert read_state({"previous_tick": 7}, log) == GroupsState(previous_tick=7)
    assert read_state({"previous_tick": "x"}, log) == GroupsState()
    assert "'previous_tick'" in log.texts("warning")[0]


def test_the_setting_defaults_to_a_day():
    assert Settings(domain="a", base_url=BASE).membership_refresh_hours == 24
