"""The ledger that finds deletions: children diffed as each scope is read, scopes not met by a complete scan gone."""

from __future__ import annotations

import json
import threading

import pytest

from egnyte_async.ledger import Ledger, ledgers_from_state
from egnyte_async.streams.bookmarks import LEDGER as BOOKMARKS
from egnyte_async.streams.groups import LEDGER as GROUPS
from egnyte_async.streams.users import LEDGER as USERS
from tests.logs import RecordingLog


def test_a_member_no_longer_listed_is_deleted_as_soon_as_the_group_is_read():
    ledger = Ledger(GROUPS)
    assert ledger.refresh("g1", frozenset({1, 2, 3})) == []  # first time: nothing to compare with
    assert ledger.refresh("g1", frozenset({1, 3, 4})) == [("group_members", {"group_id": "g1", "user_id": 2})]


def test_a_group_not_met_by_a_complete_scan_is_deleted_with_its_members():
    ledger = Ledger(GROUPS)
    ledger.refresh("g1", frozenset({1}))
    ledger.refresh("g2", frozenset({5, 6}))
    ledger.complete()
    ledger.refresh("g1", frozenset({1}))
    assert ledger.complete() == [
        ("groups", {"id": "g2"}),
        ("group_members", {"group_id": "g2", "user_id": 5}),
        ("group_members", {"group_id": "g2", "user_id": 6}),
    ]
    # A complete scan that meets nothing means Egnyte holds nothing: g1 goes too.
    assert ledger.complete() == [("groups", {"id": "g1"}), ("group_members", {"group_id": "g1", "user_id": 1})]


def test_a_scope_kept_without_being_read_keeps_everything_it_held():
    ledger = Ledger(BOOKMARKS)
    ledger.refresh(7, frozenset({70, 71}))
    ledger.complete()
    ledger.keep(7)  # a deactivated user: Egnyte will not list their bookmarks
    assert ledger.complete() == []
    assert ledger.known[7] == frozenset({70, 71})


def test_a_users_bookmarks_go_when_the_user_does():
    ledger = Ledger(BOOKMARKS)
    ledger.refresh(7, frozenset({70, 71}))
    ledger.refresh(8, frozenset())
    ledger.complete()
    ledger.refresh(8, frozenset())
    assert ledger.complete() == [("bookmarks", {"id": 70}), ("bookmarks", {"id": 71})]  # no row of their own


def test_users_are_scopes_without_children():
    ledger = Ledger(USERS)
    for user in (1, 2, 3):
        ledger.refresh(user)
    ledger.complete()
    ledger.refresh(1)
    ledger.refresh(3)
    assert ledger.complete() == [("users", {"id": 2})]


def test_nothing_is_deleted_before_a_scan_completes_and_a_resumed_scan_remembers_what_it_met():
    ledger = Ledger(USERS)
    for user in range(10):
        ledger.refresh(user)
    ledger.complete()
    for user in range(5):  # a scan stopped halfway by the quota: saved, then read back by the next sync
        ledger.refresh(user)
    resumed = Ledger.from_state(USERS, json.loads(json.dumps(ledger.to_state())), "users", RecordingLog())
    assert resumed.met == set(range(5)) and set(resumed.known) == set(range(10))
    for user in range(5, 9):
        resumed.refresh(user)
    assert resumed.complete() == [("users", {"id": 9})]


def test_the_saved_ledger_is_compact_text_and_round_trips():
    ledger = Ledger(GROUPS)
    for number in range(50):
        ledger.refresh(f"00000000-0000-4000-8000-{number:012d}", frozenset(range(number, number + 20)))
    ledger.complete()
    ledger.refresh("00000000-0000-4000-8000-000000000003", frozenset({3}))
    saved = json.loads(json.dumps(ledger.to_state()))
    texts = [saved["scopes"], saved["met"], *saved["added"], *saved["children"]]
    assert all(isinstance(text, str) and text.isascii() for text in texts)
    back = Ledger.from_state(GROUPS, saved, "groups", RecordingLog())
    assert back.known == ledger.known and back.met == ledger.met


@pytest.mark.parametrize("garbage", [[1, 2], "x", {"known": "m1:###", "met": ""}, {"known": 3}])
def test_an_unreadable_ledger_is_reported_and_starts_afresh(garbage):
    log = RecordingLog()
    ledger = Ledger.from_state(GROUPS, garbage, "groups", log)
    assert ledger.known == {} and ledger.met == set()
    (warning,) = log.texts("warning")
    assert warning.startswith("groups: the saved 'ledger' is unreadable") and "next full scan" in warning


def test_a_ledgers_part_that_is_no_object_is_reported():
    log = RecordingLog()
    assert set(ledgers_from_state({"users": USERS}, [1], log)) == {"users"}
    assert log.texts("warning") and log.texts("warning")[0].startswith("state: the saved 'ledgers' is unreadable")


def test_a_checkpoint_writes_only_what_changed_since_the_one_before_and_reads_back_whole():
    ledger = Ledger(BOOKMARKS)
    ledger.refresh(1, frozenset({10, 11}))
    first = ledger.to_state()
    ledger.refresh(2, frozenset({20}))
    ledger.refresh(1, frozenset({10}))  # a bookmark of user 1 gone: a later chunk says so
    second = ledger.to_state()
    assert second["added"][0] == first["added"][0] and len(second["added"]) == 2
    assert second["children"][0] == first["children"][0] and len(second["children"]) == 2
    back = Ledger.from_state(BOOKMARKS, json.loads(json.dumps(second)), "bookmarks", RecordingLog())
    assert back.known == {1: frozenset({10}), 2: frozenset({20})} and back.met == {1, 2}
    back.complete()
    assert Ledger.from_state(BOOKMARKS, back.to_state(), "bookmarks", RecordingLog()).known == back.known


