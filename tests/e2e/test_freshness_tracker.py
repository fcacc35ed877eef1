"""The freshness simulator's bookkeeping: a change arrives when the destination shows its value or a later one of the
same row, a soft-deleted row counts as absent, and percentiles are nearest-rank."""

from __future__ import annotations

from freshness import Tracker, percentile
from harness import DELETED


def test_a_change_arrives_with_its_own_value_or_a_later_one_and_a_soft_delete_is_an_absence():
    tracker = Tracker()
    key = ("users", (7,))
    tracker.add("rename", 100.0, [("users", (7,), {"id": 7, "name": "B"})])
    tracker.add("rename", 200.0, [("users", (7,), {"id": 7, "name": "C"})])
    tracker.add("deleted", 300.0, [("bookmarks", (9,), None)])
    tracker.observe({key: {"id": 7, "name": "A"}, ("bookmarks", (9,)): {"id": 9}}, 250.0)
    assert [change.arrived for change in tracker.changes] == [None, None, None]
    tracker.observe({key: {"id": 7, "name": "B"}, ("bookmarks", (9,)): {"id": 9, DELETED: True}}, 400.0)
    assert [change.arrived for change in tracker.changes] == [400.0, None, 400.0]
    tracker.observe({key: {"id": 7, "name": "C"}}, 500.0)
    assert [change.arrived for change in tracker.changes] == [400.0, 500.0, 400.0]
    assert tracker.pending == {}


def test_a_later_value_settles_every_earlier_change_of_the_row():
    tracker = Tracker()
    tracker.add("a", 1.0, [("notes", ("n",), {"v": 1})])
    tracker.add("b", 2.0, [("notes", ("n",), {"v": 2})])
    tracker.observe({("notes", ("n",)): {"v": 2}}, 10.0)
    assert [change.arrived for change in tracker.changes] == [10.0, 10.0]


def test_percentile_is_nearest_rank():
    assert percentile([], 0.95) is None
    assert percentile([5.0], 0.95) == 5.0
    assert percentile([float(n) for n in range(1, 101)], 0.95) == 95.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
