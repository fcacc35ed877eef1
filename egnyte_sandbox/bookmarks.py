"""Bookmarks: each user's own short list, sized around a mean, with ids that embed the owner's id.

A bookmark id is `owner_offset << 16 | slot`, so ids are unique across the tenant and sorted within a user,
and the per-user lists need no storage until someone edits them.
"""

from __future__ import annotations

import random
from typing import Any

from .config import SandboxConfig
from .dates import MS_PER_DAY, DateRenderer
from .mixing import mix64, salt, spin, uuid_text
from .ordering import Entry, OrderedIndex
from .pools import DEPARTMENTS, Pools
from .spread import hashed_count, spread, spread_total
from .users import USER_ID_BASE, UserStore

SLOT_SHIFT = 16
SLOT_STRIDE = 256


class BookmarkStore:
    """Bookmarks of every user, generated per owner; only edited owners get an index of their own."""

    def __init__(
        self, config: SandboxConfig, pools: Pools, users: UserStore, anchor_ms: int, render: DateRenderer
    ) -> None:
        self.config = config
        self.pools = pools
        self.users = users
        self.anchor_day = anchor_ms // MS_PER_DAY
        self.render = render
        self.mean = config.bookmarks_per_user
        self._salt = salt(config.seed, "bookmarks")
        self._edited: dict[int, OrderedIndex] = {}
        self.total = spread_total(self.mean, users.size, self._salt)

    def base_count(self, user: Entry) -> int:
        ordinal, base = user
        if base is not None:
            return spread(self.mean, base, self._salt)
        return hashed_count(self.mean, mix64(ordinal ^ self._salt))

    def index_for(self, user: Entry) -> OrderedIndex:
        """The owner's bookmark order: the edited one if any, else a fresh view over the generated ones."""
        existing = self._edited.get(user[0])
        if existing is not None:
            return existing
        floor = (user[0] - USER_ID_BASE) << SLOT_SHIFT

        def ordinal(j: int) -> int:
            return floor + (j + 1) * SLOT_STRIDE + (mix64((floor | j) ^ self._salt) & (SLOT_STRIDE // 2 - 1))

        return OrderedIndex(self.base_count(user), ordinal, floor=floor, ceiling=floor + (1 << SLOT_SHIFT))

    def count_of(self, user: Entry) -> int:
        return len(self.index_for(user))

    def record(self, ordinal: int, owner: str, canonical: bool = False) -> dict[str, Any]:
        """A bookmark exactly as `GET /pubapi/v1/bookmarks` serves it.

        With `canonical`, as the tenant holds it instead: `creation_date` is the instant in epoch milliseconds,
        whatever `date_format` says.
        """
        h = mix64(ordinal ^ self._salt)
        pools = self.pools
        folder = pools.words[(h >> 8) % len(pools.words)]
        if h & 3 == 0:
            path = f"/Private/{owner}/{folder}"
        else:
            path = f"/Shared/{DEPARTMENTS[(h >> 2) % len(DEPARTMENTS)]}/{folder}"
            if (h >> 20) & 1:
                path += f"/{pools.words[(h >> 21) % len(pools.words)]}"
        day = self.anchor_day - (h >> 30) % (3 * 365)
        return {
            "id": ordinal,
            "path": path,
            "folder_id": uuid_text(h, spin(h)),
            "creation_date": self.render.pair_ms(day, h >> 12) if canonical else self.render.pair(day, h >> 12),
        }

    def page(self, user: Entry, owner: str, offset: int, count: int, canonical: bool = False) -> list[dict[str, Any]]:
        entries = self.index_for(user).slice(offset, offset + count)
        return [self.record(ordinal, owner, canonical) for ordinal, _ in entries]

    def add(self, user: Entry, position: int | None, rng: random.Random) -> int | None:
        """Add a bookmark for `user` at `position` (random when None); return its id."""
        index = self._edit(user)
        slot = rng.randrange(len(index) + 1) if position is None else position
        ordinal = index.insert_at(slot, rng)
        if ordinal is not None:
            self.total += 1
        return ordinal

    def remove(self, user: Entry, position: int) -> int:
        index = self._edit(user)
        ordinal, _ = index.remove_at(position)
        self.total -= 1
        return ordinal

    def _edit(self, user: Entry) -> OrderedIndex:
        index = self._edited.get(user[0])
        if index is None:
            index = self._edited[user[0]] = self.index_for(user)
        return index

    def owner_added(self, user: Entry) -> None:
        self.total += self.base_count(user)

    def owner_removed(self, user: Entry) -> None:
        self.total -= self.count_of(user)
        self._edited.pop(user[0], None)