def test_many_checkpoints_fold_their_chunks_into_one_now_and_then():
    ledger = Ledger(BOOKMARKS)
    for user in range(120):
        ledger.refresh(user, frozenset({user * 10}))
        saved = ledger.to_state()
    assert len(saved["children"]) <= 50
    back = Ledger.from_state(BOOKMARKS, json.loads(json.dumps(saved)), "bookmarks", RecordingLog())
    assert back.known == ledger.known


def test_knows_the_scopes_of_the_last_complete_scan_and_those_met_since():
    ledger = Ledger(BOOKMARKS)
    assert not ledger.knows(7)
    ledger.refresh(7, frozenset({70}))
    ledger.keep(8)
    assert ledger.knows(7) and ledger.knows(8) and not ledger.knows(9)
    ledger.keep(9)  # appended after the last question: the index catches up
    assert ledger.knows(9)
    ledger.complete()
    assert ledger.knows(7) and ledger.knows(8) and ledger.knows(9) and not ledger.knows(10)
    ledger.refresh(10, frozenset())
    assert ledger.knows(10)
    ledger.refresh(7, frozenset())
    ledger.complete()  # 8 and 9 were not met: gone, and no longer known
    assert ledger.knows(7) and ledger.knows(10) and not ledger.knows(8) and not ledger.knows(9)
    resumed = Ledger.from_state(BOOKMARKS, json.loads(json.dumps(ledger.to_state())), "bookmarks", RecordingLog())
    resumed.keep(11)
    assert resumed.knows(7) and resumed.knows(11) and not resumed.knows(8)
    with pytest.raises(TypeError):
        resumed.knows("7")


def test_knows_answers_while_another_thread_writes():
    """The drain thread writes while the event loop asks: every scope once met stays known until a complete scan
    that did not meet it, whatever the interleaving."""
    ledger = Ledger(BOOKMARKS, scopes=range(0, 20_000, 2))
    done = threading.Event()

    def drain() -> None:
        for scope in range(1, 20_000, 2):
            ledger.keep(scope)
        done.set()

    writer = threading.Thread(target=drain)
    writer.start()
    while not done.is_set():
        assert ledger.knows(0) and ledger.knows(19_998)
    writer.join()
    assert all(ledger.knows(scope) for scope in range(20_000))


def test_a_user_gone_from_the_tenant_leaves_every_group_at_once():
    groups = Ledger(GROUPS)
    groups.refresh("g1", frozenset({1, 2}))
    groups.refresh("g2", frozenset({2}))
    assert groups.drop_child({2, 9}) == [
        ("group_members", {"group_id": "g1", "user_id": 2}),
        ("group_members", {"group_id": "g2", "user_id": 2}),
    ]
    assert groups.known == {"g1": frozenset({1}), "g2": frozenset()}
    back = Ledger.from_state(GROUPS, json.loads(json.dumps(groups.to_state())), "groups", RecordingLog())
    assert back.known == groups.known


def test_only_the_users_a_scan_met_keep_their_bookmarks_whatever_was_met_before():
    ledger = Ledger(BOOKMARKS)
    ledger.refresh(7, frozenset({70, 71}))
    ledger.refresh(8, frozenset({80}))
    ledger.complete()
    ledger.refresh(9, frozenset({90}))  # met since, then gone too
    ledger.refresh(7, frozenset({70, 71}))  # met since: that no longer counts
    deleted = ledger.retain(frozenset({8}))
    assert sorted(keys["id"] for _, keys in deleted) == [70, 71, 90]
    assert sorted(ledger.gone) == [7, 9]
    assert ledger.known == {8: frozenset({80})}
    again = Ledger.from_state(BOOKMARKS, json.loads(json.dumps(ledger.to_state())), "bookmarks", RecordingLog())
    assert again.known == {8: frozenset({80})}


def test_a_group_found_gone_by_its_own_read_is_deleted_at_once_and_not_again_by_the_scan():
    ledger = Ledger(GROUPS)
    ledger.refresh("g1", frozenset({1, 2}))
    ledger.refresh("g2", frozenset({3}))
    ledger.complete()
    ledger.keep("g1")
    ledger.keep("g2")
    assert ledger.forget("g2") == [("groups", {"id": "g2"}), ("group_members", {"group_id": "g2", "user_id": 3})]
    assert ledger.forget("g9") == []  # never known: nothing to delete
    assert ledger.complete() == []  # g2 is gone already
    assert ledger.gone == ["g2"] and ledger.known == {"g1": frozenset({1, 2})}


def test_members_read_after_the_listing_do_not_count_as_met_by_the_next_one():
    ledger = Ledger(GROUPS)
    ledger.keep("g1")
    ledger.keep("g2")
    ledger.complete()
    ledger.refresh("g2", frozenset({5}), meets=False)  # the detail call, after the listing completed
    ledger.keep("g1")  # the next listing meets g1 only
    assert ledger.complete() == [("groups", {"id": "g2"}), ("group_members", {"group_id": "g2", "user_id": 5})]
    assert ledger.children_of("g1") == frozenset() and ledger.children_of("g2") == frozenset()
