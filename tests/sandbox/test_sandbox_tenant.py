"""Tenant data: deterministic, realistic, ordered as documented, and cheap at any size."""

from __future__ import annotations

import dataclasses
import json
import random
import re

import pytest

from egnyte_sandbox import SandboxConfig, Tenant
from egnyte_sandbox.users import USER_ID_BASE

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def snapshot(tenant: Tenant) -> str:
    users = list(tenant.iter_users())
    groups = [tenant.group_detail(g["id"]) for g in tenant.iter_groups()]
    bookmarks = {u["userName"]: tenant.bookmarks_of(u["userName"]) for u in users}
    return json.dumps([users, groups, list(tenant.iter_notes()), bookmarks], ensure_ascii=False)


def test_same_seed_same_tenant_other_seed_other_tenant() -> None:
    assert snapshot(Tenant(SandboxConfig(seed=3))) == snapshot(Tenant(SandboxConfig(seed=3)))
    assert snapshot(Tenant(SandboxConfig(seed=3))) != snapshot(Tenant(SandboxConfig(seed=4)))


def test_sizes_and_counts() -> None:
    tenant = Tenant(SandboxConfig(users=37, groups=9, notes=123, bookmarks_per_user=3))
    assert (tenant.user_count, tenant.group_count, tenant.note_count) == (37, 9, 123)
    assert len(list(tenant.iter_users())) == 37
    assert len(list(tenant.iter_groups())) == 9
    assert len(list(tenant.iter_notes())) == 123
    per_user = [len(tenant.bookmarks_of(u["userName"])) for u in tenant.iter_users()]
    assert sum(per_user) == tenant.bookmark_count
    assert 0 in per_user and max(per_user) <= 6


