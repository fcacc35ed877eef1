"""What a stream has written, so that what Egnyte no longer holds can be marked deleted in the destination.

Egnyte offers no deletion feed for users, groups, memberships or bookmarks; the connector re-reads them, so it can
tell. Each such stream keeps a ledger of *scopes* and their *children*: the users; the groups and each group's
members; each user's bookmarks. The drain loop keeps it, as it writes:

- a scope read whole (a group's detail call, a user's bookmark listing, a user in the users listing) replaces
  that scope's children: a child no longer there (a removed member, a deleted bookmark) is deleted at once;
- a scope that exists but could not be read (a deactivated user, whose bookmarks Egnyte will not list) is kept
  as it is;
- when a scan completes, every scope it did not meet is gone from Egnyte: its row, if it has one (a user, a
  group), and its children are deleted.

A scan that stops early (quota, failure, kill) completes nothing, so it deletes nothing but the children of
scopes it read whole; the ledger is saved with the positions at every checkpoint, so a scan that spans several
syncs completes in the last of them. A record that exists throughout a scan is met by it (see pagination), so it
is never deleted; a record created during a scan and not met is not in the ledger, so it is not deleted either.
"""

from __future__ import annotations

import base64
import heapq
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from egnyte_async.keysets import (
    decode_int_set,
    decode_mapping,
    decode_str_set,
    encode_int_set,
    encode_mapping,
    encode_str_set,
)
from egnyte_async.log import Log
from egnyte_async.schema import Table
from egnyte_async.state import report_unreadable

Scope = int | str
Key = dict[str, Any]
Deletion = tuple[str, Key]
EMPTY: frozenset[int] = frozenset()
#: The text form of the bitmap of met scopes: zlib, then base64 (runs of met scopes compress to almost nothing).
BITMAP_PREFIX = "b1:"
#: Chunks of changed children saved before they are folded into one.
MAX_CHUNKS = 50


@dataclass(frozen=True)
class LedgerSpec:
    """How a stream's scopes and children map to destination rows.

    `parent` is the table whose rows are the scopes (users, groups), or None when a scope has no row of its own (a
    user's bookmarks: the user's row belongs to the users stream). `child` is the table of the children, and
    `child_key` the primary key of a child's row.
    """

    parent: Table | None
    child: Table | None = None
    child_key: Callable[[Scope, int], Key] | None = None
    #: What a scope is: a whole number (a user id) or a string (a group id).
    scope_kind: type[int] | type[str] = int
    #: The stream whose scopes the children are (a group's members are users): a scope gone from that stream's
    #: ledger leaves this one's scopes at once.
    children_are: str | None = None

    def parent_key(self, scope: Scope) -> Key:
        assert self.parent is not None
        return {self.parent.primary_key[0]: scope}


