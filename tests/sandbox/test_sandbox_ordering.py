"""The ordered index against a plain sorted list: every position, after any sequence of edits."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from egnyte_sandbox.ordering import OrderedIndex


def make(size: int) -> OrderedIndex:
    return OrderedIndex(size, lambda i: 100 + i * 10, floor=0, ceiling=100 + (size + 5) * 10)


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(0, 40),
    edits=st.lists(st.tuples(st.booleans(), st.integers(0, 10_000)), max_size=60),
    seed=st.integers(0, 1000),
)
def test_matches_a_sorted_list_model(size: int, edits: list[tuple[bool, int]], seed: int) -> None:
    index = make(size)
    model = [100 + i * 10 for i in range(size)]
    rng = random.Random(seed)
    for remove, where in edits:
        if remove and model:
            position = where % len(model)
            assert index.remove_at(position)[0] == model.pop(position)
        else:
            position = where % (len(model) + 1)
            value = index.insert_at(position, rng)
            if value is not None:
                model.insert(position, value)
        assert len(index) == len(model)
    assert model == sorted(model)
    assert [value for value, _ in index] == model
    for start in range(len(model) + 1):
        assert [v for v, _ in index.slice(start, start + 3)] == model[start : start + 3]
    for probe in (0, 95, 100, 105, 150, 10_000):
        assert index.rank(probe) == sum(1 for v in model if v < probe)
    for value in model:
        assert index.contains(value) is not None


def test_base_entries_carry_their_index_and_inserts_none() -> None:
    index = make(5)
    value = index.insert_at(2, random.Random(1))
    assert value is not None and 110 < value < 120
    assert index.slice(0, 6) == [(100, 0), (110, 1), (value, None), (120, 2), (130, 3), (140, 4)]


def test_removed_base_ordinal_is_never_reused() -> None:
    index = OrderedIndex(3, lambda i: 10 + i * 2, floor=0, ceiling=100)
    index.remove_at(1)  # ordinal 12 gone; 11 and 13 remain free between 10 and 14
    rng = random.Random(3)
    inserted = {index.insert_at(1, rng) for _ in range(2)}
    assert 12 not in inserted


def test_insert_reports_a_full_gap() -> None:
    index = OrderedIndex(2, lambda i: 10 + i, floor=0, ceiling=100)
    assert index.insert_at(1, random.Random(0)) is None
    assert len(index) == 2


def test_insertions_before_every_base_record() -> None:
    index = OrderedIndex(3, lambda i: 1000 + i, floor=0, ceiling=2000)
    rng = random.Random(5)
    for _ in range(10):
        assert index.insert_at(0, rng) is not None
    values = [v for v, _ in index]
    assert values == sorted(values) and len(values) == 13
    assert index.slice(9, 13) == [(values[9], None), (1000, 0), (1001, 1), (1002, 2)]


def test_an_added_record_removed_again_never_gives_its_id_to_a_new_one():
    index = OrderedIndex(0, lambda i: i, floor=0, ceiling=2)  # room for the ordinal 1 only
    rng = random.Random(1)
    assert index.insert_at(0, rng) == 1
    index.remove_at(0)
    assert index.insert_at(0, rng) is None  # the freed ordinal is retired, not reused
