"""How far a sync has come, for the progress lines and the summary: per stream, the rows written, the records of
its listing passed out of the listing's total, the pace and the time left at that pace; and the calls spent.

The records passed come from the scan's own position, so a resumed scan reports where it stands in the whole
listing, not only what this sync did; the pace is measured over this sync alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StreamProgress:
    #: What the stream's listing counts, in a few words ("users", "groups detailed", "users' bookmarks listed").
    unit: str
    #: Rows written this sync, per table.
    rows: dict[str, int] = field(default_factory=dict)
    #: Records of the listing passed (the scan's position) and the listing's total, when known.
    reached: int | None = None
    total: int | None = None
    finished: bool = False
    _first_reached: int | None = None
    _started_at: float | None = None
    _last_at: float | None = None

    def add(self, rows: dict[str, int], reached: int | None, total: int | None, now: float) -> None:
        for table, count in rows.items():
            self.rows[table] = self.rows.get(table, 0) + count
        if self._started_at is None:
            self._started_at = now
        if reached is not None:
            if self._first_reached is None:
                self._first_reached = reached - 1 if reached else 0
            self.reached = reached
            self._last_at = now
        if total is not None:
            self.total = total

    @property
    def row_count(self) -> int:
        return sum(self.rows.values())

    def pace(self) -> float | None:
        """Records of the listing passed per second, over this sync."""
        if self.reached is None or self._first_reached is None or self._started_at is None or self._last_at is None:
            return None
        seconds = self._last_at - self._started_at
        passed = self.reached - self._first_reached
        return passed / seconds if seconds > 0 and passed > 0 else None

    def seconds_left(self) -> float | None:
        pace = self.pace()
        if pace is None or self.total is None or self.reached is None:
            return None
        return max(0, self.total - self.reached) / pace

    def describe(self) -> str:
        rows = ", ".join(f"{count:,} {table}" for table, count in self.rows.items()) or "no rows"
        if self.finished:
            return f"done, {rows}"
        if self.reached is None:
            return rows if self.rows else "starting"
        of = f" of {self.total:,}" if self.total is not None else ""
        share = f" ({100 * min(self.reached, self.total) / self.total:.0f}%)" if self.total else ""
        pace, left = self.pace(), self.seconds_left()
        at = f", {pace:.1f}/s" if pace is not None else ""
        eta = f", about {duration(left)} left" if left is not None else ""
        return f"{self.reached:,}{of} {self.unit}{share}{at}{eta}; {rows}"


def duration(seconds: float) -> str:
    """A span in the largest unit that reads naturally: 45 s, 12 min, 3.5 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
