"""The records a fan-out pass has read so far, saved with every checkpoint without copying them per batch.

A pass (every group due for a detail call, every user whose bookmarks can have changed) may span several syncs
under a tight quota, so the state names the records already read in it, and the next sync reads only the others.
Each batch carries the stream's state as it will hold once the batch is written, and a fan-out writes one batch
per record: copying a growing set into each would cost the square of the pass's size. So the pass appends to one
list, and each state holds the list and its length then: an immutable view of an append-only log, which the
drain thread saves as it was when the batch was made, whatever was appended since.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from egnyte_async.keysets import decode_int_set, decode_str_set, encode_int_set, encode_str_set
from egnyte_async.log import Log
from egnyte_async.state import report_unreadable

K = TypeVar("K", int, str)


@dataclass(frozen=True)
class DoneSoFar(Generic[K]):
    """The first `count` records of `log` (shared and only ever appended to) are done."""

    log: list[K] = field(default_factory=list)
    count: int = 0

    @classmethod
    def of(cls, keys: Iterable[K]) -> DoneSoFar[K]:
        log = list(keys)
        return cls(log, len(log))

    def with_done(self, key: K) -> DoneSoFar[K]:
        """This view and `key`. Appends to the shared log: only the latest view of a log may be extended."""
        assert self.count == len(self.log), "only the latest view of a pass may be extended"
        self.log.append(key)
        return DoneSoFar(self.log, self.count + 1)

    def as_set(self) -> set[K]:
        return set(self.log[: self.count])

    def __len__(self) -> int:
        return self.count


def encode_done(done: DoneSoFar[Any], kind: type[int] | type[str]) -> str:
    keys = set(done.log[: done.count])
    return encode_int_set(keys) if kind is int else encode_str_set(keys)


def decode_done(text: Any, kind: type[int] | type[str]) -> DoneSoFar[Any]:
    """Raises ValueError for a text that does not decode to keys of `kind`."""
    keys: set[Any] = decode_int_set(text) if kind is int else decode_str_set(text)
    return DoneSoFar.of(sorted(keys))


def read_done(
    raw: Mapping[str, Any], key: str, kind: type[int] | type[str], stream: str, log: Log, again: str
) -> DoneSoFar[Any]:
    """The records a saved pass has read (`raw[key]`); none, with a warning saying `again`, when unreadable."""
    try:
        return decode_done(raw.get(key), kind)
    except ValueError as error:
        report_unreadable(log, stream, repr(key), raw.get(key), again, str(error))
        return DoneSoFar()
