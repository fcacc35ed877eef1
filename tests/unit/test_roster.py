"""What the users scan keeps for the fan-outs: whom to act as and whether they can have changed, and each group's
members when the users listing carries them; complete only for a scan read whole in this sync."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from egnyte_async.streams.roster import Roster


def person(number: int, **fields) -> dict:
    return {"id": 1000 + number, "userName": f"u{number}", "email": f"u{number}@acme.com", **fields}


def test_each_user_counts_once_with_whom_to_act_as_and_when_last_active():
    roster = Roster(keep_users=True)
    roster.begin()
    roster.add(
        [
            person(1, lastActiveDate="2026-11-27T10:00:00.000+0000"),
            person(2, userName="zoë", email="zoe@acme.com", lastActiveDate=None),
            person(3, lastActiveDate="2026-11-27"),
            person(4, active="false", lastActiveDate="soon"),
            "not a user",
        ]
    )
    roster.add([person(1, lastActiveDate="2026-11-27T10:00:00.000+0000")])  # met again on a shifted page
    users = {user.owner: user for user in roster.users}
    assert sorted(users) == [1001, 1002, 1003, 1004]
    assert users[1001].last_active == datetime(2026, 11, 27, 10, tzinfo=timezone.utc) and not users[1001].never_active
    assert users[1002].act_as == "zoe@acme.com" and users[1002].never_active and users[1002].last_active is None
    assert users[1003].last_active == datetime(2026, 11, 27, tzinfo=timezone.utc) + timedelta(days=1)  # day's end
    assert users[1004].deactivated and users[1004].last_active is None and not users[1004].never_active
    assert not roster.complete
    roster.finish()
    assert roster.complete


def test_a_scan_resumed_from_an_earlier_sync_never_makes_a_complete_roster():
    roster = Roster(keep_users=True)
    roster.add([person(1)])
    roster.finish()
    assert not roster.complete


def test_members_as_the_users_carry_them_only_when_asked_and_only_usable_ids():
    roster = Roster(keep_groups=True)
    roster.begin()
    roster.add(
        [
            person(1, name={"formatted": "One"}, groups=[{"value": "g-1", "displayName": "G1"}, {"value": "g-2"}]),
            person(2, groups=[{"value": "g-1"}, {"value": ""}, {"displayName": "no id"}, "junk"]),
            person(3),
        ]
    )
    roster.finish()
    assert roster.carries_groups and roster.users == []  # users are kept only for the bookmarks
    assert roster.member_records("g-1") == [
        {"username": "u1", "value": 1001, "display": "One"},
        {"username": "u2", "value": 1002, "display": None},
    ]
    assert roster.member_records("g-2") == [{"username": "u1", "value": 1001, "display": "One"}]
    assert roster.member_records("g-3") == []
    plain = Roster(keep_groups=True)
    plain.begin()
    plain.add([person(1)])
    assert not plain.carries_groups
