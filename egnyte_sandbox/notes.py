"""Notes (comments on files): ordered by creation time, which is encoded in each note's ordinal.

A note's ordinal is `creation_ms << 16 | tiebreak`, and the tiebreak is also the first four hex digits of its
id, so ordinal order is exactly "by creation time, then by id". That turns the `start_time`/`end_time` filter
into two binary searches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .config import SandboxConfig
from .dates import DateRenderer
from .mixing import GOLDEN, MASK64, mix64, salt, spin, uuid_text
from .ordering import OrderedIndex
from .pools import DEPARTMENTS, TOP_FOLDERS, Pools
from .users import UserStore

TIME_SHIFT = 16
_DAY_MS = 86_400_000
HISTORY_MS = 3 * 365 * _DAY_MS
RECENT_MS = 90 * _DAY_MS
RECENT_SHARE = 0.3
_EXTRAS = ("", "", "", "", "", "", " 👍", "\n\n— sent from mobile")
FILE_POOL = 8192
AUTHOR_POOL = 4096


class NoteStore:
    """All notes of the domain, three years of them, with a good share in the last ninety days."""

    def __init__(
        self, config: SandboxConfig, pools: Pools, users: UserStore, anchor_ms: int, render: DateRenderer
    ) -> None:
        self.config = config
        self.pools = pools
        self.users = users
        self.render = render
        self.size = config.notes
        self.anchor_ms = anchor_ms
        self.start_ms = anchor_ms - HISTORY_MS
        self._salt = salt(config.seed, "notes")
        self._file_salt = salt(config.seed, "files")
        self._recent = round(self.size * RECENT_SHARE)
        self._old = self.size - self._recent
        # Notes cluster on a bounded set of files and come from a bounded set of authors, as on a real domain;
        # both are cached as they are first used, so a page costs dictionary lookups, not generation.
        self._files = max(1, min(self.size // 3, FILE_POOL))
        self._authors = max(1, min(users.size, AUTHOR_POOL))
        self._file_cache: dict[int, tuple[str, str, int]] = {}
        self._author_cache: dict[int, tuple[str, str]] = {}
        self.index = OrderedIndex(
            self.size, self.ordinal, floor=self.start_ms << TIME_SHIFT, ceiling=anchor_ms << TIME_SHIFT
        )

    def created_ms(self, i: int) -> int:
        """Creation time of base note i: strictly increasing, with hashed jitter smaller than the spacing."""
        if i < self._old:
            span, first, rank, count = HISTORY_MS - RECENT_MS, self.start_ms, i, self._old
        else:
            span, first, rank, count = RECENT_MS, self.anchor_ms - RECENT_MS, i - self._old, self._recent
        jitter = (((i ^ self._salt) * GOLDEN) & MASK64) % max(1, span // count)
        return first + rank * span // count + jitter

    def ordinal(self, i: int) -> int:
        return (self.created_ms(i) << TIME_SHIFT) | ((((i ^ self._salt) * GOLDEN) & MASK64) >> 48)

    def file(self, file_index: int) -> tuple[str, str, int]:
        """(path, group_id, hash) of a file that notes are attached to; several notes share each file."""
        cached = self._file_cache.get(file_index)
        if cached is not None:
            return cached
        h = mix64(file_index ^ self._file_salt)
        pools = self.pools
        top = TOP_FOLDERS[h & 3]
        if top == "/Shared":
            middle = DEPARTMENTS[(h >> 2) % len(DEPARTMENTS)]
        else:
            middle = self.users.identity(self.users.ordinal((h >> 2) % self.users.size)).username
        folder = pools.words[(h >> 16) % len(pools.words)]
        name = pools.file_names[(h >> 28) % len(pools.file_names)]
        cached = self._file_cache[file_index] = (f"{top}/{middle}/{folder}/{name}", uuid_text(h, spin(h)), h)
        return cached

    def author(self, k: int) -> tuple[str, str]:
        """(username, formatted name) of author k, one of a pool spread evenly over the base users."""
        cached = self._author_cache.get(k)
        if cached is None:
            users = self.users
            identity = users.identity(users.ordinal(k * users.size // self._authors))
            cached = self._author_cache[k] = (identity.username, identity.formatted)
        return cached

    def record(self, ordinal: int) -> dict[str, Any]:
        """The note exactly as `GET /pubapi/v1/notes` serves it."""
        h = mix64(ordinal ^ self._salt)
        h2 = spin(h)
        username, formatted = self.author(h % self._authors)
        path, group_id, hf = self.file((h2 >> 20) % self._files)
        sentences = self.pools.sentences
        message = sentences[(h >> 40) % len(sentences)] + _EXTRAS[(h >> 56) & 7]
        if self.config.note_message_chars:
            message = (message + " ") * (self.config.note_message_chars // (len(message) + 1) + 1)
            message = message[: self.config.note_message_chars]
        note: dict[str, Any] = {
            "id": uuid_text(((ordinal & 0xFFFF) << 48) | (h >> 16), h2),
            "message": message,
            "username": username,
            "formatted_name": formatted,
            "creation_time": self.render.exact(ordinal >> TIME_SHIFT),
            "file_path": path,
            "group_id": group_id,
            "can_delete": (h >> 62) != 0,
        }
        if self.config.notes_file_id:
            note["file_id"] = uuid_text(spin(hf ^ ordinal), hf)
        return note

    def canonical(self, ordinal: int) -> dict[str, Any]:
        """The note as the tenant holds it: the fields of `record`, with `creation_time` the instant in epoch
        milliseconds whatever `date_format` says."""
        note = self.record(ordinal)
        note["creation_time"] = ordinal >> TIME_SHIFT
        return note

    def window(self, start_ms: int | None, end_ms: int | None, inclusive: bool) -> tuple[int, int]:
        """Positions [lo, hi) of the notes created within the bounds, in ascending order."""
        lo = 0
        hi = len(self.index)
        if start_ms is not None:
            lo = self.index.rank((start_ms if inclusive else start_ms + 1) << TIME_SHIFT)
        if end_ms is not None:
            hi = self.index.rank((end_ms + 1 if inclusive else end_ms) << TIME_SHIFT)
        return lo, max(lo, hi)

    def page(self, lo: int, hi: int, offset: int, count: int, descending: bool) -> list[dict[str, Any]]:
        """`count` notes from `offset` within the window [lo, hi), in the configured direction."""
        if descending:
            stop = hi - offset
            entries = self.index.slice(max(lo, stop - count), stop)
            entries.reverse()
        else:
            start = lo + offset
            entries = self.index.slice(start, min(hi, start + count))
        record = self.record
        return [record(ordinal) for ordinal, _ in entries]

    def iter_records(self) -> Iterator[dict[str, Any]]:
        for ordinal, _ in self.index:
            yield self.record(ordinal)
