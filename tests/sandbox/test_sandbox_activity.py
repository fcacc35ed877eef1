"""Users' activity: `lastActiveDate` moves when a test touches a user or a user's bookmarks are edited, in the API's
rendering and in the tenant's canonical records alike."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from egnyte_sandbox import SandboxConfig, Tenant
from egnyte_sandbox.dates import to_ms

LATER = datetime(2026, 11, 3, 15, 30, 12, 345000, tzinfo=timezone.utc)


def user_named(tenant: Tenant, username: str, canonical: bool = False) -> dict:
    users = tenant.canonical_users() if canonical else tenant.iter_users()
    return next(user for user in users if user["userName"] == username)


def test_a_touched_user_says_when_they_were_last_active_and_no_one_else_moves():
    tenant = Tenant(SandboxConfig(users=40))
    before = {user["id"]: user for user in tenant.canonical_users()}
    target = list(before.values())[7]["userName"]
    tenant.touch_user(target, to_ms(LATER))
    after = {user["id"]: user for user in tenant.canonical_users()}
    changed = [user_id for user_id in before if before[user_id] != after[user_id]]
    assert len(changed) == 1
    assert after[changed[0]]["lastActiveDate"] == to_ms(LATER)
    assert user_named(tenant, target)["lastActiveDate"] == "2026-11-03T15:30:12.345+0000"  # the API's rendering
    tenant.touch_user(target, to_ms(LATER - timedelta(days=1)))  # activity never moves back
    assert user_named(tenant, target, canonical=True)["lastActiveDate"] == to_ms(LATER)
    with pytest.raises(KeyError):
        tenant.touch_user("nobody")


@pytest.mark.parametrize("date_format", ["date", "rfc1123", "epoch_ms", "z"])
def test_the_touch_is_rendered_in_the_configured_date_format(date_format):
    tenant = Tenant(SandboxConfig(users=5, date_format=date_format))
    username = list(tenant.iter_users())[2]["userName"]
    tenant.touch_user(username, to_ms(LATER))
    served = user_named(tenant, username)["lastActiveDate"]
    assert served == tenant.render.exact(to_ms(LATER))
    assert user_named(tenant, username, canonical=True)["lastActiveDate"] == to_ms(LATER)


def test_editing_bookmarks_touches_their_owner_at_the_wall_clock():
    clock = [LATER]
    tenant = Tenant(SandboxConfig(users=30, bookmarks_per_user=3, wall_clock=lambda: clock[0]))
    owners = [u["userName"] for u in tenant.iter_users() if tenant.bookmark_count_of(u["userName"])][:3]
    tenant.remove_bookmark(owners[0], 0)
    clock[0] = LATER + timedelta(hours=1)
    tenant.add_bookmark(owners[1])
    clock[0] = LATER + timedelta(hours=2)
    tenant.churn("bookmarks", 2, random.Random(1), owners[2])
    active = [user_named(tenant, name, canonical=True)["lastActiveDate"] for name in owners]
    assert active == [to_ms(LATER + timedelta(hours=hours)) for hours in (0, 1, 2)]
    others = [u for u in tenant.canonical_users() if u["userName"] not in owners]
    assert all(u["lastActiveDate"] is None or u["lastActiveDate"] <= tenant.anchor_ms + 86_400_000 for u in others)


def test_a_tenant_without_user_dates_serves_none_even_for_a_touched_user():
    tenant = Tenant(SandboxConfig(users=5, optional_user_dates=False))
    username = list(tenant.iter_users())[1]["userName"]
    tenant.touch_user(username, to_ms(LATER))
    assert "lastActiveDate" not in user_named(tenant, username)
    assert "lastActiveDate" not in user_named(tenant, username, canonical=True)


def test_a_removed_user_takes_their_activity_with_them():
    tenant = Tenant(SandboxConfig(users=10))
    user = list(tenant.iter_users())[4]
    tenant.touch_user(user["userName"], to_ms(LATER))
    tenant.remove_user(4)
    assert not tenant.users._active_at


def test_a_renamed_user_shows_the_new_name_everywhere_and_was_modified_then():
    tenant = Tenant(SandboxConfig(users=40, groups=4, members_per_group=20))
    group = next(group for group in tenant.iter_groups() if tenant.group_members(group["id"]))
    member = tenant.group_members(group["id"])[0]
    before = {user["id"]: user for user in tenant.canonical_users()}
    listed = tenant.rename_user(member.username, "Zed", "Quux")
    after = {user["id"]: user for user in tenant.canonical_users()}
    assert [user_id for user_id in before if before[user_id] != after[user_id]] == [member.ordinal]
    renamed = after[member.ordinal]
    assert renamed["name"] == {"formatted": "Zed Quux", "givenName": "Zed", "familyName": "Quux"}
    assert renamed["userName"] == member.username  # the login stays
    assert renamed["lastModificationDate"] == to_ms(tenant.config.wall_clock())
    assert listed["name"]["formatted"] == "Zed Quux" and listed["lastModificationDate"].startswith("2026-11-01")
    assert next(m for m in tenant.group_members(group["id"]) if m.ordinal == member.ordinal).formatted == "Zed Quux"
    with pytest.raises(KeyError):
        tenant.rename_user("nobody", "A")