def test_users_are_ordered_by_increasing_numeric_id_and_unique() -> None:
    users = list(Tenant(SandboxConfig(users=300)).iter_users())
    ids = [u["id"] for u in users]
    assert all(isinstance(i, int) and i > USER_ID_BASE for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert len({u["userName"] for u in users}) == 300
    assert len({u["email"] for u in users}) == 300


def test_admin_is_the_first_user() -> None:
    tenant = Tenant(SandboxConfig(admin_username="boss"))
    first = next(tenant.iter_users())
    assert first["userName"] == "boss" and first["userType"] == "admin" and first["active"]
    assert tenant.is_admin("boss")


def test_user_values_are_realistic_and_awkward() -> None:
    users = list(Tenant(SandboxConfig(users=2000)).iter_users())
    assert any(not u["userName"].isascii() for u in users) is False  # logins are ASCII ...
    assert any(not u["name"]["formatted"].isascii() for u in users)  # ... names are not
    assert any("familyName" not in u["name"] for u in users)
    assert any(u["expiryDate"] is None for u in users) and any(u["expiryDate"] for u in users)
    assert any(u["lastActiveDate"] is None for u in users)
    assert {u["userType"] for u in users} == {"admin", "power", "standard"}
    assert {u["authType"] for u in users} == {"egnyte", "sso", "ad"}
    assert all(("role" in u) == (u["userType"] == "power") for u in users)
    assert all(("idpUserId" in u) == (u["authType"] == "sso") for u in users)
    years = {u["createdDate"][:4] for u in users}
    assert len(years) >= 6
    for u in users:
        assert u["createdDate"] <= u["lastModificationDate"] <= "2026-11-02"
        assert u["lastActiveDate"] is None or u["createdDate"] <= u["lastActiveDate"]


def test_groups_have_sorted_uuid_ids_unique_names_and_members() -> None:
    tenant = Tenant(SandboxConfig(users=80, groups=40, members_per_group=6))
    groups = list(tenant.iter_groups())
    assert all(UUID.match(g["id"]) for g in groups)
    assert [g["id"] for g in groups] == sorted(g["id"] for g in groups)
    assert len({g["displayName"] for g in groups}) == 40
    usernames = {u["userName"]: u for u in tenant.iter_users()}
    sizes = []
    for group in groups:
        detail = tenant.group_detail(group["id"])
        assert detail["id"] == group["id"] and detail["displayName"] == group["displayName"]
        members = detail["members"]
        sizes.append(len(members))
        assert len({m["username"] for m in members}) == len(members)
        for member in members:
            user = usernames[member["username"]]
            assert member["value"] == user["id"] and member["display"] == user["name"]["formatted"]
    assert 0 in sizes and sum(sizes) == 40 * 6


def test_unknown_group_raises_key_error() -> None:
    with pytest.raises(KeyError):
        Tenant().group_detail("00000000-0000-4000-8000-000000000000")


def test_notes_span_three_years_with_a_recent_share_in_creation_order() -> None:
    tenant = Tenant(SandboxConfig(notes=1000))
    notes = list(tenant.iter_notes())
    times = [n["creation_time"] for n in notes]
    assert times == sorted(times)
    assert len({n["id"] for n in notes}) == 1000 and all(UUID.match(n["id"]) for n in notes)
    assert times[0] < "2023-12-01" and times[-1] < "2026-11-01"
    recent = sum(t >= "2026-08-03" for t in times)
    assert 250 <= recent <= 350
    assert any(not n["message"].isascii() for n in notes)
    assert len({n["file_path"] for n in notes}) < 1000  # several notes per file
    by_file: dict[str, set[str]] = {}
    for note in notes:
        by_file.setdefault(note["file_path"], set()).add(note["group_id"])
    assert all(len(ids) == 1 for ids in by_file.values())


def test_bookmarks_are_sorted_by_id_and_unique_across_users() -> None:
    tenant = Tenant(SandboxConfig(users=100, bookmarks_per_user=4))
    seen: set[int] = set()
    for user in tenant.iter_users():
        marks = tenant.bookmarks_of(user["userName"])
        ids = [b["id"] for b in marks]
        assert ids == sorted(ids)
        assert not seen & set(ids)
        seen |= set(ids)
        assert all(set(b) == {"id", "path", "folder_id", "creation_date"} for b in marks)
    assert len(seen) == tenant.bookmark_count
    assert 380 <= tenant.bookmark_count <= 420  # a mean of 4 per user


def test_lookups_by_username_email_and_external_id() -> None:
    tenant = Tenant(SandboxConfig(users=60))
    for user in list(tenant.iter_users())[::7]:
        entry = tenant.users.find(user["userName"])
        assert entry is not None and tenant.users.record(entry[0]) == user
        assert tenant.users.find_by("email", user["email"]) == entry
        assert tenant.users.find_by("externalid", user["externalId"]) == entry
    assert tenant.find_user("nobody123") is None
    assert tenant.users.find_by("email", "nobody@x.com") is None


def test_mutations_land_in_the_middle_and_keep_order() -> None:
    tenant = Tenant(SandboxConfig(users=20, groups=10, notes=30))
    before = [u["id"] for u in tenant.iter_users()]
    added = tenant.add_user(10)
    assert added is not None
    after = [u["id"] for u in tenant.iter_users()]
    assert after.index(added["id"]) == 10 and after == sorted(after)
    removed = tenant.remove_user(3)
    assert removed["id"] == before[3] and tenant.user_count == 20
    assert tenant.find_user(removed["userName"]) is None
    group = tenant.add_group(4)
    assert group is not None and [g["id"] for g in tenant.iter_groups()].index(group["id"]) == 4
    note = tenant.add_note(15)
    assert note is not None and [n["id"] for n in tenant.iter_notes()].index(note["id"]) == 15
    times = [n["creation_time"] for n in tenant.iter_notes()]
    assert times == sorted(times)
    with pytest.raises(ValueError):
        tenant.remove_user(0)


def test_bookmark_total_follows_user_and_bookmark_mutations() -> None:
    tenant = Tenant(SandboxConfig(users=30, bookmarks_per_user=2))
    name = list(tenant.iter_users())[5]["userName"]
    own = tenant.bookmark_count_of(name)
    total = tenant.bookmark_count
    mark = tenant.add_bookmark(name, 0)
    assert mark is not None and tenant.bookmarks_of(name)[0] == mark
    assert tenant.bookmark_count == total + 1
    tenant.remove_user(5)
    assert tenant.bookmark_count == total - own
    rng = random.Random(1)
    tenant.churn("users", 40, rng)
    assert tenant.bookmark_count == sum(len(tenant.bookmarks_of(u["userName"])) for u in tenant.iter_users())


def test_a_million_user_tenant_serves_its_last_page_correctly() -> None:
    config = SandboxConfig(users=1_000_000, notes=1_000_000, groups=100_000)
    tenant = Tenant(config)
    assert tenant.user_count == 1_000_000
    last = tenant.users_page(999_900, 100)
    assert len(last) == 100
    assert last[-1]["id"] == tenant.users.ordinal(999_999)
    assert [u["id"] for u in last] == sorted(u["id"] for u in last)
    assert tenant.users_page(1_000_000, 100) == []
    assert tenant.users_page(999_950, 100) == last[50:]
    assert tenant.find_user(last[-1]["userName"]) == last[-1]
    notes = tenant.notes.page(0, tenant.note_count, 999_900, 100, False)
    assert len(notes) == 100 and notes[-1]["creation_time"] < "2026-11-01"
    assert len(tenant.groups_page(99_990, 100)) == 10
    assert tenant.bookmark_count == 2_000_000
    assert tenant.add_user(999_999) is not None
    assert tenant.users_page(999_999, 100)[1]["id"] == last[-1]["id"]


def test_config_rejects_unknown_switch_values() -> None:
    with pytest.raises(ValueError):
        SandboxConfig(date_format="julian")
    with pytest.raises(ValueError):
        SandboxConfig(users=0)
    with pytest.raises(ValueError):
        dataclasses.replace(SandboxConfig(), throttle_style="503")


def test_a_member_taken_out_of_a_group_leaves_only_that_group_and_can_come_back():
    tenant = Tenant(SandboxConfig(users=40, groups=6, members_per_group=6))
    first, second = [group["id"] for group in tenant.iter_groups() if tenant.group_members(group["id"])][:2]
    member = tenant.group_members(first)[0].ordinal
    others = {ident.ordinal for ident in tenant.group_members(second)}
    tenant.remove_member(first, member)
    assert member not in {ident.ordinal for ident in tenant.group_members(first)}
    assert member not in {m["value"] for m in tenant.group_detail(first)["members"]}
    assert {ident.ordinal for ident in tenant.group_members(second)} == others
    assert tenant.find_user(next(u["userName"] for u in tenant.iter_users() if u["id"] == member)) is not None
    with pytest.raises(KeyError):
        tenant.remove_member(first, member)  # no longer a member
    tenant.restore_member(first, member)
    assert member in {ident.ordinal for ident in tenant.group_members(first)}
