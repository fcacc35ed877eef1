"""The tenant's canonical values (ids as numbers, instants as epoch milliseconds) are what the API renders."""

from __future__ import annotations

import pytest

from egnyte_sandbox import SandboxConfig, Tenant
from egnyte_sandbox.dates import DATE_FORMATS, MS_PER_DAY

USER_DATES = ("expiryDate", "createdDate", "lastModificationDate", "lastActiveDate")
SIZES = {"users": 300, "groups": 12, "members_per_group": 9, "notes": 400, "bookmarks_per_user": 3}


def tenant(**switches) -> Tenant:
    built = Tenant(SandboxConfig(**SIZES, **switches))
    built.add_user()  # an added user and its bookmarks are generated differently from the base ones
    built.add_bookmark(next(built.iter_users())["userName"])
    built.add_note()
    return built


@pytest.mark.parametrize("fmt", DATE_FORMATS)
@pytest.mark.parametrize("id_type", ["number", "string"])
def test_canonical_users_are_the_served_users_before_rendering(fmt: str, id_type: str) -> None:
    t = tenant(date_format=fmt, user_id_type=id_type)
    served, canonical = list(t.iter_users()), list(t.canonical_users())
    assert len(served) == len(canonical) == t.user_count
    dated = 0
    for user, held in zip(served, canonical, strict=True):
        assert list(held) == list(user)
        assert type(held["id"]) is int and user["id"] == (str(held["id"]) if id_type == "string" else held["id"])
        for field in USER_DATES:
            if held[field] is None:
                assert user[field] is None
            else:
                assert type(held[field]) is int and user[field] == t.render.exact(held[field])
                dated += 1
        others = [field for field in user if field != "id" and field not in USER_DATES]
        assert {f: held[f] for f in others} == {f: user[f] for f in others}
    assert dated > 3 * len(served)


def test_canonical_users_without_optional_dates_have_none() -> None:
    for user in tenant(optional_user_dates=False).canonical_users():
        assert all(field not in user for field in USER_DATES[1:])


@pytest.mark.parametrize("fmt", DATE_FORMATS)
def test_canonical_notes_and_bookmarks_carry_the_instant_the_api_renders(fmt: str) -> None:
    t = tenant(date_format=fmt, notes_file_id=True)
    served, canonical = list(t.iter_notes()), list(t.canonical_notes())
    assert len(served) == len(canonical) == t.note_count
    for note, held in zip(served, canonical, strict=True):
        assert note["creation_time"] == t.render.exact(held["creation_time"])
        assert {**held, "creation_time": None} == {**note, "creation_time": None}
    times = [note["creation_time"] for note in canonical]
    assert times == sorted(times)
    compared = 0
    for user in t.iter_users():
        served = t.bookmarks_of(user["userName"])
        held = t.canonical_bookmarks_of(user["userName"])
        assert len(served) == len(held)
        for bookmark, kept in zip(served, held, strict=True):
            assert type(kept["creation_date"]) is int
            assert bookmark["creation_date"] == t.render.exact(kept["creation_date"])
            assert {**kept, "creation_date": None} == {**bookmark, "creation_date": None}
            compared += 1
    assert compared == t.bookmark_count


@pytest.mark.parametrize("id_type", ["number", "string"])
def test_group_members_are_the_detail_members_before_rendering(id_type: str) -> None:
    t = tenant(user_id_type=id_type)
    t.remove_user(5)  # a removed user drops out of its groups in both views
    counted = 0
    for group in t.iter_groups():
        served = t.group_detail(group["id"])["members"]
        held = t.group_members(group["id"])
        assert [member["value"] for member in served] == [
            str(ident.ordinal) if id_type == "string" else ident.ordinal for ident in held
        ]
        assert [(m["username"], m["display"]) for m in served] == [(i.username, i.formatted) for i in held]
        counted += len(held)
    assert counted > 0
    with pytest.raises(KeyError):
        t.group_members("00000000-0000-4000-8000-000000000000")


@pytest.mark.parametrize("fmt", DATE_FORMATS)
def test_served_ms_is_the_instant_a_rendering_tells(fmt: str) -> None:
    t = Tenant(SandboxConfig(date_format=fmt))
    render = t.render
    step = {"date": MS_PER_DAY, "rfc1123": 1000}.get(fmt, 1)
    for ms in (t.anchor_ms, t.anchor_ms - 1, t.anchor_ms + 12_345_678, t.anchor_ms - 86_399_001):
        served = render.served_ms(ms)
        assert served % step == 0 and 0 <= ms - served < step
        assert render.exact(served) == render.exact(ms)  # the same text ...
        assert render.exact(served - 1) != render.exact(ms)  # ... and the earliest instant with it