class Ledger:
    """One stream's ledger: the scopes the last complete scan met, those this scan has met so far, and the children.

    Kept compact, since a large tenant has a scope per user: the last scan's scopes as a sorted array (eight bytes
    a user id), a bitmap of those met since, the scopes met that the last scan did not know in an array of their
    own, and children only for the scopes that have some.
    """

    def __init__(self, spec: LedgerSpec, scopes: Iterable[Scope] = (), met: Iterable[Scope] = ()) -> None:
        self.spec = spec
        self._scopes = self._array(sorted(set(scopes)))
        self._met = bytearray((len(self._scopes) + 7) // 8)
        self._added = self._array([])
        self._children: dict[Scope, frozenset[int]] = {}
        # What to_state wrote: the scopes until a scan completes; the scopes added and the children changed as
        # chunks, each checkpoint writing only what is new since the one before (a first scan of a large tenant
        # adds a scope per user: re-encoding them all at every checkpoint would cost seconds).
        self._scopes_text: str | None = None
        self._added_chunks: list[str] = []
        self._added_saved = 0
        self._children_chunks: list[str] = []
        self._children_changed: dict[Scope, frozenset[int]] = {}
        #: The scopes the last `complete` found gone.
        self.gone: list[Scope] = []
        #: Scopes found gone by a read of their own (`forget`) since the last `complete`, already deleted.
        self._forgotten: set[Scope] = set()
        # `knows`'s index of `_added`, kept by the thread that asks (see there): the array it indexed, and how far.
        self._added_seen: set[Any] = set()
        self._added_indexed: tuple[Any, int] = (None, 0)
        for scope in met:
            self.keep(scope)

    def _array(self, scopes: Iterable[Any]) -> Any:
        return array("q", scopes) if self.spec.scope_kind is int else list(scopes)

    # ---- what the drain loop tells it ----------------------------------------------------------------------
    def refresh(self, scope: Scope, children: frozenset[int] = frozenset(), meets: bool = True) -> list[Deletion]:
        """`scope` was read whole and holds exactly `children`: the children it no longer holds are deleted. It
        counts as met by the scan under way unless `meets` is false (see items.Refreshed)."""
        if meets:
            self.keep(scope)
        before = self._children.get(scope, EMPTY)
        if children == before:
            return []
        if children:
            self._children[scope] = children
        else:
            del self._children[scope]
        self._children_changed[scope] = children
        return self._children_rows(scope, before - children)

    def keep(self, scope: Scope) -> None:
        """`scope` exists but was not read: whatever it holds stays as it is."""
        position = self._find(scope)
        if position is None:
            self._added.append(scope)
        else:
            self._met[position >> 3] |= 1 << (position & 7)

    def complete(self) -> list[Deletion]:
        """The scan is over: every scope it did not meet is gone, with its children."""
        deletions: list[Deletion] = []
        kept: list[Any] = []
        self.gone = []
        for position, scope in enumerate(self._scopes):
            if self._met[position >> 3] >> (position & 7) & 1:
                kept.append(scope)
                continue
            self.gone.append(scope)
            if self.spec.parent is not None and scope not in self._forgotten:
                deletions.append((self.spec.parent.name, self.spec.parent_key(scope)))
            children = self._children.pop(scope, EMPTY)
            deletions.extend(self._children_rows(scope, children))
        self._forgotten = set()
        self._scopes = self._array(_merged(kept, sorted(self._added)))
        self._met = bytearray((len(self._scopes) + 7) // 8)
        self._added = self._array([])
        self._scopes_text = None
        self._added_chunks, self._added_saved = [], 0
        self._children_chunks, self._children_changed = [], dict(self._children)  # one chunk of them all, anew
        return deletions

    def retain(self, present: frozenset[Scope]) -> list[Deletion]:
        """Only the scopes in `present` exist: every other is gone, with its children, as if a scan that met exactly
        those had completed. For a stream whose scopes are another stream's records (a user's bookmarks): it reads
        only some scopes each sync, but the users scan tells which exist. What was met before does not count."""
        self._met = bytearray(len(self._met))
        for position, scope in enumerate(self._scopes):
            if scope in present:
                self._met[position >> 3] |= 1 << (position & 7)
        gone_since = [scope for scope in self._added if scope not in present]  # met by an earlier read, gone now
        self._added = self._array(scope for scope in self._added if scope in present)
        self._added_saved = min(self._added_saved, len(self._added))
        deletions = self.complete()
        for scope in gone_since:
            if self.spec.parent is not None:
                deletions.append((self.spec.parent.name, self.spec.parent_key(scope)))
            deletions.extend(self._children_rows(scope, self._children.pop(scope, EMPTY)))
            self._children_changed.pop(scope, None)
        self.gone.extend(gone_since)
        return deletions

    def forget(self, scope: Scope) -> list[Deletion]:
        """`scope` is gone, as a read of its own found (a group's detail call answered 404): its row and children are
        deleted now, and the scan under way no longer counts it as met."""
        position = self._find(scope)
        if position is not None:
            self._met[position >> 3] &= ~(1 << (position & 7)) & 0xFF
            self._forgotten.add(scope)
        elif scope in self._added:
            self._added = self._array(added for added in self._added if added != scope)
            self._added_chunks, self._added_saved = [], 0  # rewritten whole at the next checkpoint
        else:
            return []
        deletions = [(self.spec.parent.name, self.spec.parent_key(scope))] if self.spec.parent is not None else []
        children = self._children.pop(scope, EMPTY)
        if children:
            self._children_changed[scope] = EMPTY
        return deletions + self._children_rows(scope, children)

    def children_of(self, scope: Scope) -> frozenset[int]:
        """The children `scope` held when last read (empty when none, or never read)."""
        return self._children.get(scope, EMPTY)

    def drop_child(self, children: set[int]) -> list[Deletion]:
        """`children` are gone from Egnyte altogether (deleted users): out of every scope that holds them, at once,
        whether or not those scopes are read again soon (a deleted user's memberships go with the user)."""
        deletions: list[Deletion] = []
        for scope, held in list(self._children.items()):
            gone = held & children
            if not gone:
                continue
            left = held - gone
            if left:
                self._children[scope] = left
            else:
                del self._children[scope]
            self._children_changed[scope] = left
            deletions.extend(self._children_rows(scope, gone))
        return deletions

    # ---- what it holds --------------------------------------------------------------------------------------
    def last_scan_count(self) -> int:
        """Scopes the last complete scan met."""
        return len(self._scopes)

    def knows(self, scope: Scope) -> bool:
        """Whether `scope` was met by the last complete scan or by this one so far (a producer asks, to spare the
        calls of a scope whose children cannot have changed; see streams/bookmarks.py).

        Asked from the event loop's thread while the drain thread writes (refresh, keep, complete). That is safe
        without a lock: `complete` replaces the arrays rather than changing them, and each is read once into a
        local, so an answer is judged on one consistent array; `keep` appends to `_added` in place, which under
        the GIL is seen whole or not at all, and the index below reads only what was appended when it looks. A
        stale answer is harmless either way: the drain runs behind the producer, so a scope met earlier in this
        scan may be answered "unknown" (its children are read once more: a call spent, nothing lost), and a scope
        is only ever answered "known" once a scan has met it, which `complete` cannot undo before the producer has
        finished its scan (the Completed mark is the last thing it sends).
        """
        scopes = self._scopes
        if type(scope) is not self.spec.scope_kind:
            raise TypeError(f"a {type(scope).__name__} scope in a ledger of {self.spec.scope_kind.__name__} scopes")
        position = bisect_left(scopes, scope)
        if position < len(scopes) and scopes[position] == scope:
            return True
        # The scopes met that the last scan did not know: a set of them, extended with what was appended since the
        # last question (amortised O(1); rebuilt when `complete` gave a new array).
        added = self._added
        indexed, count = self._added_indexed
        if indexed is not added:
            self._added_seen, count = set(), 0
        size = len(added)
        if size > count:
            self._added_seen.update(added[count:size])
        self._added_indexed = (added, size)
        return scope in self._added_seen

    def met_any(self) -> bool:
        """Whether this scan has met a scope yet."""
        return bool(self._added) or any(self._met)

    @property
    def known(self) -> dict[Scope, frozenset[int]]:
        """Every scope known with its children (a copy, for tests and reports)."""
        return {scope: self._children.get(scope, EMPTY) for scope in (*self._scopes, *self._added)}

    @property
    def met(self) -> set[Scope]:
        """The scopes this scan has met (a copy)."""
        met = {scope for position, scope in enumerate(self._scopes) if self._met[position >> 3] >> (position & 7) & 1}
        return met.union(self._added)

    def _find(self, scope: Scope) -> int | None:
        if type(scope) is not self.spec.scope_kind:
            raise TypeError(f"a {type(scope).__name__} scope in a ledger of {self.spec.scope_kind.__name__} scopes")
        position = bisect_left(self._scopes, scope)
        return position if position < len(self._scopes) and self._scopes[position] == scope else None

    def _children_rows(self, scope: Scope, children: Iterable[int]) -> list[Deletion]:
        spec = self.spec
        if spec.child is None or spec.child_key is None:
            return []
        return [(spec.child.name, spec.child_key(scope, child)) for child in sorted(children)]

    # ---- the state --------------------------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """As compact text (egnyte_async.keysets): the last complete scan's scopes, which of them this scan met (a
        bitmap), the scopes it met that were new, and the children. The scopes and the children are re-encoded only
        when they changed, so a checkpoint mid-scan costs little."""
        encode = encode_int_set if self.spec.scope_kind is int else encode_str_set
        if self._scopes_text is None:
            self._scopes_text = encode(self._scopes)
        if len(self._added) > self._added_saved:
            self._added_chunks.append(encode(set(self._added[self._added_saved :])))
            self._added_saved = len(self._added)
        if self._children_changed:
            if len(self._children_chunks) >= MAX_CHUNKS:  # fold them into one again, now and then
                self._children_chunks, self._children_changed = [], dict(self._children)
            self._children_chunks.append(encode_mapping(self._children_changed))
            self._children_changed = {}
        return {
            "scopes": self._scopes_text,
            "met": BITMAP_PREFIX + base64.b64encode(zlib.compress(bytes(self._met), 9)).decode("ascii"),
            "added": list(self._added_chunks),
            "children": list(self._children_chunks),
        }

    @classmethod
    def from_state(cls, spec: LedgerSpec, raw: Any, stream: str, log: Log) -> Ledger:
        """The saved ledger; an unreadable one is reported and started afresh (nothing is deleted until a scan has
        met every scope again: late deletions, never wrong ones)."""
        if raw is None:
            return cls(spec)
        decode = decode_int_set if spec.scope_kind is int else decode_str_set
        try:
            if not isinstance(raw, dict):
                raise ValueError(f"a {type(raw).__name__}, not an object")
            ledger = cls(spec, decode(raw.get("scopes")))
            ledger._met = _bitmap(raw.get("met"), len(ledger._met))
            added, chunks = _chunks(raw.get("added")), _chunks(raw.get("children"))
            for text in added:
                ledger._added.extend(sorted(decode(text)))
            for text in chunks:  # later chunks tell the later state of a scope
                for scope, values in decode_mapping(text).items():
                    if type(scope) is not spec.scope_kind:
                        raise ValueError("children of scopes of another kind")
                    if values:
                        ledger._children[scope] = frozenset(values)
                    else:
                        ledger._children.pop(scope, None)
            ledger._added_chunks, ledger._added_saved = added, len(ledger._added)
            ledger._children_chunks = chunks
        except (ValueError, TypeError) as error:
            again = "deletions are detected again from the next full scan"
            report_unreadable(log, stream, "'ledger'", raw, again, str(error))
            return cls(spec)
        return ledger


def _merged(first: list[Any], second: list[Any]) -> Iterator[Any]:
    """The union of two sorted lists, sorted, each value once (no set of a million user ids in between)."""
    last: Any = _NOTHING
    for value in heapq.merge(first, second):
        if value != last:
            yield value
            last = value


_NOTHING = object()


def _chunks(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(type(text) is str for text in value):
        raise ValueError("a list of chunk texts was expected")
    return list(value)


def _bitmap(text: Any, size: int) -> bytearray:
    if type(text) is not str or not text.startswith(BITMAP_PREFIX):
        raise ValueError("the met scopes are not a bitmap text")
    try:
        raw = zlib.decompressobj().decompress(base64.b64decode(text[len(BITMAP_PREFIX) :], validate=True), size + 1)
    except (ValueError, zlib.error) as error:
        raise ValueError(f"the met scopes' bitmap is unreadable ({error})") from error
    if len(raw) != size:
        raise ValueError(f"the met scopes' bitmap holds {len(raw)} bytes for {size}")
    return bytearray(raw)


def ledgers_from_state(specs: Mapping[str, LedgerSpec], raw: Any, log: Log) -> dict[str, Ledger]:
    saved = raw if isinstance(raw, dict) else {}
    if raw is not None and not isinstance(raw, dict):
        report_unreadable(log, "state", "'ledgers'", raw, "deletions are detected again from the next full scans")
    return {name: Ledger.from_state(spec, saved.get(name), name, log) for name, spec in specs.items()}
