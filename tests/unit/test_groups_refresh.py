"""The groups stream against respx: every sync lists every group (rows, deletions), then reads members in a pass:
new groups at once, every group once in `membership_refresh_hours`, a share of them each sync; a pass cut short
goes on where it stopped; a group not read keeps its memberships live; members come from the users listing when
it carries them."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from egnyte_async.items import Batch, Completed, Gone, Kept, Refreshed
from egnyte_async.ledger import Deletion, Ledger
from egnyte_async.settings import Settings
from egnyte_async.streams.context import StreamContext
from egnyte_async.streams.groups import LEDGER, GroupsState, produce, read_state
from egnyte_async.streams.roster import Roster
from egnyte_async.streams.turns import due_between, refresh_slots, slot_of, tick_of
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
        if group not in self.members:
            return httpx.Response(404, json={"errorMessage": "Group not found"})
        members = [{"username": f"u{user}", "value": user} for user in sorted(self.members[group])]
        return httpx.Response(200, json={"id": group, "displayName": group.upper(), "members": members})


class Syncs:
    """Syncs of the groups stream, each applying its marks to one ledger as the drain loop would, and keeping its
    state through the saved form, as between syncs."""

    def __init__(self, tenant: Tenant, fake_clock: Any, **settings: Any) -> None:
        self.tenant = tenant
        self.clock = fake_clock
        self.settings = settings
        self.ledger = Ledger(LEDGER)
        self.state = GroupsState()
        self.deleted: list[Deletion] = []
        self.log = RecordingLog()

    async def sync(self, now: datetime, roster: Roster | None = None, stop_after: int | None = None) -> list[Batch]:
        """One sync at `now`; `stop_after` batches end it early, as a kill would (their states were saved)."""
        respx.get(GROUPS).mock(side_effect=self.tenant.listing)
        respx.get(url__regex=re.escape(GROUPS) + r"/.+").mock(side_effect=self.tenant.detail)
        batches: list[Batch] = []
        async with new_client(self.clock, **self.settings) as client:
            ctx = StreamContext(
                client,
                self.log,
                client.settings,
                now,
                window=2,
                ledgers={"groups": self.ledger},
                roster=roster or Roster(),
            )
            async for batch in produce(ctx, self.state):
                batches.append(batch)
                self._apply(batch)
                if stop_after is not None and len(batches) >= stop_after:
                    break
        return batches

    def _apply(self, batch: Batch) -> None:
        for mark in batch.marks:
            if isinstance(mark, Refreshed):
                self.deleted.extend(self.ledger.refresh(mark.scope, mark.children, mark.meets))
            elif isinstance(mark, Kept):
                self.ledger.keep(mark.scope)
            elif isinstance(mark, Gone):
                self.deleted.extend(self.ledger.forget(mark.scope))
            else:
                assert isinstance(mark, Completed)
                self.deleted.extend(self.ledger.complete())
        state = batch.state
        assert isinstance(state, GroupsState)
        self.state = read_state(state.to_state(), self.log)


def rows_of(batches: list[Batch], table: str) -> list[dict[str, Any]]:
    return [row for batch in batches for name, row in batch.rows if name == table]


def test_slots_and_due_ticks():
    assert refresh_slots(24, 4) == 6
    assert refresh_slots(24, 24) == 1 and refresh_slots(1, 4) == 1 and refresh_slots(24, 0.25) == 96
    assert tick_of(NOW + 5 * HOUR, 4) == tick_of(NOW, 4) + 1
    slot = slot_of("g-01", 6)
    assert slot_of("g-01", 6) == slot  # stable, unlike hash()
    due = [tick for tick in range(60, 72) if due_between("g-01", 6, tick - 1, tick)]
    assert due == [tick for tick in range(60, 72) if tick % 6 == slot]
    assert due_between("g-01", 1, 5, 5)  # one slot: every pass, even in the same tick
    assert not any(due_between(f"g-{k}", 6, 70, 70) for k in range(50))  # a pass in the tick of the one before
    assert due_between("g-01", 6, None, 66 + slot) and not due_between("g-01", 6, None, 67 + slot)
    assert due_between("g-01", 6, 100, 66 + slot)  # a clock set back: this tick's share
    # Two ticks since: those two shares; a whole period since: everyone.
    keys = [f"g-{k}" for k in range(600)]
    both = {key for key in keys if slot_of(key, 6) in {99 % 6, 100 % 6}}
    assert {key for key in keys if due_between(key, 6, 98, 100)} == both
    assert all(due_between(key, 6, 0, 100) for key in keys)


@respx.mock
async def test_every_group_is_read_once_a_period_a_share_each_sync_and_new_groups_at_once(fake_clock):
    tenant = Tenant(60)
    syncs = Syncs(tenant, fake_clock, sync_frequency_hours=4, membership_refresh_hours=24)
    await syncs.sync(NOW)
    assert sorted(tenant.detailed) == sorted(tenant.members)  # the first sync: every group is new

    per_sync: list[list[str]] = []
    for k in range(1, 7):  # a period of six syncs
        if k == 3:
            tenant.members["g-99"] = {4}  # a new group: read by the next sync, whatever its slot
        before = len(tenant.detailed)
        batches = await syncs.sync(NOW + 4 * k * HOUR)
        per_sync.append(tenant.detailed[before:])
        # Every sync writes every group's row from the listing, with the member count last read.
        listed = {row["id"]: row["member_count"] for row in rows_of(batches, "groups")}
        assert set(listed) == set(tenant.members)
        assert all(count == 3 for group, count in listed.items() if group != "g-99")
    assert per_sync[2][0] == "g-99"  # new groups first
    assert sorted(group for share in per_sync for group in share if group != "g-99") == sorted(tenant.members)[:60]
    assert all(4 <= len(share) <= 18 for share in per_sync)  # about 60 / 6 each, never everyone
    assert syncs.deleted == []
    assert all(syncs.ledger.known[group] == frozenset(tenant.members[group]) for group in tenant.members)
    spared = "not due were not read (their memberships stay as synced)"
    assert any(spared in text for text in syncs.log.texts("info"))


@respx.mock
async def test_a_removed_member_stays_live_until_its_group_is_read_and_a_deleted_group_goes_at_once(fake_clock):
    tenant = Tenant(12)
    syncs = Syncs(tenant, fake_clock, sync_frequency_hours=4, membership_refresh_hours=24)
    await syncs.sync(NOW)
    target = next(group for group in sorted(tenant.members) if slot_of(group, 6) != (tick_of(NOW, 4) + 1) % 6)
    tenant.members[target].discard(2)
    del tenant.members["g-11"]

    await syncs.sync(NOW + 4 * HOUR)
    assert target not in tenant.detailed[12:]
    assert ("groups", {"id": "g-11"}) in syncs.deleted  # gone from the listing: at once, with its members
    assert ("group_members", {"group_id": "g-11", "user_id": 1}) in syncs.deleted
    assert ("group_members", {"group_id": target, "user_id": 2}) not in syncs.deleted  # not read yet: stays live
    for k in range(2, 7):
        await syncs.sync(NOW + 4 * k * HOUR)
    assert ("group_members", {"group_id": target, "user_id": 2}) in syncs.deleted


@respx.mock
async def test_a_pass_cut_short_goes_on_where_it_stopped_and_reads_nothing_twice(fake_clock):
    tenant = Tenant(30)
    syncs = Syncs(tenant, fake_clock, sync_frequency_hours=4, membership_refresh_hours=24, max_records_per_page=10)
    # The listing's batches, then one batch per group read: stopped ten batches into the pass.
    await syncs.sync(NOW, stop_after=14)
    done = syncs.state.done.as_set()
    assert syncs.state.pass_tick is not None and 5 <= len(done) <= 10
    before = len(tenant.detailed)
    await syncs.sync(NOW + HOUR)
    second = tenant.detailed[before:]
    assert sorted(done | set(second)) == sorted(tenant.members)
    assert not done & set(second)  # what the first sync read is not read again
    assert syncs.state.pass_tick is None and syncs.state.previous_tick == tick_of(NOW, 4)
    before = len(tenant.detailed)
    batches = await syncs.sync(NOW + 2 * HOUR)  # the same tick: no group is due again
    assert tenant.detailed[before:] == []
    assert {row["member_count"] for row in rows_of(batches, "groups")} == {3}


@respx.mock
async def test_a_group_deleted_before_its_members_are_read_is_marked_deleted(fake_clock):
    tenant = Tenant(5)
    syncs = Syncs(tenant, fake_clock, sync_frequency_hours=4, membership_refresh_hours=24)
    original = tenant.detail

    def vanishing(request: httpx.Request) -> httpx.Response:
        tenant.members.pop("g-02", None)  # deleted between the listing and its detail call
        return original(request)

    tenant.detail = vanishing  # type: ignore[method-assign]
    await syncs.sync(NOW)
    assert ("groups", {"id": "g-02"}) in syncs.deleted
    assert any("g-02 was deleted since it was listed" in text for text in syncs.log.texts("warning"))
    assert "g-02" not in syncs.ledger.known or syncs.ledger.known["g-02"] == frozenset()


@respx.mock
async def test_a_late_sync_reads_the_turns_it_missed(fake_clock):
    tenant = Tenant(120)
    syncs = Syncs(tenant, fake_clock, sync_frequency_hours=4, membership_refresh_hours=24)
    await syncs.sync(NOW)
    await syncs.sync(NOW + 9 * HOUR)  # two ticks later: the shares of both
    missed = {(tick_of(NOW, 4) + k) % 6 for k in (1, 2)}
    assert sorted(tenant.detailed[120:]) == sorted(group for group in tenant.members if slot_of(group, 6) in missed)
    before = len(tenant.detailed)
    await syncs.sync(NOW + 40 * HOUR)  # more than a period later: everyone
    assert sorted(tenant.detailed[before:]) == sorted(tenant.members)


@pytest.mark.parametrize("refresh_hours", [1, 4])
@respx.mock
async def test_a_period_of_one_sync_reads_every_group_every_sync(fake_clock, refresh_hours):
    tenant = Tenant(10)
    syncs = Syncs(tenant, fake_clock, sync_frequency_hours=4, membership_refresh_hours=refresh_hours)
    await syncs.sync(NOW)
    await syncs.sync(NOW)  # even in the same tick
    assert len(tenant.detailed) == 20


@respx.mock
async def test_members_carried_by_the_users_listing_cost_no_call(fake_clock):
    tenant = Tenant(4)
    syncs = Syncs(tenant, fake_clock, sync_frequency_hours=4, membership_refresh_hours=24)

    def roster(memberships: dict[int, list[str]]) -> Roster:
        users = [
            {
                "id": user,
                "userName": f"u{user}",
                "name": {"formatted": f"U {user}"},
                "groups": [{"value": g} for g in gs],
            }
            for user, gs in memberships.items()
        ]
        result = Roster(keep_groups=True)
        result.begin()
        result.add(users)
        result.finish()
        return result

    batches = await syncs.sync(NOW, roster({1: ["g-00", "g-01"], 2: ["g-00", "default-group"]}))
    assert tenant.detailed == []
    members = {
        (row["group_id"], row["user_id"], row["username"], row["display_name"])
        for row in rows_of(batches, "group_members")
    }
    assert members == {
        ("g-00", 1, "u1", "U 1"),
        ("g-01", 1, "u1", "U 1"),
        ("g-00", 2, "u2", "U 2"),
    }  # listed groups only
    counts = {row["id"]: row["member_count"] for row in rows_of(batches, "groups") if row["member_count"] is not None}
    assert counts == {"g-00": 2, "g-01": 1, "g-02": 0, "g-03": 0}
    assert any("come from Egnyte's users listing" in text for text in syncs.log.texts("info"))

    await syncs.sync(NOW + 4 * HOUR, roster({1: ["g-01"], 2: ["g-00"]}))
    assert tenant.detailed == []
    assert syncs.deleted == [("group_members", {"group_id": "g-00", "user_id": 1})]
    incomplete = Roster(keep_groups=True)  # a users scan resumed from an earlier sync: members from the groups
    incomplete.add([{"id": 1, "userName": "u1", "groups": [{"value": "g-00"}]}])
    await syncs.sync(NOW + 8 * HOUR, incomplete)
    assert tenant.detailed != []


def test_the_setting_defaults_to_a_day():
    assert Settings(domain="a", base_url=BASE).membership_refresh_hours == 24
