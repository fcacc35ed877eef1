"""The current order of one resource: generated base records, minus removals, plus insertions.

Each record is identified by an integer *ordinal* that fixes its place in the listing (a user id, a group id's
leading bits, a note's creation time...). Base record i has ordinal `ordinal(i)`, strictly increasing in i and
computed on demand, so a tenant of any size costs nothing until it is read. Mutations are kept as two small
sorted lists (removed base indices, inserted ordinals); every lookup is a binary search over the base indices
combined with bisect on those lists, so a page anywhere in the listing costs O(log² N + page + nearby edits).
"""

from __future__ import annotations

import random
from bisect import bisect_left, insort
from collections.abc import Callable, Iterator

Entry = tuple[int, "int | None"]
"""(ordinal, base index or None for an inserted record)."""


class OrderedIndex:
    """Positions (0-based, in listing order) to ordinals, with removals and insertions anywhere."""

    def __init__(self, size: int, ordinal: Callable[[int], int], floor: int, ceiling: int) -> None:
        """`floor` and `ceiling` bound (exclusively) the ordinals that insertions may use."""
        self.size = size
        self.ordinal = ordinal
        self.floor = floor
        self.ceiling = ceiling
        self._removed: list[int] = []
        self._added: list[int] = []
        self._added_set: set[int] = set()
        #: Added records removed since: their ordinals are never handed out again (Egnyte never reuses an id).
        self._retired: set[int] = set()

    def __len__(self) -> int:
        return self.size - len(self._removed) + len(self._added)

    @property
    def edited(self) -> bool:
        """Whether any record was added or removed (the common unedited case takes shortcuts)."""
        return bool(self._removed or self._added)

    def base_below(self, value: int) -> int:
        """How many base records have an ordinal below `value` (removed ones included)."""
        lo, hi = 0, self.size
        ordinal = self.ordinal
        while lo < hi:
            mid = (lo + hi) // 2
            if ordinal(mid) < value:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def base_index_of(self, value: int) -> int | None:
        """The base index whose ordinal is `value`, whether or not it was removed since."""
        i = self.base_below(value)
        return i if i < self.size and self.ordinal(i) == value else None

    def rank(self, value: int) -> int:
        """How many current records have an ordinal below `value`."""
        base = self.base_below(value)
        return base - bisect_left(self._removed, base) + bisect_left(self._added, value)

    def is_removed(self, i: int) -> bool:
        """Whether base record i was removed."""
        r = bisect_left(self._removed, i)
        return r < len(self._removed) and self._removed[r] == i

    def base_entry(self, i: int) -> Entry | None:
        """The entry of base record i unless it was removed (no search needed when the index is known)."""
        return None if self.is_removed(i) else (self.ordinal(i), i)

    def contains(self, value: int) -> Entry | None:
        """The entry for `value` if a current record has that ordinal."""
        if value in self._added_set:
            return (value, None)
        i = self.base_index_of(value)
        if i is None or self.is_removed(i):
            return None
        return (value, i)

    def _before(self, i: int) -> int:
        """Current records that sort before base index i (i may equal size: everything)."""
        if i >= self.size:
            return len(self)
        return i - bisect_left(self._removed, i) + bisect_left(self._added, self.ordinal(i))

    def _walk(self, position: int) -> Iterator[Entry]:
        """Yield current entries in order, starting at `position`."""
        size, ordinal, removed, added = self.size, self.ordinal, self._removed, self._added
        # Largest base index i whose preceding-record count does not pass `position`; -1 stands for the very
        # start, needed when insertions precede every base record.
        lo, hi = -1, size
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._before(mid) <= position:
                lo = mid
            else:
                hi = mid - 1
        if lo < 0:
            i, a, before = 0, 0, 0
        else:
            i, before = lo, self._before(lo)
            a = bisect_left(added, ordinal(i)) if i < size else len(added)
        skip = position - before  # bounded by the edits in one gap between neighbouring base records
        r = bisect_left(removed, i)
        n_removed, n_added = len(removed), len(added)
        while True:
            while i < size and r < n_removed and removed[r] == i:
                i += 1
                r += 1
            base = ordinal(i) if i < size else None
            if a < n_added and (base is None or added[a] < base):
                entry: Entry = (added[a], None)
                a += 1
            elif base is not None:
                entry = (base, i)
                i += 1
            else:
                return
            if skip:
                skip -= 1
            else:
                yield entry

    def slice(self, start: int, stop: int) -> list[Entry]:
        """Entries at positions [start, stop), clipped to the current length."""
        stop = min(stop, len(self))
        if start >= stop:
            return []
        if not self.edited:
            ordinal = self.ordinal
            return [(ordinal(i), i) for i in range(start, stop)]
        out: list[Entry] = []
        want = stop - start
        for entry in self._walk(start):
            out.append(entry)
            if len(out) == want:
                break
        return out

    def at(self, position: int) -> Entry:
        """The entry at `position`; IndexError outside the current length."""
        if not 0 <= position < len(self):
            raise IndexError(position)
        return self.slice(position, position + 1)[0]

    def __iter__(self) -> Iterator[Entry]:
        if not len(self):
            return iter(())
        return self._walk(0)

    def remove_at(self, position: int) -> Entry:
        """Remove and return the entry at `position`."""
        entry = self.at(position)
        value, base = entry
        if base is None:
            self._added.pop(bisect_left(self._added, value))
            self._added_set.discard(value)
            self._retired.add(value)
        else:
            insort(self._removed, base)
        return entry

    def insert_at(self, position: int, rng: random.Random) -> int | None:
        """Insert a new record so that it lands at `position`; return its ordinal, or None if no ordinal fits there.

        The new ordinal is drawn between the neighbours' ordinals and never reuses one a record had, base or added,
        so a removed record never comes back under the same id.
        """
        position = max(0, min(position, len(self)))
        low = self.at(position - 1)[0] if position else self.floor
        high = self.at(position)[0] if position < len(self) else self.ceiling
        for _ in range(8):
            if high - low < 2:
                return None
            value = rng.randrange(low + 1, high)
            if value not in self._added_set and value not in self._retired and self.base_index_of(value) is None:
                insort(self._added, value)
                self._added_set.add(value)
                return value
        return None
